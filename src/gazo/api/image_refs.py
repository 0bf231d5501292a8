"""Images named inside a JSON body (the Responses API, the JSON form of edits, batch lines): a data URL,
the URL of an image gazo returned, or the id of a file or an image gazo keeps.

gazo never fetches a URL from the web: a server that did could be pointed at the operator's own
network. Ids are resolved for one caller: an image generation call (`ig_`) only for the key that made
it, a file (`file-`) only for its owners, an image URL's image (`img_`) for whoever holds its id.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from gazo.billing.values import Caller
from gazo.errors import InvalidRequest, NotFound, PayloadTooLarge
from gazo.jobs import Upload
from gazo.service import ImageService
from gazo.service.image_urls import IMAGE_ID_PREFIX, IMAGE_KIND

#: An `image_generation_call`'s id, under which the Responses API keeps its image.
IMAGE_CALL_PREFIX = "ig_"
IMAGE_CALL_KIND = "image_call"
FILE_PREFIX = "file-"
_DATA_URL = re.compile(r"data:(?P<mime>image/[a-z0-9.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.IGNORECASE)
_GAZO_IMAGE_PATH = re.compile(r"/images/(?P<id>img_[A-Za-z0-9_-]{20,100})\.(png|jpeg|jpg|webp)$")


@dataclass(frozen=True)
class ImageSource:
    """An input image: its bytes (a data URL, or a result sent back), or the id of one gazo keeps."""

    param: str
    data: bytes | None = None
    kept_id: str | None = None
    media_type: str | None = None


def image_source(part: dict[str, Any], param: str, max_image_bytes: int) -> ImageSource:
    """`{"image_url": ...}` or `{"file_id": ...}`: a data URL, a gazo image URL, or an id."""
    url, file_id = part.get("image_url"), part.get("file_id")
    if isinstance(file_id, str) and file_id:
        if not file_id.startswith((IMAGE_CALL_PREFIX, IMAGE_ID_PREFIX, FILE_PREFIX)):
            raise InvalidRequest(
                f"`{param}.file_id` must name a file (`file-...`) or an image gazo keeps (`ig_...`, "
                "`img_...`).",
                param=f"{param}.file_id",
            )
        return ImageSource(param=param, kept_id=file_id)
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"`{param}` needs an `image_url` or a `file_id`.", param=param)
    found = _DATA_URL.match(url)
    if found:
        data = decode_base64(url[found.end() :], param, max_image_bytes)
        return ImageSource(param=param, data=data, media_type=found.group("mime"))
    gazo_image = _GAZO_IMAGE_PATH.search(url.split("?", 1)[0])
    if gazo_image:
        return ImageSource(param=param, kept_id=gazo_image.group("id"))
    raise InvalidRequest(
        f"`{param}.image_url` must be a data URL (`data:image/png;base64,...`) or an image URL gazo gave; "
        "gazo does not fetch images from the web.",
        param=f"{param}.image_url",
    )


def decode_base64(text: str, param: str, limit: int) -> bytes:
    if len(text) > (limit + 2) // 3 * 4 + 4:
        raise PayloadTooLarge(f"The image of `{param}` is larger than {limit} bytes.", param=param)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"The image of `{param}` is not valid base64.", param=param) from None


class ImageResolver:
    """Turns sources into uploads for one caller (blocking: call it off the event loop)."""

    def __init__(self, service: ImageService, caller: Caller, *, max_bytes: int) -> None:
        self.service, self.caller, self.max_bytes = service, caller, max_bytes

    def upload(self, source: ImageSource) -> Upload:
        if source.data is not None:
            return Upload(data=source.data, filename="input", content_type=source.media_type)
        kept_id = source.kept_id or ""
        if kept_id.startswith(FILE_PREFIX):
            try:
                info, data = self.service.files.read(self.caller, kept_id, limit=self.max_bytes)
            except NotFound:
                raise _unknown(source) from None
            return Upload(data=data, filename=info.filename)
        keeper = self.service.keeper
        if kept_id.startswith(IMAGE_CALL_PREFIX):
            item = keeper.open(kind=IMAGE_CALL_KIND, secret_id=kept_id, owner=self.caller.key_id)
        else:  # an image URL's image: whoever holds its id may fetch it, so may use it
            item = keeper.open(kind=IMAGE_KIND, secret_id=kept_id, any_owner=True)
        if item is None:
            raise _unknown(source)
        return Upload(data=item.data, filename=kept_id, content_type=item.meta.get("media_type"))


def _unknown(source: ImageSource) -> InvalidRequest:
    return InvalidRequest(
        f"The image `{(source.kept_id or '')[:40]}` of `{source.param}` is unknown or no longer kept.",
        param=source.param,
        code="image_not_found",
    )
