"""Time to a 429 in a burst: gazo with a full queue vs a bare FastAPI app that refuses at once.

A slow tiny-SD model renders one job while two wait (`queue_size = 2`), so every request of a burst
must be refused. The burst is sent by a raw asyncio client (connections opened first, then every
request written at once) so the client's own cost stays out of the figures; the same client against
a one-route FastAPI app that answers 429 at once gives the floor this machine allows. Prints p50,
p95 and the slowest, per run, and gazo's p95 as a ratio to the floor's.

    python -m bench.overload                      # a burst of 200, 3 runs each
    python -m bench.overload --burst 300 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.billing.servers import create_key
from tests.support.configs import slow_tiny
from tests.support.server import GazoServer, free_port

from gazo.backends.tiny import save_tiny_pipeline

#: The floor: FastAPI on uvicorn answering every generation with OpenAI's 429 at once.
FLOOR_APP = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse
app = FastAPI()
@app.post("/v1/images/generations")
async def refuse() -> JSONResponse:
    body = {"error": {"message": "full", "type": "server_error", "param": None, "code": "queue_full"}}
    return JSONResponse(body, status_code=429, headers={"retry-after": "5"})
"""


def request_bytes(secret: str) -> bytes:
    body = json.dumps({"prompt": "a burst", "size": "64x64", "quality": "medium"}).encode()
    head = (
        f"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def burst(port: int, payload: bytes, count: int) -> list[tuple[int, float]]:
    """(status, seconds from writing the request to reading its status line) per request."""
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    await asyncio.sleep(0.3)

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, float]:
        started = time.monotonic()
        writer.write(payload)
        await writer.drain()
        status_line = await reader.readline()
        elapsed = time.monotonic() - started
        await reader.read()
        writer.close()
        return int(status_line.split()[1]), elapsed

    return await asyncio.gather(*(one(reader, writer) for reader, writer in connections))


def report(name: str, results: list[tuple[int, float]]) -> float:
    waits = sorted(seconds for _, seconds in results)
    p95 = waits[int(0.95 * (len(waits) - 1))]
    statuses = sorted({status for status, _ in results})
    print(
        f"  {name:<6} statuses {statuses}  p50 {statistics.median(waits) * 1000:5.0f} ms  "
        f"p95 {p95 * 1000:5.0f} ms  slowest {waits[-1] * 1000:5.0f} ms",
        flush=True,
    )
    return p95


def fill_queue(server: GazoServer, secret: str) -> list[socket.socket]:
    """One long job rendering and two waiting (sizes that cannot share a batch)."""
    connections = []
    for size in ("256x256", "128x128", "64x64"):
        body = json.dumps({"prompt": "a kite", "quality": "high", "size": size}).encode()
        head = (
            f"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        connection = socket.create_connection(("127.0.0.1", server.port))
        connection.sendall(head.encode() + body)
        connections.append(connection)
        time.sleep(1.0)
    return connections


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        save_tiny_pipeline("sd", root / "tiny-sd")
        config = root / "gazo.toml"
        slow = {"request_timeout_s": 600.0, "queue_size": 2, "medium_steps": 40, "high_steps": 5000}
        config.write_text(slow_tiny(root / "tiny-sd", **slow))
        floor_port = free_port()
        (root / "floor_app.py").write_text(FLOOR_APP)
        floor = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "floor_app:app", f"--port={floor_port}", "--log-level=error"],
            cwd=root,
        )
        try:
            wait_until_ready_floor(floor_port)
            with GazoServer(root / "data", config=config, args=("--require-auth",)) as server:
                secret = create_key(server, "bench").secret
                fillers = fill_queue(server, secret)
                payload = request_bytes(secret)
                print(f"burst of {args.burst}, {args.runs} runs (gazo: a full queue; floor: bare FastAPI)")
                for run in range(args.runs):
                    print(f"run {run + 1}")
                    gazo = report("gazo", asyncio.run(burst(server.port, payload, args.burst)))
                    bare = report("floor", asyncio.run(burst(floor_port, payload, args.burst)))
                    print(f"  gazo p95 / floor p95 = {gazo / bare:.2f}x", flush=True)
                for connection in fillers:
                    connection.close()
        finally:
            floor.terminate()
            floor.wait()


def wait_until_ready_floor(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("the floor app did not start")


if __name__ == "__main__":
    main()
