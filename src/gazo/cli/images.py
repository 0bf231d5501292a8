"""`gazo generate` and `gazo edit`: the same service as the server, in-process, with a progress bar."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from gazo.billing.tokens import TokenUsage
from gazo.billing.values import Caller
from gazo.cli.options import load_settings, settings_options
from gazo.errors import GazoError
from gazo.jobs import ImageRequest, Upload
from gazo.service import FinalImage, ImageService, Step

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
)


def output_options(command: click.Command) -> click.Command:
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
    data_dir: Path | None,
    config_file: Path | None,
    **fields: object,
) -> None:
    """Generate images from PROMPT."""
    request = ImageRequest(prompt=prompt, output_format=_format_of(output), **fields)  # type: ignore[arg-type]
    _run(request, output, load_settings(config_file, data_dir), as_json=as_json, open_files=open_files)


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
@output_options
@settings_options
def edit(
    images: tuple[Path, ...],
    prompt: str,
    mask: Path | None,
    output: Path,
    as_json: bool,
    open_files: bool,
    data_dir: Path | None,
    config_file: Path | None,
    **fields: object,
) -> None:
    """Edit IMAGES (the first is edited, the others are references)."""
    uploads = tuple(Upload(data=path.read_bytes(), filename=path.name) for path in images)
    mask_upload = Upload(data=mask.read_bytes(), filename=mask.name) if mask else None
    request = ImageRequest(
        prompt=prompt, output_format=_format_of(output), images=uploads, mask=mask_upload, **fields
    )  # type: ignore[arg-type]
    _run(request, output, load_settings(config_file, data_dir), as_json=as_json, open_files=open_files)


def _format_of(output: Path) -> str:
    suffix = output.suffix.lower().lstrip(".")
    formats = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}
    if suffix not in formats:
        raise click.BadParameter(
            "the output file must end in .png, .jpg, .jpeg or .webp", param_hint="--output"
        )
    return formats[suffix]


def _run(request: ImageRequest, output: Path, settings: object, *, as_json: bool, open_files: bool) -> None:
    try:
        written, summary = asyncio.run(_render(request, output, settings))
    except GazoError as error:
        raise click.ClickException(f"{error.message} ({error.code})") from None
    if as_json:
        click.echo(json.dumps({"files": [str(path) for path in written], **summary}, indent=2))
    else:
        for path in written:
            click.echo(str(path))
    if open_files:
        for path in written:
            click.launch(str(path))


async def _render(
    request: ImageRequest, output: Path, settings: object
) -> tuple[list[Path], dict[str, object]]:
    service = ImageService.from_settings(settings)  # type: ignore[arg-type]
    await service.start()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("loading model", total=None)
            while not service.health().ready:
                if any(state.startswith("failed") for state in service.health().models.values()):
                    raise click.ClickException(f"model failed to load: {service.health().models}")
                await asyncio.sleep(0.1)
            prepared = await service.prepare(request)
            bar.update(task, description="rendering")
            written: list[Path] = []
            usage = TokenUsage(0, 0, 0)
            events = service.stream(prepared, OPERATOR, request_id=f"cli_{uuid.uuid4().hex[:24]}")
            async for event in events:
                if isinstance(event, Step):
                    bar.update(
                        task, completed=event.step, total=event.total, description=f"step {event.step}"
                    )
                elif isinstance(event, FinalImage):
                    written.append(_write(output, event.image_index, request.n, event.data))
                    usage = usage + event.usage
            job = prepared.job
            summary = {
                "model": job.model,
                "size": str(job.size),
                "quality": job.quality,
                "background": job.background,
                "usage": usage.to_openai_dict(),
            }
            return written, summary
    finally:
        await service.close()


def _write(output: Path, index: int, count: int, data: bytes) -> Path:
    path = output if count == 1 else output.with_name(f"{output.stem}-{index + 1}{output.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
