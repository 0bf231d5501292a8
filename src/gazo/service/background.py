"""Threads for work that must not slow interactive requests down: batch lines' finishing and output.

They run at the lowest CPU priority (nice 19, per thread on Linux), so on a busy machine the kernel
gives the cores to interactive work first; the work itself (encoding, signing, moderation, base64)
releases the GIL for most of its time, which is what lets the priority matter.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

LOWEST_PRIORITY = 19


def background_threads(workers: int, name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max(1, workers), thread_name_prefix=name, initializer=_lower_priority)


def _lower_priority() -> None:
    try:  # PRIO_PROCESS with a thread id sets that thread alone on Linux
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    except (AttributeError, OSError):  # elsewhere the threads run at normal priority
        logger.debug("could not lower the priority of a background thread", exc_info=True)
