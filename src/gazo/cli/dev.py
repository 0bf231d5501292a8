"""`gazo dev`: tools for developing gazo and testing deployments without real weights."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def dev() -> None:
    """Developer tools."""


@dev.command("tiny-pipeline")
@click.option("--arch", type=click.Choice(["sd", "sdxl", "flux", "sd3"]), default="sd", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def tiny_pipeline(arch: str, seed: int, out: Path) -> None:
    """Build a tiny random pipeline of ARCH and save it as a hub-style folder OUT."""
    from gazo.backends.tiny import save_tiny_pipeline

    click.echo(str(save_tiny_pipeline(arch, out, seed=seed)))
