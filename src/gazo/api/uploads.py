"""Reading multipart uploads with a byte cap, so one oversized file is refused by name."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from gazo.errors import PayloadTooLarge
from gazo.jobs import Upload


async def read_upload(item: UploadFile, param: str, limit: int) -> Upload:
    data = await item.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"`{param}` {item.filename!r} is larger than {limit} bytes.", param=param)
    return Upload(data=data, filename=item.filename, content_type=item.content_type)
