"""Backpressure, timeouts and cancellation as a client sees them, against a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.server import GazoServer

CONFIG = """
[server]
request_timeout_s = 15.0

[engine]
queue_size = 1
retry_after_s = 3

[[models]]
name = "slow-tiny"
backend = "tiny"
source = "{source}"
[models.options]
steps = {{ low = 2, medium = 1000, high = 3000 }}
"""


@pytest.fixture(scope="module")
def slow_server(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    folder = tmp_path_factory.mktemp("slow")
    config = folder / "gazo.toml"
    config.write_text(CONFIG.format(source=shared_data_dir / "models" / "gazo-tiny-sd"))
    with GazoServer(folder / "data", config=config) as running:
        running.client().images.generate(prompt="warm-up", size="64x64", quality="low")
        yield running


def outcome_count(server: GazoServer, outcome: str) -> float:
    metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    prefix = f'gazo_jobs_total{{model="slow-tiny",outcome="{outcome}"}} '
    return next((float(line[len(prefix) :]) for line in metrics.splitlines() if line.startswith(prefix)), 0.0)


def wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_client_that_hangs_up_cancels_its_job(slow_server: GazoServer) -> None:
    before = outcome_count(slow_server, "cancelled")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{slow_server.base_url}/v1/images/generations",
            json={"prompt": "x", "size": "128x128", "quality": "medium"},
            timeout=httpx.Timeout(10, read=1.0),  # gone mid-render, well after the job was paid for
        )
    assert wait_for(lambda: outcome_count(slow_server, "cancelled") == before + 1)


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
        json={"prompt": "x", "size": "128x128", "quality": "high"},
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
