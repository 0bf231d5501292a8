"""`gazo verify`: a readable Content Credentials report for any image, gazo's or anyone's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.tree import Tree

from gazo.cli.options import load_settings, settings_options
from gazo.errors import GazoError
from gazo.provenance.identity import ROOT_CERT
from gazo.provenance.verify import Verifier

_STATE_STYLE = {"Trusted": "bold green", "Valid": "yellow", "Invalid": "bold red", "None": "dim"}
_STATE_TEXT = {
    "Trusted": "Trusted",
    "Valid": "Valid but untrusted",
    "Invalid": "Invalid",
    "None": "no credentials",
}


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--trust",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Extra root certificate(s) to trust (PEM), besides this data dir's own root.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@settings_options
def verify(
    files: tuple[Path, ...],
    trust: Path | None,
    as_json: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Check the Content Credentials of FILES: state, signer, model, actions and edit history."""
    settings = load_settings(config_file, data_dir)
    own_root = settings.data_dir / "provenance" / ROOT_CERT
    anchors = own_root.read_text() if own_root.is_file() else ""
    verifier = Verifier(anchors)
    extra = trust.read_text() if trust else None
    reports: dict[str, Any] = {}
    for path in files:
        try:
            reports[str(path)] = verifier.verify(path.read_bytes(), extra).to_dict()
        except GazoError as error:
            reports[str(path)] = {"state": "Invalid", "error": error.message}
    if as_json:
        click.echo(json.dumps(reports if len(files) > 1 else reports[str(files[0])], indent=2))
    else:
        console = Console()
        for shown, report in reports.items():
            console.print(_tree(shown, report))
    if any(report["state"] == "Invalid" for report in reports.values()):
        raise SystemExit(1)


def _tree(title: str, report: dict[str, Any]) -> Tree:
    state = report["state"]
    tree = Tree(f"[bold]{title}[/]: [{_STATE_STYLE[state]}]{_STATE_TEXT[state]}[/]")
    _describe(tree, report)
    return tree


def _describe(node: Tree, report: dict[str, Any]) -> None:
    if report.get("error"):
        node.add(f"error: {report['error']}")
    signer = report.get("signer")
    if signer:
        node.add(f"signer: {signer['subject']} (issued by {signer['issuer']})")
    for label in ("signed_at", "claim_generator", "model"):
        if report.get(label):
            node.add(f"{label.replace('_', ' ')}: {report[label]}")
    for action in report.get("actions") or ():
        source = (action.get("digital_source_type") or "").rsplit("/", 1)[-1]
        node.add(f"action: {action['action']}" + (f" ({source})" if source else ""))
    for failure in report.get("failures") or ():
        node.add(f"[red]failure: {failure['code']}[/] {failure.get('explanation', '')}")
    for ingredient in report.get("ingredients") or ():
        state = ingredient["state"]
        child = node.add(
            f"ingredient {ingredient.get('title') or '?'} [{ingredient.get('relationship', '')}]: "
            f"[{_STATE_STYLE[state]}]{_STATE_TEXT[state]}[/]"
        )
        _describe(child, ingredient)
