"""Reading multipart uploads with byte caps that hold while the body streams.

Starlette's parser bounds text fields but spools every file part to a temporary file whatever its
size, and a cap checked after parsing comes after the disk was written. Here each file part is
counted as it arrives and refused by name (413) the moment it passes its field's limit, so one
oversized `image` costs at most that limit in /tmp, chunked or not.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from gazo.errors import InvalidRequest, PayloadTooLarge
from gazo.jobs import Upload


async def read_form(
    request: Request, file_limits: Mapping[str, int], *, max_files: int, max_fields: int
) -> FormData:
    """The request's form; a file field not in `file_limits` is refused as soon as it starts."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return await request.form(max_files=max_files, max_fields=max_fields)
    parser = _LimitedMultiPartParser(
        request.headers, request.stream(), file_limits=file_limits, max_files=max_files, max_fields=max_fields
    )
    try:
        return await parser.parse()
    except MultiPartException as error:
        raise HTTPException(status_code=400, detail=error.message) from None


class _LimitedMultiPartParser(MultiPartParser):
    def __init__(self, *args: object, file_limits: Mapping[str, int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._file_limits = file_limits
        self._file_bytes = 0

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        self._file_bytes = 0
        name = self._current_part.field_name
        if self._current_part.file is not None and name not in self._file_limits:
            raise InvalidRequest(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is not None:
            self._file_bytes += end - start
            name = self._current_part.field_name
            limit = self._file_limits[name]
            if self._file_bytes > limit:
                shown = name.removesuffix("[]")
                raise PayloadTooLarge(f"`{shown}` is larger than {limit} bytes.", param=shown)
        super().on_part_data(data, start, end)


async def read_upload(item: UploadFile, param: str, limit: int) -> Upload:
    data = await item.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"`{param}` {item.filename!r} is larger than {limit} bytes.", param=param)
    return Upload(data=data, filename=item.filename, content_type=item.content_type)
