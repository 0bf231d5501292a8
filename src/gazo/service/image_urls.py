"""Images behind `url` responses: kept sealed under an unguessable id, served without a key until expiry.

The id is the only way to an image (as OpenAI's signed URLs), so `GET /images/{id}.{ext}` needs no key;
an id that cannot be one of ours is refused before the database is asked, and an unknown one costs a
single digest lookup (`Keeper.open` derives no key for a row it does not find).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gazo.jobs import OutputFormat
from gazo.service.keeping import Keeper, new_secret_id

IMAGE_KIND = "image"
IMAGE_ID_PREFIX = "img_"
#: `new_secret_id("img_")`: the prefix and 32 random bytes in unpadded base64url.
_IMAGE_ID = re.compile(r"img_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class KeptImage:
    """An image to serve: its signed bytes, how to label them, and when they stop being served."""

    data: bytes
    media_type: str
    extension: str
    expires_at: datetime

    def seconds_left(self) -> int:
        expires_at = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=UTC)
        return max(0, int((expires_at - datetime.now(UTC)).total_seconds()))


def keep_images(
    keeper: Keeper, images: list[bytes], *, output_format: OutputFormat, model: str, ttl: timedelta
) -> list[str]:
    """Keep each image under a new secret id until `ttl` from now; the ids, in order (blocking)."""
    meta = {"media_type": f"image/{output_format}", "extension": output_format, "model": model}
    ids = []
    for data in images:
        secret_id = new_secret_id(IMAGE_ID_PREFIX)
        keeper.keep(kind=IMAGE_KIND, secret_id=secret_id, owner=None, meta=meta, data=data, ttl=ttl)
        ids.append(secret_id)
    return ids


def open_image(keeper: Keeper, secret_id: str, extension: str) -> KeptImage | None:
    """The live image `secret_id` names, if it was kept with that file extension; else None (blocking)."""
    if not _IMAGE_ID.fullmatch(secret_id):
        return None
    item = keeper.open(kind=IMAGE_KIND, secret_id=secret_id, any_owner=True)
    if item is None or item.meta.get("extension") != extension:
        return None
    return KeptImage(
        data=item.data, media_type=item.meta["media_type"], extension=extension, expires_at=item.expires_at
    )
