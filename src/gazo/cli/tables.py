"""Tables for people: light borders, numbers aligned right, and no column that every row leaves empty."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

_NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    keep: Collection[str] = (),
    empty: str = "nothing to show",
) -> None:
    """Print `rows` under `columns`; `keep` names columns shown even when empty; `empty` replaces no rows."""
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    console = Console()
    if not cells:
        console.print(f"{title}: {empty}" if title else empty)
        return
    shown = [i for i, name in enumerate(columns) if name in keep or any(row[i] for row in cells)]
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    for position, i in enumerate(shown):
        if all(_NUMBER.match(row[i]) for row in cells if row[i]):  # numbers are never cut: the heading wraps
            width = max(len(row[i]) for row in cells)
            table.add_column(columns[i], justify="right", min_width=width, no_wrap=position == 0)
        else:
            table.add_column(columns[i], no_wrap=position == 0)
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    console.print(table)
