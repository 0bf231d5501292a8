"""Options every `gazo` command shares, and the one place the CLI turns them into `Settings`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gazo.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_options(command: F) -> F:
    """Add `--data-dir` and `--config` to a command."""
    command = click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="TOML configuration file (see docs/settings.md).",
    )(command)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where gazo keeps models, keys and its database "
        "(default ~/.local/share/gazo or $GAZO_DATA_DIR).",
    )(command)


def load_settings(config_file: Path | None, data_dir: Path | None, **overrides: Any) -> Settings:
    try:
        return Settings.load(config_file, data_dir=data_dir, **overrides)
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(f"invalid configuration: {error}") from None
