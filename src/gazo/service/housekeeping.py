"""Background upkeep: release holds of dead processes, purge retained prompts and expired idempotent
responses; delete kept objects (image URLs, stored Responses) and files past their expiry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gazo.billing.meter import Meter
from gazo.service.files import FileStore
from gazo.service.keeping import Keeper

logger = logging.getLogger(__name__)

STALE_EVERY_S = 60.0
PURGE_EVERY_S = 3600.0
REPLAYS_EVERY_S = 600.0
KEPT_EVERY_S = 60.0


def start_housekeeping(meter: Meter, keeper: Keeper, files: FileStore) -> list[asyncio.Task[None]]:
    """Periodic tasks on the running loop; the caller cancels them on shutdown."""
    return [
        asyncio.create_task(_every(STALE_EVERY_S, meter.release_stale, "release stale reservations")),
        asyncio.create_task(_every(PURGE_EVERY_S, meter.purge_retained, "purge retained prompts")),
        asyncio.create_task(
            _every(REPLAYS_EVERY_S, meter.purge_idempotent, "purge expired idempotent responses")
        ),
        asyncio.create_task(_every(KEPT_EVERY_S, keeper.purge_expired, "delete expired kept objects")),
        asyncio.create_task(_every(PURGE_EVERY_S, files.purge_expired, "delete expired files")),
    ]


async def _every(period_s: float, work: Callable[[], object], what: str) -> None:
    while True:
        await asyncio.sleep(period_s)
        try:
            await asyncio.to_thread(work)
        except Exception:  # upkeep must never stop; the next round tries again
            logger.exception("could not %s", what)
