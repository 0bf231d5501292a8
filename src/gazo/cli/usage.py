"""`gazo usage`: who used what and what it cost, as a table or CSV."""

from __future__ import annotations

import csv
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from gazo.billing.prices import micros_to_usd
from gazo.billing.reports import summary
from gazo.cli.db import open_database
from gazo.cli.options import settings_options
from gazo.cli.tables import print_table
from gazo.store import keys as key_store

_RELATIVE = re.compile(r"^(\d+)([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, *, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``2w``, or an ISO date/time (UTC unless it says otherwise); default: 30 days."""
    now = now or datetime.now(UTC)
    if not value:
        return now - timedelta(days=30)
    match = _RELATIVE.match(value.strip())
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected 7d, 12h, 2w or an ISO date, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.command()
@click.option("--since", help="Start: 7d, 12h, 2w or an ISO date (default: the last 30 days).")
@click.option(
    "--by",
    type=click.Choice(["key", "model", "batch", "day"]),
    default="key",
    show_default=True,
    help="One line per API key, model, batch (interactive requests on one line) or UTC day.",
)
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout instead of a table.")
@settings_options
def usage(since: str | None, by: str, as_csv: bool, data_dir: Path | None, config_file: Path | None) -> None:
    """Requests, images, tokens and cost, grouped by key, model, batch or day."""
    start = parse_since(since)
    database = open_database(config_file, data_dir)
    try:
        rows = summary(database, since=start, by=by)
        names = {}
        if by == "key":
            with database.reading() as session:
                names = {key.id: key.name for key in key_store.list_keys(session=session)}
    finally:
        database.dispose()
    header = [by, "requests", "succeeded", "images", "input tokens", "output tokens", "cost $"]
    lines = [
        [
            f"{names[row.group]} ({row.group})" if row.group in names else row.group,
            row.requests,
            row.succeeded,
            row.images,
            row.input_tokens,
            row.output_tokens,
            f"{micros_to_usd(row.cost_micros):.6f}",
        ]
        for row in rows
    ]
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(lines)
        return
    if len(set(names.values())) == len(names):  # names say which key: the table leaves the ids to the CSV
        lines = [[names.get(row.group, line[0]), *line[1:]] for row, line in zip(rows, lines, strict=True)]
    title = f"usage since {start:%Y-%m-%d %H:%M} UTC"
    print_table(header, lines, title=title, keep=header, empty="no requests in this period")
