"""gazo on Ray Serve: one `ModelWorker` deployment per model (GPU replicas), and a `Gateway` ingress.

The gateway builds the very same FastAPI app (`create_app`) around the very same `ImageService`
(moderation, billing and provenance stay in the request path); only the engine differs, a
`RayEngine` over the workers' handles. Replicas rebuild `Settings` from a serialised copy.

    gazo serve --ray [--address auto]                       # start or join a cluster and deploy
    serve run gazo.deploy.ray_serve:build config=gazo.toml  # Ray's own CLI / KubeRay RayService
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import ray
from ray import serve
from ray.serve.handle import DeploymentHandle

from gazo.api.app import create_app
from gazo.engine.base import ModelInfo
from gazo.engine.local import BATCH_PASSES_AHEAD
from gazo.engine.metrics import EngineMetrics
from gazo.engine.ray import RayEngine
from gazo.jobs import Job, Priority, Progress, RenderedImage
from gazo.service import ImageService
from gazo.service.compose import build_local_engine, build_registry
from gazo.settings import ModelSpec, RaySettings, Settings

#: Images a batch pass is assumed to carry when a model's `max_batch_images` is not configured.
DEFAULT_BATCH_IMAGES = 8


class ModelWorker:
    """Holds one model's backend (loaded once per replica) behind a bounded in-process engine."""

    def __init__(self, settings_data: dict[str, Any], model_name: str) -> None:
        settings = Settings(**settings_data)
        # The gateway admits interactive requests up to what the replicas can hold (their slots plus
        # Ray's queue, `in_flight_capacity`), and each replica has batch slots besides: the local line
        # must hold every interactive request Ray may route here, so that the gateway's count and
        # Ray's backpressure (429 at the gateway) are the ones that decide.
        queue_size = max(settings.engine.queue_size, in_flight_capacity(settings.ray))
        settings = settings.model_copy(
            update={"engine": settings.engine.model_copy(update={"queue_size": queue_size})}
        )
        self.name = model_name
        self.engine = build_local_engine(settings, [_spec(settings, model_name)])
        self.engine.launch()
        self.jobs_served = 0
        # Ray routes to a replica once its constructor returns: return only with the model loaded (or
        # failed: `check_health` then has Ray replace it), or requests would queue on a replica that
        # cannot take them yet while its loaded siblings idle, and Ray's queue would answer 429.
        while not self.engine.health().ready and not self.state().startswith("failed"):
            time.sleep(0.05)

    def served(self) -> tuple[str, int]:
        """(replica id, jobs rendered): lets operators and tests see how load spreads."""
        return serve.get_replica_context().replica_id.unique_id, self.jobs_served

    def state(self) -> str:
        return self.engine.health().models[self.name]

    def info(self) -> ModelInfo:
        return self.engine.resolve(self.name)

    async def render(
        self, job: Job, priority: Priority = "interactive"
    ) -> AsyncIterator[Progress | RenderedImage]:
        """`priority` orders this replica's own work: batch lines run behind its interactive jobs."""
        self.jobs_served += 1
        async for event in self.engine.render(job, priority=priority):
            yield event

    def check_health(self) -> None:
        """Ray restarts a replica whose backend failed to load."""
        if self.state().startswith("failed"):
            raise RuntimeError(f"model {self.name} is broken: {self.state()}")


class Gateway:
    """The HTTP ingress: `create_app` with an `ImageService` whose engine is a `RayEngine`."""

    def __init__(self, settings_data: dict[str, Any], workers: dict[str, DeploymentHandle]) -> None:
        self.settings = Settings(**settings_data)
        self.workers = workers

    def __serve_build_asgi_app__(self) -> Any:
        registry, capacity = build_registry(self.settings), in_flight_capacity(self.settings.ray)
        replicas = self.settings.ray.num_replicas or max(1, self.settings.ray.min_replicas)
        batch = {spec.name: replicas * batch_slots(spec) for spec in self.settings.served_models()}
        engine = RayEngine(registry, self.workers, self.settings.engine, EngineMetrics(), capacity, batch)
        return create_app(self.settings, service=ImageService.from_settings(self.settings, engine))


def in_flight_capacity(options: RaySettings) -> int:
    """Requests one model's replicas hold at once: each runs `max_ongoing_requests`, and Ray queues
    `max_queued_requests` more per caller (this gateway); autoscaling counts its upper bound."""
    replicas = options.num_replicas or options.max_replicas
    return options.max_ongoing_requests * replicas + options.max_queued_requests


def batch_slots(spec: ModelSpec) -> int:
    """Batch lines one replica holds besides its `max_ongoing_requests`: two passes of the model's
    configured batch limit (one rendering, one queued), or of `DEFAULT_BATCH_IMAGES` when the limit
    is left to the device the replica finds."""
    return BATCH_PASSES_AHEAD * int(spec.options.get("max_batch_images") or DEFAULT_BATCH_IMAGES)


def _spec(settings: Settings, name: str) -> ModelSpec:
    """A replica exists to serve its one model: it loads at once and stays (Ray's autoscaling, down to
    `min_replicas = 0`, is what gives the memory back there, not `keep_alive`)."""
    spec = next(spec for spec in settings.served_models() if spec.name == name)
    return spec.model_copy(update={"preload": True, "keep_alive": None})


def build_application(settings: Settings) -> serve.Application:
    """The Ray Serve application: a worker deployment per model, bound into the gateway."""
    data = settings.model_dump(mode="json")
    options = settings.ray
    scaling: dict[str, Any] = (
        {"num_replicas": options.num_replicas}
        if options.num_replicas
        else {
            "autoscaling_config": {
                "min_replicas": options.min_replicas,
                "max_replicas": options.max_replicas,
                "target_ongoing_requests": options.target_ongoing_requests,
            }
        }
    )
    # `deployment()(cls)`, not `deployment(cls)`: the same at run time, and the form Ray's overloads type
    worker = serve.deployment()(ModelWorker)
    workers = {
        spec.name: worker.options(
            name=f"ModelWorker-{spec.name}",
            ray_actor_options={"num_cpus": options.num_cpus, "num_gpus": options.num_gpus},
            max_ongoing_requests=options.max_ongoing_requests + batch_slots(spec),
            max_queued_requests=options.max_queued_requests,
            health_check_period_s=5,
            # A replica being retired (scale-down, redeploy) finishes its jobs first: none outlives this.
            graceful_shutdown_timeout_s=settings.server.request_timeout_s,
            **scaling,
        ).bind(data, spec.name)
        for spec in settings.served_models()
    }
    gateway = serve.deployment()(serve.ingress()(Gateway))
    return gateway.options(
        name="Gateway",
        ray_actor_options={"num_cpus": options.num_cpus},
        max_ongoing_requests=256,
        graceful_shutdown_timeout_s=settings.server.request_timeout_s,
    ).bind(data, workers)


def build(args: dict[str, str]) -> serve.Application:
    """Builder for `serve run gazo.deploy.ray_serve:build [config=FILE] [data_dir=DIR]`."""
    settings = Settings.load(
        args.get("config"), data_dir=Path(args["data_dir"]) if "data_dir" in args else None
    )
    return build_application(settings)


def run(settings: Settings) -> None:
    """`gazo serve --ray`: start (or join) a cluster, deploy, and serve until interrupted."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ray.init(
        address=settings.ray.address,
        include_dashboard=False,
        object_store_memory=None if settings.ray.address else settings.ray.object_store_memory,
        ignore_reinit_error=True,
    )
    serve.start(http_options={"host": settings.server.host, "port": settings.server.port})
    serve.run(build_application(settings), name="gazo", route_prefix="/", blocking=True)
