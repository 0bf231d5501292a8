"""`gazo serve --ray` on a local Ray cluster: the same API through two ModelWorker replicas.

The gateway meters into a real PostgreSQL database, as a cluster deployment would, so the tests can
hold every response's `usage` against the ledger's rows.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import ray
from sqlalchemy import select

from gazo.store.database import Database
from gazo.store.tables import Usage
from tests.batches.support import generation_lines, submit, wait
from tests.store.databases import temporary_pg_database
from tests.support.credentials import read_credentials, trust_anchor
from tests.support.noise_models import NOISE_MODEL_MODERATION
from tests.support.pixels import centre_mask, changed_pixels, decode_b64, photo, png_bytes
from tests.support.server import GazoServer

CONFIG = (
    NOISE_MODEL_MODERATION
    + """
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
steps = {{ low = 2, medium = 3, high = 500 }}
"""
)


@pytest.fixture(scope="module")
def ledger_url() -> Iterator[str]:
    """An empty PostgreSQL database for the gateway's usage ledger (migrated by `gazo serve`)."""
    with temporary_pg_database() as url:
        yield url


@pytest.fixture(scope="module")
def ray_gazo(
    shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory, ledger_url: str
) -> Iterator[GazoServer]:
    folder = tmp_path_factory.mktemp("ray")
    config = folder / "gazo.toml"
    config.write_text(CONFIG.format(source=shared_data_dir / "models" / "gazo-tiny-sd"))
    env = {"RAY_USAGE_STATS_ENABLED": "0", "GAZO_DATABASE_URL": ledger_url}
    server = GazoServer(folder / "data", config=config, args=("--ray",), env=env)
    try:
        server.start(timeout_s=180)
        # `/readyz` is ready once one replica has its model; a replica takes requests only once its
        # model has loaded, and these tests need both.
        deadline = time.monotonic() + 120
        while len(_served_per_replica()) < 2:
            assert time.monotonic() < deadline, "the second ModelWorker replica never started"
            time.sleep(0.5)
        yield server
    finally:
        server.stop()
        subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True)


def _ledger_rows(url: str, request_ids: list[str]) -> dict[str, Usage]:
    database = Database(url)
    try:
        with database.reading() as session:
            rows = session.scalars(select(Usage).where(Usage.request_id.in_(request_ids))).all()
    finally:
        database.dispose()
    return {row.request_id: row for row in rows}


def _generate(sdk: openai.OpenAI, request_id: str, **fields: object) -> openai.types.ImagesResponse:
    """A request the ledger can find by id; prompt and seed come from its name's index only, so every
    run renders the same pictures (a random tiny-model picture can, rarely, trip the output moderation,
    and the id's random hex, sent as the prompt, once read as self-harm to the prompt classifier)."""
    seed = int(request_id.rsplit("-", 1)[-1])
    return sdk.images.generate(
        prompt=f"a lighthouse at dusk, picture {seed}",
        extra_headers={"X-Request-Id": request_id},
        extra_body={"seed": seed},
        **fields,
    )


def _replica_retries(base_url: str) -> float:
    metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(r"^gazo_replica_retries_total\{[^}]*\} (\S+)$", metrics, re.M))


def test_generations_edits_and_streams_work_through_ray(ray_gazo: GazoServer) -> None:
    sdk = ray_gazo.client(timeout=120)
    result = sdk.images.generate(
        model="gpt-image-1", prompt="a cat", size="256x256", quality="low", n=2, extra_body={"seed": 1}
    )
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
        extra_body={"seed": 3},
    )
    assert changed_pixels(original, decode_b64(edited.data[0].b64_json)[0], where=keep) == 0
    events = list(
        sdk.images.generate(
            prompt="x",
            size="256x256",
            quality="medium",
            stream=True,
            partial_images=1,
            extra_body={"seed": 2},
        )
    )
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ]


def test_batch_lines_spread_over_both_replicas(ray_gazo: GazoServer, ledger_url: str) -> None:
    sdk = ray_gazo.client(timeout=120)
    before = _served_per_replica()
    batch = submit(sdk, generation_lines(12, size="128x128", quality="medium"))
    done = wait(sdk, batch.id, timeout_s=240)
    assert done.status == "completed" and done.request_counts.completed == 12
    after = _served_per_replica()
    assert len(after) == 2 and all(after[name] > before.get(name, 0) for name in after), (before, after)
    database = Database(ledger_url)
    try:
        with database.reading() as session:
            rows = session.scalars(select(Usage).where(Usage.batch_id == batch.id)).all()
    finally:
        database.dispose()
    succeeded = [row for row in rows if row.status == "succeeded"]
    assert len({row.request_id for row in succeeded}) == len(succeeded) == 12  # each line charged once
    assert all(row.cost_micros == 0 for row in rows if row.status != "succeeded")  # refused tries are free


