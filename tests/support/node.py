"""Running the scripts of tests/node, which drive gazo through the official Node SDK (npm `openai`).

`scripts/setup.sh` installs their packages (`npm ci`) where `node` is present. A script gets the server's
base URL, an API key and its arguments, and prints one JSON object: what the SDK gave it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def run_node(
    script: str, base_url: str, api_key: str = "gz-test", timeout_s: float = 180, **args: object
) -> Any:
    """`node tests/node/SCRIPT` against `base_url` with `args` (JSON); its stdout, decoded."""
    node = shutil.which("node")
    assert node is not None, (
        "node is not installed: `apt-get install nodejs npm`, then `bash scripts/setup.sh`"
    )
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), (
        "tests/node's packages are not installed: run `bash scripts/setup.sh` (or `npm ci` in tests/node)"
    )
    env = {**os.environ, "GAZO_BASE_URL": base_url, "GAZO_API_KEY": api_key, "GAZO_ARGS": json.dumps(args)}
    try:
        done = subprocess.run(
            [node, script], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as late:
        raise AssertionError(f"node {script} ran past {timeout_s} s; stderr:\n{_text(late.stderr)}") from None
    assert done.returncode == 0, (
        f"node {script} exited with {done.returncode}; stderr:\n{done.stderr[-8000:]}"
    )
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"node {script} printed no JSON object:\n{done.stdout[-2000:]}") from None


def _text(output: bytes | str | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")[-8000:]
    return (output or "")[-8000:]
