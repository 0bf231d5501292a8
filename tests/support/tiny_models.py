"""The session's tiny SD folder, built once under the tiny backend's own lock (a server may build it)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from gazo.backends.tiny import save_tiny_pipeline


def built_tiny_sd(shared_data_dir: Path) -> Path:
    """The folder of the session's default tiny SD model, built here if no server built it yet."""
    shared = shared_data_dir / "models" / "gazo-tiny-sd"
    shared.parent.mkdir(parents=True, exist_ok=True)
    with (shared.parent / f".{shared.name}.lock").open("w") as lock:  # the backend's own protocol
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "model_index.json").is_file():
            save_tiny_pipeline("sd", shared)
    return shared
