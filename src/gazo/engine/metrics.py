"""Prometheus metrics of the engine, on a registry of their own so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class EngineMetrics:
    """Queue depth, wait and render times, outcomes; exported on `/metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge(
            "gazo_queue_depth", "Jobs waiting per model.", ["model"], registry=self.registry
        )
        self.queue_wait = Histogram(
            "gazo_queue_wait_seconds",
            "Time a job waited before its model took it.",
            ["model"],
            registry=self.registry,
        )
        self.batch_queue_depth = Gauge(
            "gazo_batch_queue_depth",
            "Batch lines (/v1/batches) waiting per model, behind every interactive job.",
            ["model"],
            registry=self.registry,
        )
        self.batch_queue_wait = Histogram(
            "gazo_batch_queue_wait_seconds",
            "Time a batch line waited before its model took it (again, after making way).",
            ["model"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=self.registry,
        )
        self.made_way = Counter(
            "gazo_batch_made_way",
            "Batch lines that left a forward pass at a step for an interactive job, to run again.",
            ["model"],
            registry=self.registry,
        )
        self.render_seconds = Histogram(
            "gazo_render_seconds", "Time a model spent on a job.", ["model"], registry=self.registry
        )
        self.batch_size = Histogram(
            "gazo_batch_size",
            "Jobs per forward pass.",
            ["model"],
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32),
            registry=self.registry,
        )
        self.jobs = Counter(
            "gazo_jobs", "Jobs by model and outcome.", ["model", "outcome"], registry=self.registry
        )
        self.rejected = Counter(
            "gazo_rejected", "Jobs refused because the queue was full.", ["model"], registry=self.registry
        )
        self.replica_retries = Counter(
            "gazo_replica_retries",
            "Jobs run again because the replica running them died (Ray).",
            ["model"],
            registry=self.registry,
        )
        self.model_loads = Counter(
            "gazo_model_loads",
            "Loads of a model's weights (at start or on demand).",
            ["model"],
            registry=self.registry,
        )
        self.model_load_seconds = Histogram(
            "gazo_model_load_seconds",
            "Time a model's load took.",
            ["model"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.model_unloads = Counter(
            "gazo_model_unloads",
            "Unloads of a model: `evicted` for another model's room, `keep_alive` after idling.",
            ["model", "reason"],
            registry=self.registry,
        )
        self.model_unload_seconds = Histogram(
            "gazo_model_unload_seconds",
            "Time a model's unload took.",
            ["model"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30),
            registry=self.registry,
        )
        self.model_memory = Gauge(
            "gazo_model_memory_bytes",
            "Memory a model's loaded weights take (0 unloaded).",
            ["model"],
            registry=self.registry,
        )
        self.memory_budget = Gauge(
            "gazo_memory_budget_bytes",
            "Memory the models' weights may take per device.",
            ["device"],
            registry=self.registry,
        )
        self.requests = Counter(
            "gazo_requests",
            "API requests by operation and status.",
            ["operation", "status"],
            registry=self.registry,
        )

    def export(self) -> bytes:
        return generate_latest(self.registry)
