"""A real gazo app with the playground router, run by uvicorn in a thread (tests and manual runs).

`create_app` includes the playground once the router is wired in `gazo.api.app`; until then (and
harmlessly after) this adds `gazo.api.routes.web.router` itself. Run it by hand to look at the page:
`python -m tests.web.serve --port 8000 --data-dir /tmp/gazo-data`.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from gazo.api.app import create_app
from gazo.api.routes import web
from gazo.settings import Settings
from tests.support.server import free_port


def playground_app(data_dir: Path) -> FastAPI:
    app = create_app(Settings.load(None, data_dir=data_dir))
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        app.include_router(web.router)
    return app


@contextmanager
def running_playground(data_dir: Path, port: int | None = None, timeout_s: float = 120.0) -> Iterator[str]:
    """Serve on 127.0.0.1 until the block ends; yields the base URL once `/readyz` answers 200."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = uvicorn.Config(playground_app(data_dir), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="gazo-playground", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, thread, timeout_s)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_ready(base_url: str, thread: threading.Thread, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the playground server stopped while starting")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the playground server was not ready after {timeout_s} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/gazo-playground"))
    arguments = parser.parse_args()
    with running_playground(arguments.data_dir, arguments.port) as url:
        print(f"playground at {url}/", flush=True)
        threading.Event().wait()
