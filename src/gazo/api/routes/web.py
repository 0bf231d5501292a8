"""The playground: `/` serves `index.html`, `/static/<path>` the other files of the `gazo.web` folder.

The files are read through `importlib.resources`, so they are found wherever the package is installed
(a source checkout, a wheel, a zip). They are plain static files that call gazo's public API.
"""

from __future__ import annotations

import mimetypes
import re
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter
from fastapi.responses import Response

from gazo.errors import NotFound

router = APIRouter(include_in_schema=False)

#: Relative paths made of plain segments only: no `..`, no hidden files, no backslashes.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
#: The playground runs only its own files: no inline script, no framing (clickjacking), no other
#: origin to talk to; `data:`/`blob:` images are the results it shows and downloads.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": "no-cache",  # revalidate: a new gazo version never serves yesterday's script
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _web_folder() -> Traversable:
    return resources.files("gazo").joinpath("web")


def _serve(relative: str) -> Response:
    if not _SAFE_PATH.match(relative):
        raise NotFound(f"No playground file {relative!r}.")
    entry = _web_folder().joinpath(*relative.split("/"))
    if not entry.is_file():
        raise NotFound(f"No playground file {relative!r}.")
    suffix = "." + relative.rsplit(".", 1)[-1] if "." in relative else ""
    media_type = _TYPES.get(suffix) or mimetypes.guess_type(relative)[0] or "application/octet-stream"
    return Response(entry.read_bytes(), media_type=media_type, headers=_HEADERS)


@router.get("/")
async def playground() -> Response:
    return _serve("index.html")


@router.get("/static/{relative:path}")
async def playground_file(relative: str) -> Response:
    return _serve(relative)
