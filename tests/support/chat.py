"""A small OpenAI-compatible chat completions server (uvicorn in a thread), standing in for the operator's
chat model in the prompt-rewriting tests: no chat model can run on a 2-core CI machine. It answers with
a rewrite anyone can recognise and records what it was sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.support.server import free_port

REWRITE_PREFIX = "A detailed illustration of "


@contextmanager
def chat_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(base URL, the requests it received), while it runs."""
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(body: dict[str, Any]) -> dict[str, Any]:
        received.append(body)
        user = next(message["content"] for message in body["messages"] if message["role"] == "user")
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"{REWRITE_PREFIX}{user}"},
                }
            ],
        }

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1", received
    finally:
        server.should_exit = True
        thread.join(timeout=10)
