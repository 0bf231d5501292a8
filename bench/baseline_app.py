"""The baseline a user would write: a plain diffusers loop behind a minimal FastAPI app.

One request at a time (a lock around the pipeline), PNG-encoded, base64 in an OpenAI-shaped body,
so the benchmark can drive it with the same openai SDK calls as gazo.
Run: python bench/baseline_app.py MODEL_FOLDER PORT STEPS
"""

from __future__ import annotations

import asyncio
import base64
import io
import sys
import time

import torch
import uvicorn
from diffusers import DiffusionPipeline
from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    prompt: str
    n: int = 1
    size: str = "256x256"
    model: str | None = None
    quality: str | None = None


def build_app(folder: str, steps: int) -> FastAPI:
    pipe = DiffusionPipeline.from_pretrained(folder, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    lock = asyncio.Lock()
    app = FastAPI()

    def render(body: Body) -> list[str]:
        width, height = (int(part) for part in body.size.split("x"))
        images = pipe(
            body.prompt, num_inference_steps=steps, height=height, width=width, num_images_per_prompt=body.n
        ).images
        encoded = []
        for image in images:
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            encoded.append(base64.b64encode(buffer.getvalue()).decode())
        return encoded

    @app.get("/readyz")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.post("/v1/images/generations")
    async def generate(body: Body) -> dict[str, object]:
        async with lock:
            encoded = await asyncio.to_thread(render, body)
        return {"created": int(time.time()), "data": [{"b64_json": b64} for b64 in encoded]}

    return app


if __name__ == "__main__":
    model_folder, port, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    uvicorn.run(build_app(model_folder, steps), host="127.0.0.1", port=port, log_level="warning")
