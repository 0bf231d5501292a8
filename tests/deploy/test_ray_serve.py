"""`gazo serve --ray` on a local Ray cluster: the same API through two ModelWorker replicas."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import ray

from tests.api.test_edits import centre_mask, photo
from tests.support.credentials import read_credentials, trust_anchor
from tests.support.pixels import changed_pixels, decode_b64, png_bytes
from tests.support.server import GazoServer

CONFIG = """
[ray]
num_replicas = 2
num_cpus = 0
max_ongoing_requests = 2
max_queued_requests = 3
object_store_memory = 100000000

[engine]
queue_size = 1

[[models]]
name = "tiny"
backend = "tiny"
source = "{source}"
aliases = ["gpt-image-1"]
[models.options]
steps = {{ low = 2, medium = 3, high = 200 }}
"""


@pytest.fixture(scope="module")
def ray_gazo(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    folder = tmp_path_factory.mktemp("ray")
    config = folder / "gazo.toml"
    config.write_text(CONFIG.format(source=shared_data_dir / "models" / "gazo-tiny-sd"))
    server = GazoServer(folder / "data", config=config, args=("--ray",), env={"RAY_USAGE_STATS_ENABLED": "0"})
    try:
        yield server.start(timeout_s=180)
    finally:
        server.stop()
        subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True)


def test_generations_edits_and_streams_work_through_ray(ray_gazo: GazoServer) -> None:
    sdk = ray_gazo.client(timeout=120)
    result = sdk.images.generate(model="gpt-image-1", prompt="a cat", size="256x256", quality="low", n=2)
    assert [decode_b64(item.b64_json)[0].size for item in result.data] == [(256, 256), (256, 256)]
    assert result.usage.output_tokens == 2 * 20
    anchor = trust_anchor(ray_gazo.base_url)
    assert read_credentials(decode_b64(result.data[0].b64_json)[1], anchor)[0] == "Trusted"
    original = photo()
    mask, keep = centre_mask(256, 256, (64, 64, 192, 192))
    edited = sdk.images.edit(
        image=("p.png", png_bytes(original), "image/png"),
        mask=("m.png", png_bytes(mask), "image/png"),
        prompt="x",
        quality="low",
    )
    assert changed_pixels(original, decode_b64(edited.data[0].b64_json)[0], where=keep) == 0
    events = list(
        sdk.images.generate(prompt="x", size="256x256", quality="medium", stream=True, partial_images=1)
    )
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ]


def test_requests_spread_over_both_replicas_and_survive_losing_one(ray_gazo: GazoServer) -> None:
    sdk = ray_gazo.client(timeout=120)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda i: sdk.images.generate(prompt=f"p{i}", size="128x128", quality="low"), range(8))
        )
    assert len(results) == 8
    ray.init(address="auto", ignore_reinit_error=True, log_to_driver=False)
    try:
        from ray import serve

        handle = serve.get_deployment_handle("ModelWorker-tiny", app_name="gazo")
        served = dict(handle.served.remote().result() for _ in range(20))
        assert len(served) == 2 and all(count > 0 for count in served.values()), served
        replica = next(
            actor
            for actor in ray.util.list_named_actors(all_namespaces=True)
            if "ModelWorker-tiny" in actor["name"]
        )
        ray.kill(ray.get_actor(replica["name"], namespace=replica["namespace"]), no_restart=True)
    finally:
        ray.shutdown()
    for index in range(4):
        result = sdk.images.generate(prompt=f"after {index}", size="128x128", quality="low")
        assert decode_b64(result.data[0].b64_json)[0].size == (128, 128)


def test_full_replicas_and_queues_answer_429(ray_gazo: GazoServer) -> None:
    import openai

    sdk = ray_gazo.client(timeout=120)

    def attempt(index: int) -> object:
        try:
            stream = sdk.images.generate(prompt=f"slow {index}", size="256x256", quality="high", stream=True)
        except openai.RateLimitError as error:
            return error
        time.sleep(1.0)
        stream.close()
        return None

    with ThreadPoolExecutor(14) as pool:
        outcomes = list(pool.map(attempt, range(14)))
    refused = [outcome for outcome in outcomes if isinstance(outcome, openai.RateLimitError)]
    assert refused, "14 concurrent slow requests never filled two replicas and their queues"
    assert all(error.response.headers.get("retry-after") for error in refused)
    assert len(refused) < 14
