"""`GET /v1/models` and the health endpoints."""

from __future__ import annotations

import httpx
import openai
import pytest

from gazo.settings import OPENAI_IMAGE_MODELS
from tests.support.server import GazoServer


def test_models_lists_real_models_and_openai_aliases(server: GazoServer) -> None:
    models = {model.id: model for model in server.client().models.list()}
    assert "gazo-tiny-sd" in models
    for name in OPENAI_IMAGE_MODELS:
        assert models[name].model_extra["alias_of"] == "gazo-tiny-sd"
    assert "StableDiffusionPipeline" in models["gazo-tiny-sd"].model_extra["description"]


def test_retrieve_model_and_unknown_model(server: GazoServer) -> None:
    client = server.client()
    assert client.models.retrieve("gpt-image-1").id == "gpt-image-1"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_health_ready_and_metrics(server: GazoServer) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.base_url}/readyz").json()
    assert ready["ready"] is True and ready["models"] == {"gazo-tiny-sd": "ready"}
    server.client().images.generate(prompt="x", size="64x64", quality="low")
    metrics = httpx.get(f"{server.base_url}/metrics").text
    assert 'gazo_jobs_total{model="gazo-tiny-sd",outcome="ok"}' in metrics
    assert "gazo_queue_depth" in metrics
