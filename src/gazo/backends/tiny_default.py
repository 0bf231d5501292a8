"""`tiny`: a tiny random diffusers pipeline built on first load, for tests and plumbing checks offline.

It goes through exactly the path a real model does (`save_pretrained` once into the data dir, then
`from_pretrained` from that folder), so `gazo serve` on a fresh, offline machine exercises the
whole diffusers backend. Its pictures are noise-like by construction: its weights are random.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Literal

from pydantic import Field

from gazo import plugins
from gazo.backends.diffusers import DiffusersBackend, DiffusersOptions
from gazo.backends.hub import quiet_loading_bars
from gazo.jobs import Quality

logger = logging.getLogger(__name__)


class TinyOptions(DiffusersOptions):
    arch: Literal["sd", "sdxl", "flux", "flux-kontext", "sd3"] = Field(
        "sd", description="Architecture of the tiny random pipeline."
    )
    steps: dict[Quality, int] = Field(
        default_factory=lambda: dict[Quality, int]({"low": 2, "medium": 3, "high": 4}),
        description="Denoising steps per quality (tiny models need few).",
    )


class TinyDiffusersBackend(DiffusersBackend):
    """A tiny random diffusers pipeline, built into its `source` folder when that folder is missing."""

    Options = TinyOptions
    options: TinyOptions
    #: Its weights are made at first load, so no adapter can have been trained for them.
    accepts_adapters = False

    def load(self, device: str | None) -> None:
        folder = Path(self.source)
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Several processes (Ray replicas, test servers) may share a data dir: one builds, the rest wait.
        with open(folder.parent / f".{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / "model_index.json").is_file():
                logger.info("building tiny %s pipeline into %s", self.options.arch, folder)
                quiet_loading_bars()  # transformers' "Writing model shards"
                from gazo.backends.tiny import save_tiny_pipeline  # diffusers and transformers: seconds

                save_tiny_pipeline(self.options.arch, folder)
            super().load(device)


@plugins.hookimpl
def register_backends(register: plugins.RegisterBackend) -> None:
    register("tiny", TinyDiffusersBackend)
