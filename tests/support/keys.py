"""API keys for tests, made as an operator makes them: `gazo keys create` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def create_key(data_dir: Path, name: str, *options: str, env: dict[str, str] | None = None) -> str:
    """`gazo keys create --name NAME OPTIONS` on `data_dir`'s database; the `gz-...` key it prints once."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "gazo",
            "keys",
            "create",
            "--name",
            name,
            *options,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert completed.returncode == 0, completed.stderr
    secret = completed.stdout.strip()
    assert secret.startswith("gz-"), completed.stdout
    return secret
