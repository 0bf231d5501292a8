"""`gazo models list` and `gazo pull`: what is served, and fetching weights into the data dir."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from gazo.cli.download import download_url
from gazo.cli.options import load_settings, settings_options
from gazo.cli.server_client import ServerClient
from gazo.cli.tables import print_table


@click.group(invoke_without_command=True)
@click.pass_context
def models(context: click.Context) -> None:
    """Configured models (`gazo models` alone lists them)."""
    if context.invoked_subcommand is None:
        context.invoke(list_models)


@models.command("list")
@click.option("--options", "show_options", is_flag=True, help="Also list each backend's options.")
@click.option(
    "--server",
    "--url",
    "server",
    envvar="GAZO_SERVER",
    metavar="URL",
    help="Ask this running `gazo serve` instead (or $GAZO_SERVER): adds each model's status, size, "
    "last use and adapters.",
)
@click.option("--api-key", envvar="GAZO_API_KEY", help="With --server: the API key (or $GAZO_API_KEY).")
@settings_options
def list_models(
    show_options: bool,
    server: str | None,
    api_key: str | None,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """List the models this configuration serves, with their aliases (with --server: a server's models,
    and where each stands)."""
    if server:
        if show_options:
            raise click.UsageError("--options lists a configuration's backends: leave out --server")
        _list_served(server, api_key)
        return
    from gazo.plugins import backend_classes, load_plugins

    settings = load_settings(config_file, data_dir)
    classes = backend_classes(load_plugins(settings.plugins))
    rows = []
    for spec in settings.served_models():
        rows.append((spec.name, spec.backend, spec.source, ", ".join(spec.aliases)))
        if show_options and spec.backend in classes:
            for name, field in classes[spec.backend].Options.model_fields.items():
                rows.append(("", f"  {name}", str(field.description or ""), ""))
    print_table(("model", "backend", "source", "aliases"), rows, keep=("model", "backend", "source"))


def _list_served(server: str, api_key: str | None) -> None:
    """`GET /v1/models` of a running gazo, as a table; fields an older server leaves out show `-`."""
    with ServerClient(server, api_key) as api, api.answers():
        served = [model.model_dump() for model in api.client.models.list(**api.auth)]
    aliases: dict[str, list[str]] = {}
    for model in served:
        if model.get("alias_of"):
            aliases.setdefault(model["alias_of"], []).append(str(model.get("id")))
    now = time.time()
    rows = [
        (*_served_row(model, now), ", ".join(aliases.get(model.get("id", ""), ())))
        for model in served
        if not model.get("alias_of")
    ]
    columns = ("model", "status", "size", "last used", "adapters", "adapter of", "aliases")
    print_table(columns, rows, keep=("model", "status", "size", "last used"))


def _served_row(model: dict[str, Any], now: float) -> tuple[str, ...]:
    status, size, used = model.get("status"), model.get("memory_bytes"), model.get("last_used_at")
    # null beside a size: not used since the server started; without a size, a key that is not an
    # admin (shown neither) or an older server's answer
    last_used = age(now - used) if used is not None else "never" if size is not None else "-"
    return (
        str(model.get("id", "")),
        status or "-",
        human_bytes(size) if size is not None else "-",
        last_used,
        ", ".join(model.get("adapters") or ()),
        model.get("base_model") or "",
    )


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def age(seconds: float) -> str:
    """`just now`, `42 s ago`, `3 min ago`, `5 h ago`, `2 d ago`."""
    if seconds < 5:
        return "just now"
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{int(seconds // length)} {unit} ago"
    return f"{int(seconds)} s ago"


@click.command()
@click.argument("source")
@click.option(
    "--file",
    "filename",
    metavar="NAME",
    help="One file of the hub repo SOURCE (a LoRA adapter or a single-file checkpoint), not the pipeline.",
)
@click.option(
    "--sha256", metavar="HEX", help="With a URL: the file's expected sha256; a mismatch keeps nothing."
)
@settings_options
def pull(
    source: str, filename: str | None, sha256: str | None, data_dir: Path | None, config_file: Path | None
) -> None:
    """Download SOURCE into the data dir, with a progress bar, and print the config that serves it.

    \b
    gazo pull OWNER/REPO                      a diffusers pipeline
    gazo pull OWNER/REPO/NAME.safetensors     one file: a LoRA or a single-file
    gazo pull OWNER/REPO --file NAME          checkpoint (the same)
    gazo pull https://HOST/NAME.safetensors   a URL, into DATA_DIR/models
    gazo pull ./NAME.safetensors              fetch a checkpoint's configs
    """
    from gazo.backends.hub import ModelUnavailable, download_file, download_pipeline, is_single_file

    settings = load_settings(config_file, data_dir)
    cache_dir = settings.models_dir / "hub"
    is_url = source.startswith(("http://", "https://"))
    if filename and (is_url or is_single_file(source)):
        raise click.UsageError("--file names a file of a hub repo: give SOURCE as OWNER/REPO")
    if sha256 and not is_url:
        raise click.UsageError("--sha256 checks a URL download; hub files come with the hub's own checks")
    try:
        if is_url:
            got = download_url(source, settings.models_dir, sha256=sha256)
            click.echo(f"saved {got.path} ({human_bytes(got.size)}, sha256 {got.sha256})")
            _print_use(got.path, str(got.path), cache_dir)
        elif (local := Path(source).expanduser().resolve()).is_file():
            _print_use(local, str(local), cache_dir)
        elif filename or is_single_file(source):
            repo, name = (source, filename) if filename else _split(source)
            path = download_file(repo, name, cache_dir=cache_dir)
            click.echo(f"{repo}/{name} is in {path}")
            _print_use(path, f"{repo}/{name}", cache_dir)
        else:
            path = download_pipeline(source, cache_dir=cache_dir)
            click.echo(f"{source} is in {path}; serve it with:")
            _print_block("models", Path(source).name, source)
    except ModelUnavailable as error:
        raise click.ClickException(str(error)) from None


def _split(source: str) -> tuple[str, str]:
    from gazo.backends.single_file import split_hub_file

    return split_hub_file(source)


def _print_use(path: Path, source: str, cache_dir: Path) -> None:
    """Say what the file is and print the config block that serves it (fetching a checkpoint's configs)."""
    from gazo.backends.hub import ModelUnavailable, is_single_file
    from gazo.backends.single_file import config_folder, is_adapter

    if not is_single_file(path.name):
        click.echo(f"gazo loads .safetensors and .ckpt files; {path.name} is neither")
        return
    if is_adapter(path):
        click.echo("a LoRA adapter; serve it under its base model's [[models]] entry:")
        _print_block("models.adapters", path.stem, str(path))
        return
    try:
        config = config_folder(path, cache_dir=cache_dir, offline=False)
        click.echo(f"a single-file checkpoint (its configs: {config}); serve it with:")
    except ModelUnavailable as error:
        click.echo(f"a single-file checkpoint, but its configs are missing: {error}", err=True)
    _print_block("models", path.stem, source)


def _print_block(table: str, name: str, source: str) -> None:
    click.echo(f"\n[[{table}]]\nname = {json.dumps(name)}\nsource = {json.dumps(source)}")
