"""The base of every settings section: unknown keys are refused, values are frozen once built."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in `"90"`, `"90s"`, `"5m"`, `"1.5h"` or `"2d"`: how operators write Ollama's `keep_alive`
    and the like, so a TOML value need not be worked out in seconds."""
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:]) if value else None
    number = value[:-1] if unit is not None else value
    try:
        seconds = float(number) * (unit or 1.0)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (e.g. 300, \"90s\", \"5m\", \"1h\")") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration is a finite number of seconds, not negative: {text!r}")
    return seconds
