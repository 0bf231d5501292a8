"""Interactive latency while a `/v1/batches` job runs, on the simulated accelerator.

The same interactive load runs twice against one `gazo serve`: on an idle server, then while a
batch of image generations (submitted with the official SDK: `files.create` + `batches.create`)
keeps the accelerator busy. Batch lines are meant to take only the capacity interactive requests
leave, so the interactive p50 (and p90) with the batch running should stay within 10% of the idle
server's (ratio <= 1.10); the batch's own throughput is reported against the accelerator's ideal.

The interactive load is `--users` people, each sending a request and then thinking for a random
time (exponential, mean `--think-s`): it leaves the accelerator idle most of the time, as a real
interactive service does, and arrives at random moments of the batch's forward passes. Both runs use
the same random pattern (`--seed`).

    python -m bench.batch                          # 2 users, 60 s each run, a batch of 400 lines
    python -m bench.batch --users 4 --duration-s 30 --lines 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
from tests.support.server import GazoServer

from bench.simulated import Ideal

SETUP_S, PER_IMAGE_S, MAX_BATCH = Ideal.setup_s, Ideal.per_image_s, Ideal.max_batch
CONFIG = f"""
[engine]
queue_size = 256
[[models]]
name = "sim"
backend = "simulated"
source = "simulated"
[models.options]
setup_s = {SETUP_S}
per_image_s = {PER_IMAGE_S}
max_batch_images = {MAX_BATCH}
default_quality = "low"
"""
TARGET = 1.10


@dataclass(frozen=True)
class Latencies:
    requests: int
    p50_s: float
    p90_s: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latencies:
        ordered = sorted(seconds)
        return cls(len(ordered), statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))])


async def interactive_load(base_url: str, args: argparse.Namespace) -> Latencies:
    """`args.users` users for `args.duration_s`: request, think, request..., latencies of each."""
    latencies: list[float] = []
    end = time.monotonic() + args.duration_s
    sdk = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="bench", max_retries=0, timeout=600)

    async def user(rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, args.think_s))  # users do not start in step
        while time.monotonic() < end:
            started = time.perf_counter()
            result = await sdk.images.generate(
                model="sim", prompt="an interactive lighthouse", size=args.size, quality="low"
            )
            assert result.data and result.data[0].b64_json
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(rng.expovariate(1 / args.think_s))

    async with sdk:
        await asyncio.gather(*(user(random.Random(args.seed + index)) for index in range(args.users)))
    return Latencies.of(latencies)


def batch_lines(count: int, size: str) -> bytes:
    """`count` image generations in the Batch API's input format, one JSON object a line."""
    lines = (
        {
            "custom_id": f"line-{index}",
            "method": "POST",
            "url": "/v1/images/generations",
            "body": {"model": "sim", "prompt": f"a batch lighthouse {index}", "size": size, "quality": "low"},
        }
        for index in range(count)
    )
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def submit_batch(sdk: openai.OpenAI, lines: int, size: str) -> str:
    uploaded = sdk.files.create(file=("lines.jsonl", batch_lines(lines, size)), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/images/generations", completion_window="24h"
    )
    return batch.id


def lines_done(sdk: openai.OpenAI, batch_id: str) -> tuple[str, int]:
    batch = sdk.batches.retrieve(batch_id)
    counts = batch.request_counts
    return batch.status, (counts.completed + counts.failed) if counts else 0


def wait_for_batch(sdk: openai.OpenAI, batch_id: str, timeout_s: float) -> openai.types.Batch:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
        time.sleep(0.5)
    raise TimeoutError(f"batch {batch_id} did not finish within {timeout_s} s")


def check_batches_route(base_url: str) -> None:
    """Fail early, and say so, when this gazo does not serve the Batch API yet."""
    answer = httpx.get(f"{base_url}/v1/batches", headers={"Authorization": "Bearer bench"}, timeout=10)
    if answer.status_code in (404, 405):
        raise SystemExit(f"this gazo does not serve /v1/batches yet ({answer.status_code} {answer.text})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--think-s", type=float, default=1.5, help="mean pause between a user's requests")
    parser.add_argument("--duration-s", type=float, default=60.0, help="length of each interactive run")
    parser.add_argument("--lines", type=int, default=400, help="lines in the batch")
    parser.add_argument("--size", default="512x512")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "gazo-bench")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    config = args.work / "batch.toml"
    config.write_text(CONFIG)
    ideal = Ideal()
    print(
        f"== batch vs interactive, simulated accelerator: a pass of n <= {MAX_BATCH} takes "
        f"{SETUP_S} + {PER_IMAGE_S}*n s; {args.users} users thinking {args.think_s} s on average =="
    )
    with GazoServer(args.work / "data-batch", config=config) as server:
        check_batches_route(server.base_url)
        sdk = server.client(api_key="bench", timeout=600)
        asyncio.run(interactive_load(server.base_url, argparse.Namespace(**{**vars(args), "duration_s": 3})))
        idle = asyncio.run(interactive_load(server.base_url, args))
        started = time.monotonic()
        batch_id = submit_batch(sdk, args.lines, args.size)
        time.sleep(2.0)  # the batch is under way before the interactive users come back
        busy = asyncio.run(interactive_load(server.base_url, args))
        status, done_meanwhile = lines_done(sdk, batch_id)
        during_s = time.monotonic() - started
        batch = wait_for_batch(sdk, batch_id, timeout_s=args.lines * ideal.latency() * 2 + 600)
        total_s = time.monotonic() - started
    counts = batch.request_counts
    print(f"{'':<22}{'requests':>9}{'p50 s':>9}{'p90 s':>9}")
    print(f"{'idle server':<22}{idle.requests:>9}{idle.p50_s:>9.3f}{idle.p90_s:>9.3f}")
    print(f"{'while a batch runs':<22}{busy.requests:>9}{busy.p50_s:>9.3f}{busy.p90_s:>9.3f}")
    p50_ratio, p90_ratio = busy.p50_s / idle.p50_s, busy.p90_s / idle.p90_s
    verdict = "ok" if p50_ratio <= TARGET else f"over the {TARGET:.2f} target"
    print(
        f"interactive latency with the batch / idle: p50 {p50_ratio:.2f}x ({verdict}), p90 {p90_ratio:.2f}x"
    )
    ideal_rate = ideal.images_per_s(MAX_BATCH)
    print(
        f"batch {batch.status}: {counts.completed if counts else '?'} of {args.lines} lines ok, "
        f"{counts.failed if counts else '?'} failed; {done_meanwhile} done while users were active "
        f"({done_meanwhile / during_s:.2f} img/s, status then {status}); "
        f"{args.lines / total_s:.2f} img/s overall (ideal on an idle accelerator: {ideal_rate:.2f})"
    )


if __name__ == "__main__":
    main()
