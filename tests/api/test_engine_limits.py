"""Backpressure, timeouts and cancellation as a client sees them, against a real server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.configs import slow_tiny
from tests.support.metrics import jobs_taken, metric, wait_for
from tests.support.server import GazoServer


@pytest.fixture(scope="module")
def slow_server(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    folder = tmp_path_factory.mktemp("slow")
    config = folder / "gazo.toml"
    config.write_text(slow_tiny(shared_data_dir / "models" / "gazo-tiny-sd"))
    with GazoServer(folder / "data", config=config) as running:
        running.client().images.generate(prompt="warm-up", size="64x64", quality="low")
        yield running


def outcome_count(server: GazoServer, outcome: str) -> float:
    return metric(server, "gazo_jobs_total", f'model="slow-tiny",outcome="{outcome}"')


def outcomes(server: GazoServer) -> dict[str, float]:
    return {name: outcome_count(server, name) for name in ("ok", "cancelled", "error")}


def log_tail(server: GazoServer) -> str:
    """The server's log without the metrics polling, to tell what became of a job."""
    return "\n".join(line for line in server.log().splitlines() if "/metrics" not in line)[-4000:]


@pytest.mark.parametrize("hang_up_after_s", [0.0, 0.05, 0.1, 0.2, 0.3, 0.5])
def test_a_client_that_hangs_up_cancels_its_job(slow_server: GazoServer, hang_up_after_s: float) -> None:
    """Hang-ups land at different steps: a cancellation arriving as a step's event does must hold too."""
    before, taken = outcomes(slow_server), jobs_taken(slow_server)
    body = json.dumps({"prompt": "x", "size": "128x128", "quality": "medium"}).encode()
    head = (
        f"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", slow_server.port), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        # hang up only once the model is rendering it: the job was paid for and is mid-way
        assert wait_for(lambda: jobs_taken(slow_server) == taken + 1)
        time.sleep(hang_up_after_s)
    cancelled = wait_for(lambda: outcome_count(slow_server, "cancelled") == before["cancelled"] + 1)
    assert cancelled, f"before {before}, now {outcomes(slow_server)}; server log:\n{log_tail(slow_server)}"
    assert outcomes(slow_server)["ok"] == before["ok"]  # it did not run to its end


def test_a_stream_closed_mid_way_cancels_its_job(slow_server: GazoServer) -> None:
    before = outcome_count(slow_server, "cancelled")
    stream = slow_server.client().images.generate(
        prompt="x", size="128x128", quality="medium", stream=True, partial_images=3
    )
    first = next(iter(stream))
    assert first.type == "image_generation.partial_image"
    stream.close()
    assert wait_for(lambda: outcome_count(slow_server, "cancelled") == before + 1)


def test_a_request_past_the_time_limit_gets_504_and_is_cancelled(slow_server: GazoServer) -> None:
    response = httpx.post(
        f"{slow_server.base_url}/v1/images/generations",
        # 256x256 at 3,000 steps renders for a minute or more, far past the 15 s limit however idle
        # the machine (at 128x128 an idle one could finish first)
        json={"prompt": "x", "size": "256x256", "quality": "high"},
        timeout=30,
    )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert wait_for(
        lambda: httpx.get(f"{slow_server.base_url}/readyz").json()["queue_depth"]["slow-tiny"] == 0
    )


def test_a_full_queue_answers_429_with_retry_after_at_once(slow_server: GazoServer) -> None:
    client = slow_server.client()
    held, refused = [], None
    for index in range(4):  # one running + one queued fill this model (queue_size = 1)
        started = time.monotonic()
        try:
            held.append(
                client.images.generate(prompt=f"p{index}", size="128x128", quality="high", stream=True)
            )
        except openai.RateLimitError as error:
            refused = error
            break
        finally:
            waited = time.monotonic() - started
    for stream in held:
        stream.close()
    assert refused is not None and len(held) <= 2, "the queue never filled"
    assert waited < 5.0  # the jobs ahead of it need minutes: it was not left waiting
    assert refused.response.headers["retry-after"] == "3"
    assert refused.code == "queue_full"