def _served_per_replica() -> dict[str, int]:
    """Jobs each ModelWorker replica has rendered so far."""
    ray.init(address="auto", ignore_reinit_error=True, log_to_driver=False)
    try:
        from ray import serve

        handle = serve.get_deployment_handle("ModelWorker-tiny", app_name="gazo")
        return dict(handle.served.remote().result() for _ in range(20))
    finally:
        ray.shutdown()


def test_requests_spread_over_both_replicas_and_survive_losing_one_mid_load(
    ray_gazo: GazoServer, ledger_url: str
) -> None:
    sdk = ray_gazo.client(timeout=180)
    run = uuid.uuid4().hex[:8]
    quick = [f"quick-{run}-{i}" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        futures = {rid: pool.submit(_generate, sdk, rid, size="128x128", quality="low") for rid in quick}
        responses = {rid: future.result() for rid, future in futures.items()}
    ray.init(address="auto", ignore_reinit_error=True, log_to_driver=False)
    try:
        from ray import serve

        handle = serve.get_deployment_handle("ModelWorker-tiny", app_name="gazo")
        served = dict(handle.served.remote().result() for _ in range(20))
        assert len(served) == 2 and all(count > 0 for count in served.values()), served

        # Four slow jobs (500 steps each: a replica alone on the 2 cores renders one in ~5 s, so they
        # are still running after 1.5 s; 200 steps took ~2 s and once let one finish) fill both
        # replicas; one replica dies while they render.
        slow = [f"slow-{run}-{i}" for i in range(4)]
        with ThreadPoolExecutor(4) as pool:
            pending = {
                rid: pool.submit(_generate, sdk, rid, size="256x256", quality="high", n=1 + i % 2)
                for i, rid in enumerate(slow)
            }
            time.sleep(1.5)
            finished = {rid: future.exception() or "done" for rid, future in pending.items() if future.done()}
            assert not finished, f"the slow jobs were too quick: {finished}"
            replica = next(
                actor
                for actor in ray.util.list_named_actors(all_namespaces=True)
                if "ModelWorker-tiny" in actor["name"]
            )
            ray.kill(ray.get_actor(replica["name"], namespace=replica["namespace"]), no_restart=True)
            responses |= {rid: future.result() for rid, future in pending.items()}
    finally:
        ray.shutdown()
    assert _replica_retries(ray_gazo.base_url) >= 1  # the dead replica's jobs ran again elsewhere
    for rid in slow:
        assert len(responses[rid].data) == 1 + slow.index(rid) % 2

    rows = _ledger_rows(ledger_url, [*quick, *slow])
    assert sorted(rows) == sorted(responses)  # one row per request, none lost with the replica
    for rid, response in responses.items():
        row, usage = rows[rid], response.usage
        assert row.status == "succeeded", (rid, row.status)
        assert row.text_input_tokens == usage.input_tokens_details.text_tokens
        assert row.image_input_tokens == usage.input_tokens_details.image_tokens
        assert row.image_output_tokens == usage.output_tokens
        assert row.cost_micros == (
            5 * row.text_input_tokens + 10 * row.image_input_tokens + 40 * row.image_output_tokens
        )
    for index in range(4):
        result = _generate(sdk, f"after-{run}-{index}", size="128x128", quality="low")
        assert decode_b64(result.data[0].b64_json)[0].size == (128, 128)


def test_full_replicas_and_queues_answer_429(ray_gazo: GazoServer) -> None:
    sdk = ray_gazo.client(timeout=120)

    def attempt(index: int) -> object:
        try:
            stream = sdk.images.generate(
                prompt=f"slow {index}",
                size="256x256",
                quality="high",
                stream=True,
                extra_body={"seed": index},
            )
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


def test_deleting_the_application_drains_requests_in_flight(ray_gazo: GazoServer, ledger_url: str) -> None:
    """Runs last: a redeploy or scale-down lets running jobs finish (and be charged) before replicas go."""
    sdk = ray_gazo.client(timeout=180)
    request_id = f"drained-{uuid.uuid4().hex[:8]}-0"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_generate, sdk, request_id, size="256x256", quality="high")
        time.sleep(1.5)
        assert not pending.done()
        ray.init(address="auto", ignore_reinit_error=True, log_to_driver=False)
        try:
            from ray import serve

            serve.delete("gazo", _blocking=False)
            response = pending.result()
        finally:
            ray.shutdown()
    assert decode_b64(response.data[0].b64_json)[0].size == (256, 256)
    assert _ledger_rows(ledger_url, [request_id])[request_id].status == "succeeded"
