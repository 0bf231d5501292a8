"""What `gazo` prints while it starts: gazo's own lines, and other libraries' only when they matter.

A start used to open with alembic's narration of each migration, uvicorn's four start-up lines and
transformers' "Loading weights" bars, burying the lines a user starts gazo for: its version and
address, whether it is open or closed, and each model with its device and dtype. Here the routine
narration of those libraries moves to `--log-level debug`; their warnings and errors always show.
(The loading bars of diffusers and transformers are turned off where models load, in
`gazo.backends.hub`, since they are not log records.)
"""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_FORMAT", "configure_logging"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Loggers whose INFO lines narrate routine work. alembic: "Context impl SQLiteImpl.", one line per
#: revision (gazo says itself when an existing schema changes). httpx and httpx2 (the openai SDK's): a
#: line per request, which would also cut `gazo generate --server`'s progress bar.
_ROUTINE = ("alembic", "httpx", "httpx2")

#: uvicorn's own start-up lines (its `uvicorn.error` logger): gazo's lifespan logs its address instead.
_UVICORN_STARTUP = (
    "Started server process",
    "Waiting for application startup.",
    "Application startup complete.",
    "Uvicorn running on",
)

#: Environment defaults set here, so a value the user set is told apart from ours and never changed.
_OUR_ENVIRONMENT: dict[str, str] = {}


def configure_logging(level: str = "info") -> None:
    """Log gazo's records at `level` (to stderr) and keep routine library narration for `debug`.

    Safe to call again (the `gazo` group sets `info`, then `gazo serve --log-level` its own level)."""
    numeric = logging.getLevelName(level.upper())
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=LOG_FORMAT)
    root.setLevel(numeric)
    debugging = numeric <= logging.DEBUG
    for name in _ROUTINE:
        logging.getLogger(name).setLevel(logging.NOTSET if debugging else logging.WARNING)
    uvicorn = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _UvicornStartupFilter) for f in uvicorn.filters):
        uvicorn.addFilter(_UvicornStartupFilter())
    # transformers reads its verbosity once, at import, and warns there about optional packages gazo
    # never needs (e.g. "requires torchvision"): errors only, unless debugging or the user chose.
    _environment_default("TRANSFORMERS_VERBOSITY", None if debugging else "error")


class _UvicornStartupFilter(logging.Filter):
    """Turns uvicorn's start-up lines into DEBUG records; everything else it says passes unchanged.

    A logger's filters run after its level check, so a demoted record is dropped here unless the
    logger would have shown DEBUG (uvicorn sets `uvicorn.error` to `--log-level`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not str(record.msg).startswith(_UVICORN_STARTUP):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _environment_default(name: str, value: str | None) -> None:
    if name in os.environ and os.environ[name] != _OUR_ENVIRONMENT.get(name):
        return  # the user's own choice
    if value is None:
        os.environ.pop(name, None)
        _OUR_ENVIRONMENT.pop(name, None)
    else:
        os.environ[name] = value
        _OUR_ENVIRONMENT[name] = value
