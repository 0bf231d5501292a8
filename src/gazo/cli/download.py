"""`gazo pull URL`: one file over plain HTTP(S) into the data dir, with a progress bar.

The bytes go to a hidden part file beside the target and are renamed onto it only once all of them
arrived (as many as `Content-Length` promised) and, with `--sha256`, once they match, so the target is
either the whole file or untouched. A pull that breaks off (the network, Ctrl-C, even a kill -9) keeps
its part, and the next pull of the same URL resumes it with a `Range` request, as `wget -c` and
`hf_hub_download` do: a multi-gigabyte checkpoint is not fetched again from the start. The resume is
conditional (`If-Range` on the validator the first response gave, a strong `ETag` or else
`Last-Modified`): a file changed on the server is fetched whole again. A mismatched checksum deletes the
part. One pull of a URL runs at a time in a folder (a lock beside the part).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn
from urllib.parse import unquote, urlsplit

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from gazo.cli.errors import fail

_CHUNK = 1 << 20
_COLUMNS = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.IGNORECASE)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class _Part:
    """The hidden files of one URL's pull in a folder: its bytes so far, what they are (the URL's
    SHA-256, never the URL, which may carry a token, and the validator that lets them be resumed) and
    the lock that keeps a second pull of it out."""

    data: Path
    about: Path
    lock: Path

    @classmethod
    def of(cls, url: str, folder: Path) -> _Part:
        key = _sha256(url)[:16]
        return cls(*(folder / f".gazo-pull-{key}.{kind}" for kind in ("part", "json", "lock")))

    def resumable(self, url: str) -> tuple[int, str] | None:
        """(bytes kept, validator) of an earlier pull of `url` that broke off, if it can go on."""
        try:
            about = json.loads(self.about.read_text())
            kept = self.data.stat().st_size
        except (OSError, ValueError):
            return None
        mine = isinstance(about, dict) and about.get("url_sha256") == _sha256(url)
        if not mine or not about.get("validator") or not kept:
            return None
        return kept, str(about["validator"])

    def start(self, url: str, validator: str | None) -> IO[bytes]:
        self.about.write_text(json.dumps({"url_sha256": _sha256(url), "validator": validator}))
        return self.data.open("wb")

    def discard(self) -> None:
        for path in (self.data, self.about):
            path.unlink(missing_ok=True)


def download_url(url: str, folder: Path, *, sha256: str | None = None) -> Downloaded:
    """Stream `url` into `folder` (named as the server or the URL's path names it), resuming a pull of
    it that broke off."""
    folder.mkdir(parents=True, exist_ok=True)
    part = _Part.of(url, folder)
    with _only_pull(part, url):
        kept = part.resumable(url)
        # identity: the bytes on disk are the file's own, so a range of them is a range of the file
        headers = {"Accept-Encoding": "identity"}
        if kept:
            headers |= {"Range": f"bytes={kept[0]}-", "If-Range": kept[1]}
        try:
            with httpx.stream(
                "GET", url, headers=headers, follow_redirects=True, timeout=httpx.Timeout(30.0)
            ) as response:
                offset = _offset(response, part, kept[0] if kept else 0, url)
                target = folder / _filename(url, response)
                return _receive(response, url, target, part, offset, sha256)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            fail(
                f"could not download {url}: {error or type(error).__name__}; nothing was written",
                "`gazo pull URL` needs the network: check the URL, or download the file elsewhere and "
                "give its path as the model's or adapter's `source`.",
            )
        except httpx.HTTPError as error:
            _broke_off(url, part, f"broke off: {error or type(error).__name__}")


@contextmanager
def _only_pull(part: _Part, url: str) -> Iterator[None]:
    with part.lock.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fail(f"another `gazo pull` of {url} is running in {part.lock.parent}", "let it finish.")
        try:
            yield
        finally:
            if not part.data.exists():  # done, or failed for good: nothing is left to resume
                part.lock.unlink(missing_ok=True)


def _offset(response: httpx.Response, part: _Part, kept: int, url: str) -> int:
    """Where the body starts in the file: `kept` when the server resumed there, 0 when it sent it all."""
    if response.status_code == 200:
        return 0
    if response.status_code == 206 and kept:
        given = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        if given and int(given.group(1)) == kept:
            return kept
    if kept:  # a range it cannot send (416: the kept part is not a beginning of its file)
        part.discard()
        fail(
            f"{url} answered HTTP {response.status_code} to a resume; the kept part is dropped",
            "run it again.",
        )
    fail(f"{url} answered HTTP {response.status_code}; nothing was written")


def _receive(
    response: httpx.Response, url: str, target: Path, part: _Part, offset: int, sha256: str | None
) -> Downloaded:
    length = int(response.headers.get("content-length", 0)) or None
    expected = offset + length if length is not None else None
    digest = hashlib.sha256()
    if offset:
        with part.data.open("rb") as kept:
            while chunk := kept.read(_CHUNK):
                digest.update(chunk)
        out: IO[bytes] = part.data.open("ab")
    else:
        out = part.start(url, _validator(response))
    received = offset
    try:
        with out, Progress(*_COLUMNS, console=Console(stderr=True)) as bar:
            task = bar.add_task(target.name, total=expected, completed=offset)  # stderr: stdout is config
            for chunk in response.iter_bytes():  # as they arrive: a break keeps all that came
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(task, completed=offset + response.num_bytes_downloaded)  # as sent
    except KeyboardInterrupt:
        _broke_off(url, part, "was interrupted")
    if length is not None and response.num_bytes_downloaded != length:
        _broke_off(url, part, f"ended after {received} of {expected} bytes")
    if sha256 is not None and digest.hexdigest() != sha256.lower():
        part.discard()
        fail(
            f"{target.name} has sha256 {digest.hexdigest()}, not {sha256.lower()}; nothing was written",
            "check the checksum you were given, or the URL.",
        )
    os.replace(part.data, target)
    part.about.unlink(missing_ok=True)
    return Downloaded(target, received, digest.hexdigest())


def _broke_off(url: str, part: _Part, how: str) -> NoReturn:
    kept = part.data.stat().st_size if part.data.exists() else 0
    if part.resumable(url) is None:  # no validator: a resume could not tell a changed file
        part.discard()
        fail(f"the download of {url} {how}; nothing was written", "run it again.")
    fail(
        f"the download of {url} {how}; {kept} bytes are kept",
        "run the same `gazo pull` again to resume it.",
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _validator(response: httpx.Response) -> str | None:
    """What `If-Range` may carry: a strong ETag, else Last-Modified (RFC 9110 13.1.5), else None."""
    etag = response.headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("last-modified")


def _filename(url: str, response: httpx.Response) -> str:
    """The name the server gives (`Content-Disposition`), else the last part of the final URL's path."""
    given = _FILENAME.search(response.headers.get("content-disposition", ""))
    name = unquote(given.group(1)) if given else unquote(urlsplit(str(response.url)).path.rsplit("/", 1)[-1])
    name = Path(name.strip()).name  # never a path: a server cannot write outside the folder
    if not name or name.startswith("."):
        fail(f"cannot tell a file name from {url}", "give a URL whose path ends with the file's name.")
    return name
