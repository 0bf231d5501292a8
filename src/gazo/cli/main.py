"""The `gazo` command: noun-then-verb groups; plugins add commands through `register_commands`."""

from __future__ import annotations

import click

from gazo.cli.batch import batch
from gazo.cli.db import db
from gazo.cli.dev import dev
from gazo.cli.images import edit, generate
from gazo.cli.keys import keys
from gazo.cli.logs import configure_logging
from gazo.cli.models import models, pull
from gazo.cli.serve import serve
from gazo.cli.usage import usage
from gazo.cli.verify import verify
from gazo.plugins import load_plugins
from gazo.version import __version__


@click.group()
@click.version_option(__version__, prog_name="gazo")
def cli() -> None:
    """gazo: a self-hosted, OpenAI-compatible image generation and editing service."""
    configure_logging("info")


for command in (serve, generate, edit, batch, models, pull, verify, keys, usage, db, dev):
    cli.add_command(command)


def main() -> None:
    load_plugins(builtins=False).hook.register_commands(cli=cli)
    cli()
