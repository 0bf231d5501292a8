"""Helpers of the Batch API tests: lines in OpenAI's format, a batch run to its end, its output read."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import openai
from openai.types import Batch

FINAL = ("completed", "failed", "cancelled", "expired")


def generation_lines(count: int, **body: Any) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"line-{index:02d}",
            "method": "POST",
            "url": "/v1/images/generations",
            "body": {"prompt": f"a lighthouse, study {index}", "size": "256x256", "quality": "low", **body},
        }
        for index in range(count)
    ]


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(line) for line in lines).encode()


def submit(
    client: openai.OpenAI, lines: list[dict[str, Any]], endpoint: str = "/v1/images/generations"
) -> Batch:
    uploaded = client.files.create(file=("lines.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h")


def wait(
    client: openai.OpenAI, batch_id: str, *, until: tuple[str, ...] = FINAL, timeout_s: float = 120
) -> Batch:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if batch.status in until:
            return batch
        time.sleep(0.25)
    raise TimeoutError(f"batch {batch_id} still {batch.status} after {timeout_s} s")


def read_lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def usage_rows(data_dir: Path, batch_id: str) -> list[tuple[str, int]]:
    """(status, cost in micro-dollars) of every usage row of the batch, from the server's database."""
    database = sqlite3.connect(data_dir / "gazo.db")
    try:
        query = "SELECT status, cost_micros FROM usage WHERE batch_id = ? ORDER BY created_at"
        return [(status, cost) for status, cost in database.execute(query, (batch_id,))]
    finally:
        database.close()
