"""A batch as openai-python's `Batch` reads it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gazo.service.batches import BatchView

_MOMENTS = ("in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled")


def batch_object(view: BatchView) -> dict[str, Any]:
    batch, counts = view.batch, view.counts
    body: dict[str, Any] = {
        "id": batch.id,
        "object": "batch",
        "endpoint": batch.endpoint,
        "errors": json.loads(batch.errors_json) if batch.errors_json else None,
        "input_file_id": batch.input_file_id,
        "completion_window": batch.completion_window,
        "status": batch.status,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "created_at": _seconds(batch.created_at),
        "expires_at": _seconds(batch.expires_at),
        "request_counts": {"total": counts.total, "completed": counts.completed, "failed": counts.failed},
        "metadata": json.loads(batch.metadata_json) if batch.metadata_json else None,
    }
    for moment in _MOMENTS:
        body[f"{moment}_at"] = _seconds(getattr(batch, f"{moment}_at"))
    return body


def _seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None
