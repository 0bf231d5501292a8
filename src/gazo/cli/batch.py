"""`gazo batch`: OpenAI's Batch API for images on a running gazo, from a CSV of prompts to a folder of
images: `lines` writes the requests, `submit` uploads them and starts the batch, `results` saves them.

Like `--server` mode it goes through the official `openai` SDK (`client.files`, `client.batches`), so
it works against any server that speaks the Batch API; the files' formats are in `batch_lines`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gazo.cli.batch_lines import ENDPOINTS, LinesError, dump_lines, endpoint_of, file_stems, lines_from_csv
from gazo.cli.errors import fail
from gazo.cli.server_client import FINAL, BatchClient, counts
from gazo.cli.tables import print_table

if TYPE_CHECKING:
    from openai.types import Batch

F = TypeVar("F", bound=Callable[..., Any])
_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8", "jpg"), (b"RIFF", "webp"))

_SERVER_OPTIONS = (
    click.option(
        "--server",
        envvar="GAZO_SERVER",
        metavar="URL",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="The running `gazo serve` that runs the batch (or $GAZO_SERVER).",
    ),
    click.option(
        "--api-key", envvar="GAZO_API_KEY", help="The API key (`gazo keys create`; or $GAZO_API_KEY)."
    ),
)
_LINE_OPTIONS = (
    click.option("--model", default=None, help="Model for rows without a `model` cell."),
    click.option("--size", default=None, help="auto or WIDTHxHEIGHT, for rows without a `size` cell."),
    click.option(
        "--quality", default=None, help="auto, low, medium, high, for rows without a `quality` cell."
    ),
    click.option(
        "-n", "n", type=click.IntRange(1, 10), default=None, help="Images per row without an `n` cell."
    ),
    click.option("--background", default=None, help="auto, opaque, transparent, for rows without one."),
    click.option("--output-format", default=None, help="png, jpeg, webp, for rows without one."),
)
_WATCH = click.option("--watch", is_flag=True, help="Show a progress bar until the batch is done.")


def _with(options: tuple[Callable[[F], F], ...]) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@click.group()
def batch() -> None:
    """Many image requests as one batch on a gazo server (OpenAI's Batch API).

    \b
    gazo batch lines prompts.csv > lines.jsonl
    gazo batch submit lines.jsonl --watch
    gazo batch results BATCH_ID -o images/
    """


@batch.command()
@click.argument("csv_file", type=click.File(encoding="utf-8"))
@_with(_LINE_OPTIONS)
def lines(csv_file: Any, **defaults: Any) -> None:
    """Write a JSONL line per row of CSV_FILE (columns: prompt, and optionally custom_id, model, size,
    quality, n, background, output_format); options fill the cells a row leaves empty."""
    click.echo(dump_lines(_lines_of(csv_file.read(), csv_file.name, defaults)), nl=False)


@batch.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--endpoint",
    type=click.Choice(["auto", *ENDPOINTS]),
    default="auto",
    show_default=True,
    help="Where every line posts; auto: the lines' `url`.",
)
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="Label the batch (repeatable).")
@_WATCH
@_with(_LINE_OPTIONS)
@_with(_SERVER_OPTIONS)
def submit(
    file: Path,
    endpoint: str,
    metadata: tuple[str, ...],
    watch: bool,
    server: str,
    api_key: str | None,
    **defaults: Any,
) -> None:
    """Upload FILE (JSONL request lines, or a .csv of prompts) and start a batch; prints its id."""
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() == ".csv":
        text = dump_lines(_lines_of(text, str(file), defaults))
    elif any(value is not None for value in defaults.values()):
        given = next(name for name, value in defaults.items() if value is not None).replace("_", "-")
        fail(f"--{given} fills the cells of a CSV; {file.name} already holds whole requests", "leave it out.")
    try:
        endpoint = endpoint_of(text, endpoint)
    except LinesError as error:
        fail(
            f"{file}: {error}", "fix the line; `gazo batch lines prompts.csv` writes valid lines from a CSV."
        )
    labels = dict(item.partition("=")[::2] for item in metadata)
    with BatchClient(server, api_key) as api:
        with api.answers():
            upload = api.client.files.create(
                file=(f"{file.stem}.jsonl", text.encode()), purpose="batch", **api.auth
            )
            created = api.client.batches.create(
                input_file_id=upload.id,
                endpoint=endpoint,  # type: ignore[arg-type]  # one of ENDPOINTS, checked above
                completion_window="24h",
                metadata={"source": file.name, **labels},
                **api.auth,
            )
        click.echo(created.id)
        if watch:
            _finish(api.watch(created))
        else:
            _err(
                f"next: `gazo batch status {created.id}`, or `gazo batch results {created.id} -o DIR --watch`"
            )


@batch.command("list")
@click.option(
    "--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="How many, newest first."
)
@_with(_SERVER_OPTIONS)
def list_batches(limit: int, server: str, api_key: str | None) -> None:
    """The batches of this key, newest first."""
    with BatchClient(server, api_key) as api, api.answers():
        found = api.client.batches.list(limit=limit, **api.auth).data
    rows = [(b.id, b.status, *counts(b), b.endpoint, _time(b.created_at)) for b in found]
    print_table(
        ("id", "status", "completed", "failed", "total", "endpoint", "created"), rows, empty="no batches yet"
    )


@batch.command()
@click.argument("batch_id")
@_with(_SERVER_OPTIONS)
def status(batch_id: str, server: str, api_key: str | None) -> None:
    """Where batch BATCH_ID stands: status, request counts, times and files."""
    with BatchClient(server, api_key) as api:
        _show(api.retrieve(batch_id))


@batch.command()
@click.argument("batch_id")
@_with(_SERVER_OPTIONS)
def cancel(batch_id: str, server: str, api_key: str | None) -> None:
    """Stop batch BATCH_ID: requests not started are dropped; results so far are kept."""
    with BatchClient(server, api_key) as api:
        with api.answers("`gazo batch list` shows the batches of this key."):
            cancelled = api.client.batches.cancel(batch_id, **api.auth)
        click.echo(f"{cancelled.id}: {cancelled.status}")


@batch.command()
@click.argument("batch_id")
@click.option(
    "-o",
    "--output",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for CUSTOM_ID.EXT images (CUSTOM_ID-1.EXT, ... for several) and errors.jsonl.",
)
@_WATCH
@_with(_SERVER_OPTIONS)
def results(batch_id: str, folder: Path, watch: bool, server: str, api_key: str | None) -> None:
    """Save the images of batch BATCH_ID in a folder, and its failed requests in errors.jsonl."""
    with BatchClient(server, api_key) as api:
        found = api.retrieve(batch_id)
        if found.status not in FINAL:
            if not watch:
                done, failed, total = counts(found)
                fail(
                    f"batch {batch_id} is {found.status} ({done + failed} of {total} requests done)",
                    f"wait for it: `gazo batch results {batch_id} -o {folder} --watch`.",
                )
            found = api.watch(found)
        if not found.output_file_id and not found.error_file_id:
            fail(_summary(found) + " and has no results", f"`gazo batch status {batch_id}` says why.")
        folder.mkdir(parents=True, exist_ok=True)
        output = api.content(found.output_file_id)
        errors = api.content(found.error_file_id).splitlines()
    written = _write_images(output, folder, errors)
    if errors:
        (folder / "errors.jsonl").write_text("".join(line + "\n" for line in errors), encoding="utf-8")
    where = f"; the failed requests are in {folder / 'errors.jsonl'}" if errors else ""
    _err(f"{len(written)} images, {len(errors)} errors in {folder}{where}")


def _lines_of(text: str, name: str, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return lines_from_csv(text, defaults)
    except LinesError as error:
        fail(f"{name}: {error}", "fix that row and run it again.")


def _write_images(output: str, folder: Path, errors: list[str]) -> list[Path]:
    """Each image of each succeeded line as a file; a line that did not succeed joins `errors`."""
    written: list[Path] = []
    taken: set[str] = {"errors"}
    for raw in output.splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        response = line.get("response") or {}
        items = (response.get("body") or {}).get("data") or []
        if response.get("status_code") != 200 or line.get("error") or not items:
            errors.append(raw)
            continue
        custom_id = str(line.get("custom_id"))
        stems, renamed = file_stems(custom_id, len(items), taken)
        for stem, item in zip(stems, items, strict=True):
            data = base64.b64decode(item["b64_json"])
            path = folder / f"{stem}.{_extension(data)}"
            path.write_bytes(data)
            written.append(path)
            click.echo(str(path))
        if renamed:
            _err(f"custom_id {custom_id!r} is not a safe file name here: saved as {stems[0]}.*")
    return written


def _extension(data: bytes) -> str:
    return next((ext for magic, ext in _MAGIC if data.startswith(magic)), "png")


def _finish(batch: Batch) -> None:
    """The watched batch's one-line summary; a batch that did not complete ends the command with 1."""
    summary = _summary(batch)
    if batch.status == "completed":
        _err(f"{summary}; next: `gazo batch results {batch.id} -o DIR`")
        return
    reasons = [error.message for error in _errors(batch) if error.message]
    detail = f": {'; '.join(reasons[:3])}" if reasons else ""
    fail(f"{summary}{detail}", f"`gazo batch results {batch.id} -o DIR` saves what it made and errors.jsonl.")


def _summary(batch: Batch) -> str:
    done, failed, total = counts(batch)
    return f"batch {batch.id} {batch.status}: {done} of {total} requests succeeded, {failed} failed"


def _show(batch: Batch) -> None:
    done, failed, total = counts(batch)
    times = (
        "created",
        "in_progress",
        "finalizing",
        "completed",
        "failed",
        "expired",
        "cancelling",
        "cancelled",
    )
    rows: list[tuple[str, object]] = [
        ("id", batch.id),
        ("status", batch.status),
        ("endpoint", batch.endpoint),
        ("requests", f"{done} completed, {failed} failed, {total} in all"),
        *((f"{name.replace('_', ' ')} at", _time(getattr(batch, f"{name}_at", None))) for name in times),
        ("expires at", _time(batch.expires_at) if batch.status not in FINAL else None),
        ("input file", batch.input_file_id),
        ("output file", batch.output_file_id),
        ("error file", batch.error_file_id),
        ("metadata", json.dumps(batch.metadata) if batch.metadata else None),
        *(("error", f"line {e.line}: {e.message}" if e.line else e.message) for e in _errors(batch)),
    ]
    print_table(("field", "value"), [row for row in rows if row[1] not in (None, "")])


def _errors(batch: Batch) -> list[Any]:
    return list(batch.errors.data or []) if batch.errors else []


def _time(stamp: int | None) -> str | None:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S") if stamp else None


def _err(text: str) -> None:
    click.echo(text, err=True)
