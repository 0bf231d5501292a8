"""`gazo generate` and `gazo edit`: the same service as the server, in-process or through a running
server's HTTP API (`--server`), with a progress bar on stderr that counts steps and partial images."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from gazo.billing.tokens import TokenUsage
from gazo.billing.values import Caller
from gazo.cli.errors import fail, next_step
from gazo.cli.options import load_settings, settings_options
from gazo.cli.remote import RemoteImages
from gazo.errors import GazoError
from gazo.jobs import ImageRequest, OutputFormat, Placement, Upload
from gazo.service import FinalImage, ImageService, PartialImage, RequestContext, Step, Submission
from gazo.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

#: Whoever runs the CLI holds the data dir and so the keys: metered as the operator, not as a key.
OPERATOR = Caller(key_id=None, org_id=None, is_admin=True, open_mode=True, key_name="gazo CLI")

_OUTPUT_OPTIONS = (
    click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help="Output file; with -n > 1, NAME-1.EXT, NAME-2.EXT, ...",
    ),
    click.option("--model", default=None, help="Model name or alias (default: the default model)."),
    click.option("--size", default="auto", show_default=True, help="auto or WIDTHxHEIGHT."),
    click.option("--quality", default="auto", show_default=True, help="auto, low, medium, high."),
    click.option(
        "-n", "n", type=click.IntRange(1, 10), default=1, show_default=True, help="Number of images."
    ),
    click.option("--seed", type=int, default=None, help="Fixed seed for reproducible output."),
    click.option(
        "--text",
        multiple=True,
        help="Text to set exactly in the image (repeat for more; the first is the headline), besides "
        "any the prompt quotes.",
    ),
    click.option(
        "--background",
        type=click.Choice(["auto", "opaque", "transparent"]),
        default="auto",
        show_default=True,
        help="transparent needs a .png or .webp output.",
    ),
    click.option(
        "--json", "as_json", is_flag=True, help="Print files, concrete size/quality and usage as JSON."
    ),
    click.option("--open", "open_files", is_flag=True, help="Open the result(s) in the default viewer."),
    click.option(
        "--partial-images",
        type=click.IntRange(0, 3),
        default=0,
        show_default=True,
        help="Previews per image while it renders (counted in the progress bar; they cost output tokens).",
    ),
    click.option(
        "--server",
        envvar="GAZO_SERVER",
        metavar="URL",
        help="Ask a running `gazo serve` (e.g. http://127.0.0.1:8000) instead of rendering in this process.",
    ),
    click.option("--api-key", envvar="GAZO_API_KEY", help="With --server: the API key (`gazo keys create`)."),
)


def output_options(command: F) -> F:
    for option in reversed(_OUTPUT_OPTIONS):
        command = option(command)
    return command


@click.command()
@click.argument("prompt")
@output_options
@settings_options
def generate(
    prompt: str,
    output: Path,
    as_json: bool,
    open_files: bool,
    server: str | None,
    api_key: str | None,
    data_dir: Path | None,
    config_file: Path | None,
    **fields: Any,  # the request's fields, as click parsed them (ImageRequest checks them)
) -> None:
    """Generate images from PROMPT."""
    request = ImageRequest(prompt=prompt, output_format=_format_of(output), **fields)
    source = _Source(server, api_key, None if server else load_settings(config_file, data_dir))
    _run(request, output, source, as_json=as_json, open_files=open_files)


@click.command()
@click.argument(
    "images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("-p", "--prompt", required=True, help="What to change.")
@click.option(
    "--mask",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PNG whose transparent pixels mark where to edit.",
)
@click.option(
    "--placement",
    type=click.Choice(get_args(Placement)),
    default=None,
    help="Extend the background: where the image sits on the larger canvas --size asks for.",
)
@output_options
@settings_options
def edit(
    images: tuple[Path, ...],
    prompt: str,
    mask: Path | None,
    output: Path,
    as_json: bool,
    open_files: bool,
    server: str | None,
    api_key: str | None,
    data_dir: Path | None,
    config_file: Path | None,
    **fields: Any,  # the request's fields, as click parsed them (ImageRequest checks them)
) -> None:
    """Edit IMAGES (the first is edited, the others are references)."""
    uploads = tuple(Upload(data=path.read_bytes(), filename=path.name) for path in images)
    mask_upload = Upload(data=mask.read_bytes(), filename=mask.name) if mask else None
    request = ImageRequest(
        prompt=prompt, output_format=_format_of(output), images=uploads, mask=mask_upload, **fields
    )
    source = _Source(server, api_key, None if server else load_settings(config_file, data_dir))
    _run(request, output, source, as_json=as_json, open_files=open_files)


def _format_of(output: Path) -> OutputFormat:
    suffix = output.suffix.lower().lstrip(".")
    formats: dict[str, OutputFormat] = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}
    if suffix not in formats:
        raise click.BadParameter(
            "the output file must end in .png, .jpg, .jpeg or .webp", param_hint="--output"
        )
    return formats[suffix]


@dataclass(frozen=True)
class _Source:
    """Where the images come from: a server (`url`, `api_key`) or this process (`settings`)."""

    url: str | None
    api_key: str | None
    settings: Settings | None


def _run(request: ImageRequest, output: Path, source: _Source, *, as_json: bool, open_files: bool) -> None:
    try:
        written, summary = asyncio.run(_render(request, output, source))
    except GazoError as error:
        hint = next_step(error.code, error.status, retry_after=error.headers.get("retry-after"))
        fail(error.message, hint, code=error.code)
    if as_json:
        click.echo(json.dumps({"files": [str(path) for path in written], **summary}, indent=2))
    else:
        for path in written:
            click.echo(str(path))
    if open_files:
        for path in written:
            click.launch(str(path))


async def _render(request: ImageRequest, output: Path, source: _Source) -> tuple[list[Path], dict[str, Any]]:
    """Write each final image as it arrives, counting steps and previews on a bar on stderr; returns
    the files and the summary `--json` prints (what the server or service settled on, and the usage)."""
    with _Bar(request) as bar:
        if source.url is not None:
            remote = RemoteImages(request, source.url, source.api_key)
            written, usage = await _write_all(remote.stream(), output, request.n, bar)
            concrete = remote.output.to_json() if remote.output else {}  # known once its images arrived
            summary = {"server": remote.server, "model": request.model, **concrete}
        else:
            service = ImageService.from_settings(source.settings)  # type: ignore[arg-type]
            await service.start()
            try:
                submission = await _submit_in_process(service, request)
                bar.rendering()
                async with aclosing(submission):
                    written, usage = await _write_all(submission, output, request.n, bar)
            finally:
                await service.close()
            summary = _summary(submission)
    return written, {**summary, "usage": usage.to_openai_dict()}


async def _write_all(
    events: AsyncIterable[Step | PartialImage | FinalImage], output: Path, n: int, bar: _Bar
) -> tuple[list[Path], TokenUsage]:
    written: list[Path] = []
    usage = TokenUsage(0, 0, 0)
    async for event in events:
        if isinstance(event, Step):
            bar.step(event.step, event.total)
        elif isinstance(event, PartialImage):
            bar.preview()
        elif isinstance(event, FinalImage):
            written.append(_write(output, event.image_index, n, event.data))
            usage = usage + event.usage
            bar.final()
    return written, usage


async def _submit_in_process(service: ImageService, request: ImageRequest) -> Submission:
    """The service's own path, as the operator, once the model is loaded."""
    while not service.health().ready:
        failed = {
            name: state for name, state in service.health().models.items() if state.startswith("failed")
        }
        if failed:
            fail(
                f"model failed to load: {failed}",
                "check the [[models]] entry (`gazo models list` shows the configuration); "
                "`gazo pull HUB_ID` fetches a hub model's weights.",
            )
        await asyncio.sleep(0.1)
    return await service.submit(request, RequestContext(OPERATOR, f"cli_{uuid.uuid4().hex[:24]}"))


