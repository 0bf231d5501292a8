"""Looking for what must not be kept: in every row of every table, in every file under a directory."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from gazo.store.database import Database


def rows_as_text(database: Database) -> str:
    """Every row of every table in the database (gazo's own and any other), one row a line."""
    tables = inspect(database.engine).get_table_names()
    with database.reading() as session:
        return "\n".join(
            " ".join(str(value) for value in row)
            for table in tables
            for row in session.execute(text(f'SELECT * FROM "{table}"')).all()
        )


def files_containing(directory: Path, needle: bytes) -> list[str]:
    """The files under `directory`, at any depth, whose bytes contain `needle` (relative paths)."""
    return sorted(
        str(path.relative_to(directory))
        for path in directory.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )
