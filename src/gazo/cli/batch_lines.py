"""The Batch API's files, without a server: a CSV of prompts turned into input lines, a JSONL file's
lines checked before upload (so a typo fails here, naming its line, not hours later on the server),
and the file names results are written under.

The playground's Batches view (web/batches.js) converts a CSV the same way: same columns, same
default `custom_id`, same errors, so a CSV gives the same lines from either.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"
ENDPOINTS = (GENERATIONS, EDITS)

#: Columns a row may set; an empty cell falls back to the command's option (then the server's default).
FIELD_COLUMNS = ("model", "size", "quality", "n", "background", "output_format")
COLUMNS = ("custom_id", "prompt", *FIELD_COLUMNS)
_SLUG_CHARS = 40
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class LinesError(ValueError):
    """A CSV or JSONL input that cannot become a batch; the message names the row or line."""


def default_custom_id(row: int, prompt: str) -> str:
    """`0007-a-lighthouse-at-dawn`: the data row (1 is the first under the header) keeps ids unique
    and in the CSV's order; the prompt's slug makes the files findable. Appending rows changes none."""
    slug = slugify(prompt)
    return f"{row:04d}-{slug}" if slug else f"{row:04d}"


def slugify(text: str) -> str:
    """ASCII letters and digits, dashes between; accents dropped (é → e), at most 40 characters."""
    letters = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.category(c).startswith("M")
    )
    slug = re.sub(r"[^a-z0-9]+", "-", letters.lower()).strip("-")
    return slug[:_SLUG_CHARS].rstrip("-")


def lines_from_csv(text: str, defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One `/v1/images/generations` line per row of `text` (a CSV with a header and a `prompt` column);
    `defaults` are the fields a row leaves empty (None: not sent)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [(name or "").strip().lower() for name in reader.fieldnames or ()]
    _check_header(header)
    reader.fieldnames = header
    base = {key: value for key, value in (defaults or {}).items() if value is not None}
    lines: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=1):
        cells = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(cells.values()):
            continue  # a blank line, e.g. at the end
        where = f"row {row_number} (line {reader.line_num})"
        prompt = cells.get("prompt", "")
        if not prompt:
            raise LinesError(f"{where} has no prompt: every row needs one")
        custom_id = cells.get("custom_id") or default_custom_id(row_number, prompt)
        if custom_id in seen:
            raise LinesError(f"{where} repeats the custom_id {custom_id!r} of row {seen[custom_id]}")
        seen[custom_id] = row_number
        body: dict[str, Any] = {"prompt": prompt, **base}
        for column in FIELD_COLUMNS:
            if cells.get(column):
                body[column] = _cell(column, cells[column], where)
        lines.append({"custom_id": custom_id, "method": "POST", "url": GENERATIONS, "body": body})
    if not lines:
        raise LinesError("the CSV has a header but no rows: add one prompt per row")
    return lines


def _check_header(header: list[str]) -> None:
    if "prompt" not in header:
        found = ", ".join(name for name in header if name) or "none"
        raise LinesError(f"the CSV needs a header row with a `prompt` column (columns found: {found})")
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise LinesError(f"unknown column(s) {', '.join(unknown)}: the columns read are {', '.join(COLUMNS)}")


def _cell(column: str, value: str, where: str) -> str | int:
    if column != "n":
        return value
    if not value.isdigit() or not 1 <= int(value) <= 10:
        raise LinesError(f"{where}: n must be a whole number from 1 to 10, not {value!r}")
    return int(value)


def dump_lines(lines: Iterable[Mapping[str, Any]]) -> str:
    """JSONL: one compact JSON object a line, non-ASCII kept as is."""
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def endpoint_of(text: str, endpoint: str = "auto") -> str:
    """The one endpoint every line of the JSONL `text` posts to (`endpoint`, or the lines' `url` when
    it is "auto"), after checking each line is a request object with a unique `custom_id`."""
    urls: set[str] = set()
    seen: dict[str, int] = {}
    count = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as error:
            raise LinesError(f"line {number} is not JSON ({error.msg})") from None
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
            raise LinesError(f"line {number} is not a request: it needs custom_id, method, url and body")
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise LinesError(f"line {number} has no custom_id")
        if custom_id in seen:
            raise LinesError(f"line {number} repeats the custom_id {custom_id!r} of line {seen[custom_id]}")
        seen[custom_id] = number
        url = line.get("url")
        if url not in ENDPOINTS:
            raise LinesError(
                f"line {number} posts to {url!r}: a batch of images posts to {' or '.join(ENDPOINTS)}"
            )
        if endpoint != "auto" and url != endpoint:
            raise LinesError(f"line {number} posts to {url}, not to --endpoint {endpoint}")
        urls.add(url)
        count += 1
    if not count:
        raise LinesError("the file has no lines: one JSON request a line")
    if len(urls) > 1:
        raise LinesError(f"the lines post to both {' and '.join(sorted(urls))}: a batch has one endpoint")
    return urls.pop()


def file_stems(custom_id: str, count: int, taken: set[str]) -> tuple[list[str], bool]:
    """File name stems for the `count` images of `custom_id` (`id`, or `id-1`, `id-2`, ...) in a folder
    where `taken` are used (they are added), and whether the id itself could not be used.

    A custom_id is anyone's text: `../../.bashrc` or `C:\\x` must not choose where a file lands. An id
    that is not a plain name (letters, digits, `.`, `_`, `-`; 100 at most; no leading dot), or whose
    names are taken (`a` with two images beside `a-1`), becomes its plain characters and a short hash."""
    renamed = not _SAFE_NAME.match(custom_id)
    stems = _numbered(custom_id, count)
    if renamed or any(stem.lower() in taken for stem in stems):
        plain = re.sub(r"[^A-Za-z0-9._-]+", "-", custom_id).strip(".-_")[:80]
        digest = hashlib.sha256(custom_id.encode()).hexdigest()[:8]
        stems = _numbered(f"{plain}-{digest}" if plain else digest, count)
        renamed = True
    taken.update(stem.lower() for stem in stems)  # lowercase: macOS and Windows do not tell `A` from `a`
    return stems, renamed


def _numbered(stem: str, count: int) -> list[str]:
    return [stem] if count == 1 else [f"{stem}-{index}" for index in range(1, count + 1)]
