"""GazoServer: the real `gazo serve` in a subprocess on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import openai


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(
    base_url: str, process: subprocess.Popen[bytes], timeout_s: float, log: Callable[[], str]
) -> None:
    """Poll `/readyz` until 200; fail early when the process exits or a model fails to load."""
    _poll(base_url, "/readyz", process, timeout_s, log, "the server was not ready")


def wait_until_listening(
    base_url: str, process: subprocess.Popen[bytes], timeout_s: float, log: Callable[[], str]
) -> None:
    """Poll `/healthz` until 200: the server answers, its models may still be loading."""
    _poll(base_url, "/healthz", process, timeout_s, log, "the server did not answer")


def _poll(
    base_url: str,
    path: str,
    process: subprocess.Popen[bytes],
    timeout_s: float,
    log: Callable[[], str],
    late: str,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log()[-5000:]}")
        try:
            answer = httpx.get(f"{base_url}{path}", timeout=2)
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 200:
            return
        models = _models_of(answer)
        if any(str(state).startswith("failed") for state in models.values()):
            raise RuntimeError(f"a model failed to load: {models}\n{log()[-5000:]}")
        time.sleep(0.2)
    raise TimeoutError(f"{late} after {timeout_s} s:\n{log()[-5000:]}")


def _models_of(ready: httpx.Response | None) -> dict[str, object]:
    """Model states from a `/readyz` body; empty while a proxy (Ray) still answers without JSON."""
    try:
        body = ready.json() if ready is not None else {}
    except ValueError:
        return {}
    return body.get("models", {}) if isinstance(body, dict) else {}


class GazoServer:
    """Starts `python -m gazo serve`, waits for `/readyz`, and stops it on exit."""

    def __init__(
        self,
        data_dir: Path,
        *,
        config: Path | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.config = config
        self.args = args
        self.env = env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0, *, wait_for_models: bool = True) -> GazoServer:
        """Start, then wait until every model has loaded (or, without `wait_for_models`, only until the
        server answers, to test what it does while its models load)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "gazo",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        command += self.args
        env = {**os.environ, "HF_HUB_OFFLINE": "1", **self.env}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait = wait_until_ready if wait_for_models else wait_until_listening
            wait(self.base_url, self.process, timeout_s, self.log)
        except (RuntimeError, TimeoutError):
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a pulled plug would: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()  # reaped, so its PID no longer looks alive

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, api_key: str = "gz-test", **kwargs: object) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=api_key, max_retries=0, **kwargs)

    def async_client(self, api_key: str = "gz-test", **kwargs: object) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.base_url}/v1", api_key=api_key, max_retries=0, **kwargs)

    def __enter__(self) -> GazoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
