"""`gazo models list` and `gazo pull`: what is served, and fetching weights into the data dir."""

from __future__ import annotations

from pathlib import Path

import click

from gazo.cli.options import load_settings, settings_options
from gazo.cli.tables import print_table


@click.group(invoke_without_command=True)
@click.pass_context
def models(context: click.Context) -> None:
    """Configured models (`gazo models` alone lists them)."""
    if context.invoked_subcommand is None:
        context.invoke(list_models)


@models.command("list")
@click.option("--options", "show_options", is_flag=True, help="Also list each backend's options.")
@settings_options
def list_models(show_options: bool, data_dir: Path | None, config_file: Path | None) -> None:
    """List the models this configuration serves, with their aliases."""
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


@click.command()
@click.argument("hub_id")
@settings_options
def pull(hub_id: str, data_dir: Path | None, config_file: Path | None) -> None:
    """Download HUB_ID (a diffusers pipeline) into the data dir, with a progress bar."""
    from gazo.backends.hub import ModelUnavailable, download_pipeline

    settings = load_settings(config_file, data_dir)
    try:
        path = download_pipeline(hub_id, cache_dir=settings.models_dir / "hub")
    except ModelUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{hub_id} is in {path}; serve it with a [[models]] entry whose source = {hub_id!r}")
