"""`gazo pull URL`: one file over plain HTTP(S) into the data dir, with a progress bar.

The bytes go to a hidden `.part` file beside the target and are renamed onto it only once all of them
arrived (as many as `Content-Length` promised) and, with `--sha256`, once they match; an error, a short
read or Ctrl-C deletes the part, so the target is either the whole file or untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from gazo.cli.errors import fail

_CHUNK = 1 << 20
_COLUMNS = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sha256: str


def download_url(url: str, folder: Path, *, sha256: str | None = None) -> Downloaded:
    """Stream `url` into `folder` (named as the server or the URL's path names it)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=httpx.Timeout(30.0)) as response:
            if response.status_code != 200:
                fail(f"{url} answered HTTP {response.status_code}; nothing was written")
            target = folder / _filename(url, response)
            return _receive(response, target, sha256)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        fail(
            f"could not download {url}: {error or type(error).__name__}; nothing was written",
            "`gazo pull URL` needs the network: check the URL, or download the file elsewhere and "
            "give its path as the model's or adapter's `source`.",
        )
    except httpx.HTTPError as error:
        fail(
            f"the download of {url} broke off: {error or type(error).__name__}; nothing was written",
            "run it again.",
        )


def _receive(response: httpx.Response, target: Path, sha256: str | None) -> Downloaded:
    expected = int(response.headers.get("content-length", 0)) or None
    digest, received = hashlib.sha256(), 0
    handle, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, Progress(*_COLUMNS, console=Console(stderr=True)) as bar:
            task = bar.add_task(target.name, total=expected)  # on stderr: stdout has the config lines
            for chunk in response.iter_bytes(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(task, completed=response.num_bytes_downloaded)  # as sent, maybe compressed
        if expected is not None and response.num_bytes_downloaded != expected:
            sent = response.num_bytes_downloaded
            fail(f"the download ended after {sent} of {expected} bytes; nothing was written")
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            fail(
                f"{target.name} has sha256 {digest.hexdigest()}, not {sha256.lower()}; nothing was written",
                "check the checksum you were given, or the URL.",
            )
        os.chmod(part, 0o644)  # mkstemp makes it private; the model file is not a secret
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return Downloaded(target, received, digest.hexdigest())


def _filename(url: str, response: httpx.Response) -> str:
    """The name the server gives (`Content-Disposition`), else the last part of the final URL's path."""
    given = _FILENAME.search(response.headers.get("content-disposition", ""))
    name = unquote(given.group(1)) if given else unquote(urlsplit(str(response.url)).path.rsplit("/", 1)[-1])
    name = Path(name.strip()).name  # never a path: a server cannot write outside the folder
    if not name or name.startswith("."):
        fail(f"cannot tell a file name from {url}", "give a URL whose path ends with the file's name.")
    return name
