"""Docs cannot drift: the settings reference is generated from the code, and every hook is documented."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gazo import hookspecs
from gazo.cli.main import cli

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_settings_reference_matches_the_code() -> None:
    printed = CliRunner().invoke(cli, ["dev", "settings-doc"])
    assert printed.exit_code == 0, printed.output
    assert (DOCS / "settings.md").read_text() == printed.stdout, (
        "docs/settings.md is stale: run `gazo dev settings-doc > docs/settings.md`"
    )


def test_every_hook_is_documented() -> None:
    text = (DOCS / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "gazo_spec")]
    assert hooks, "no hookspecs found"
    for name in hooks:
        assert f"`{name}(" in text, f"hook {name} is not documented in docs/plugins.md"
