"""`GET /images/{id}.{ext}`: the images of `url` responses, fetched without a key (as OpenAI's URLs are).

The unguessable id is the credential; an image is served until it expires (`compat.image_url_ttl_s`),
then answered 404 like an id that never existed.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from gazo.api.deps import ServiceDep, SettingsDep
from gazo.errors import NotFound

router = APIRouter()

IMAGE_PATH = "/images/{secret_id}.{extension}"
_IMAGE_TYPES = {
    f"image/{kind}": {"schema": {"type": "string", "format": "binary"}} for kind in ("png", "jpeg", "webp")
}


@router.get(
    IMAGE_PATH,
    response_class=Response,
    responses={200: {"content": _IMAGE_TYPES}, 404: {"description": "No such image, or it expired."}},
)
async def get_image_file(
    secret_id: str, extension: str, service: ServiceDep, settings: SettingsDep
) -> Response:
    """An image a `response_format: url` request made, while it lives (`HEAD` answers its headers)."""
    image = await asyncio.to_thread(service.kept_image, secret_id, extension)
    if image is None:
        hours = settings.compat.image_url_ttl_s / 3600
        raise NotFound(
            f"No image at this URL: it expired (images are kept for {hours:g} h) or never existed."
        )
    headers = {
        "cache-control": f"private, max-age={image.seconds_left()}",
        "x-content-type-options": "nosniff",
    }
    return Response(image.data, media_type=image.media_type, headers=headers)


router.add_api_route(IMAGE_PATH, get_image_file, methods=["HEAD"], include_in_schema=False)