def _summary(submission: Submission) -> dict[str, Any]:
    """The concrete job fields an in-process run settled on."""
    output = submission.output
    summary: dict[str, Any] = {
        "model": submission.model,
        "size": output.size,
        "quality": output.quality,
        "background": output.background,
    }
    if submission.extensions:
        summary["gazo"] = submission.extensions
    return summary


class _Bar:
    """One transient progress bar on stderr: denoising steps when known, else previews and images."""

    def __init__(self, request: ImageRequest) -> None:
        self.n = request.n
        self.previews_expected = request.n * request.partial_images
        self.steps = self.total_steps = self.previews = self.finals = 0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> _Bar:
        self.progress.start()
        self.task = self.progress.add_task("loading", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def rendering(self) -> None:
        self._show()

    def step(self, step: int, total: int) -> None:
        self.steps, self.total_steps = step, total
        self._show()

    def preview(self) -> None:
        self.previews += 1
        self._show()

    def final(self) -> None:
        self.finals += 1
        self._show()

    def _show(self) -> None:
        parts = ["rendering"]
        if self.total_steps:
            parts.append(f"step {self.steps}/{self.total_steps}")
        if self.previews_expected:
            parts.append(f"preview {self.previews}/{self.previews_expected}")
        parts.append(f"image {self.finals}/{self.n}")
        if self.total_steps:
            done, total = self.steps, self.total_steps
        else:
            done, total = self.previews + self.finals, self.previews_expected + self.n
        assert self.task is not None
        self.progress.update(self.task, description=" · ".join(parts), completed=done, total=total)
        self.progress.refresh()


def _write(output: Path, index: int, count: int, data: bytes) -> Path:
    path = output if count == 1 else output.with_name(f"{output.stem}-{index + 1}{output.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
