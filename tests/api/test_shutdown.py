"""SIGTERM against a real server: what a request still running at the end of the grace period gets."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.configs import slow_tiny
from tests.support.metrics import jobs_taken, wait_for
from tests.support.server import GazoServer

SLOW = {"prompt": "a slow sunrise", "size": "128x128", "quality": "high"}  # 3,000 steps: never finishes


def _post(server: GazoServer) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/images/generations", json=SLOW, timeout=60)


def _stream(server: GazoServer) -> tuple[int, str]:
    fields = {**SLOW, "stream": True, "partial_images": 0}
    url = f"{server.base_url}/v1/images/generations"
    with httpx.stream("POST", url, json=fields, timeout=60) as response:
        return response.status_code, "".join(response.iter_text())


def test_requests_cut_off_at_shutdown_get_503_with_retry_after(shared_data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "gazo.toml"
    config.write_text(slow_tiny(shared_data_dir / "models" / "gazo-tiny-sd"))
    server = GazoServer(tmp_path / "data", config=config, env={"GAZO_SERVER__SHUTDOWN_GRACE_S": "1"})
    with server, ThreadPoolExecutor(2) as pool:
        plain, stream = pool.submit(_post, server), pool.submit(_stream, server)
        assert wait_for(lambda: jobs_taken(server) >= 1)  # one renders, the other waits for it
        assert server.process is not None
        server.process.terminate()
        response, (stream_status, events) = plain.result(timeout=30), stream.result(timeout=30)
        assert server.process.wait(timeout=30) is not None

    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "shutting_down", error
    assert "shutting down" in error["message"]
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-request-id"] in server.log()  # its one log line names it

    assert stream_status == 200  # the stream had started: its end is an error event with the same body
    last = events.strip().split("\n\n")[-1]
    assert last.startswith("event: error\n"), events[-500:]
    assert json.loads(last.split("data: ", 1)[1]) == {"type": "error", **response.json()}

    log = server.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
    assert log.count("cut off before it finished") == 2, log[-3000:]
