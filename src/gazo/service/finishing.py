"""The work between the denoiser and the wire: output moderation, encoding and signing, off the event loop.

A picture leaves the model as pixels; before it leaves gazo it is checked, encoded and signed. Done one
after another on whatever thread was free, that work added 80-215 ms to every request and competed
with everything else for the default pool. Here it runs on a bounded pool of its own, sized to the
cores, so it overlaps with the next batch on the accelerator, and within one image the two independent
parts run side by side: the moderation check (on a copy shrunk to what the classifier looks at) and
the encoding, which both release the GIL. Signing needs both: the encoded bytes, and a verdict that
lets them out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from PIL import Image

from gazo.imaging import MIME_TYPES, encode_image, keep_unmasked, matte_from_border
from gazo.jobs import Priority
from gazo.moderation import Moderation
from gazo.provenance import Ingredient, Provenance
from gazo.service.background import background_threads
from gazo.service.checks import PreparedRequest
from gazo.service.verdicts import VerdictMetrics

T = TypeVar("T")

#: Threads by default: one a core, since each task is CPU work that releases the GIL; more than 8
#: would only help batches of more than 8 images, which then finish a little later instead.
DEFAULT_WORKERS = min(8, os.cpu_count() or 2)


class OutputFinisher:
    """Turns a rendered picture into the signed bytes a response carries, or refuses it."""

    def __init__(
        self,
        moderation: Moderation,
        provenance: Provenance,
        verdicts: VerdictMetrics,
        *,
        workers: int | None,
        png_level: int,
    ) -> None:
        self.moderation = moderation
        self.verdicts = verdicts
        self.provenance = provenance
        self.png_level = png_level
        count = workers or DEFAULT_WORKERS
        self._pools: dict[Priority, ThreadPoolExecutor] = {
            "interactive": ThreadPoolExecutor(count, thread_name_prefix="gazo-output"),
            "batch": background_threads(count // 2, "gazo-output-batch"),  # at the lowest CPU priority
        }

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    async def finish(
        self, prepared: PreparedRequest, image: Image.Image, priority: Priority = "interactive"
    ) -> bytes:
        """Keep unmasked pixels, then check and encode side by side, then sign: the last steps before
        bytes leave gazo. A blocked picture raises `ContentPolicyViolation` and is never signed. Batch
        lines are finished on threads of their own, below interactive requests."""
        pool = self._pools[priority]
        if prepared.region is not None or prepared.matte:
            image = await _run(pool, composite, prepared, image)
        verdict, data = await asyncio.gather(
            _run(pool, self.moderation.check_image, image, prepared.request.moderation),
            _run(pool, self._encode, prepared, image),
        )
        self.verdicts.judge(verdict, "output_image", None)
        return await _run(pool, self._sign, prepared, data)

    def _encode(self, prepared: PreparedRequest, image: Image.Image) -> bytes:
        request = prepared.request
        return encode_image(
            image,
            output_format=request.output_format,
            background=prepared.job.background,
            compression=request.output_compression,
            png_level=self.png_level,
        )

    def _sign(self, prepared: PreparedRequest, data: bytes) -> bytes:
        """Content Credentials naming the model, with every input image as an ingredient."""
        request = prepared.request
        inputs = zip(request.images, prepared.input_mimes, prepared.input_relationships(), strict=True)
        ingredients = [
            Ingredient(upload.data, mime, title=upload.filename or f"image_{index}", relationship=role)
            for index, (upload, mime, role) in enumerate(inputs)
        ]
        return self.provenance.sign(
            data,
            mime=MIME_TYPES[request.output_format],
            model=prepared.model.name,
            prompt=request.prompt,
            ingredients=ingredients,
            extra_actions=("c2pa.resized",) if prepared.resized else (),
            rendering=prepared.rendering() or None,
        )


async def _run(pool: ThreadPoolExecutor, work: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, work, *args)


def composite(prepared: PreparedRequest, image: Image.Image) -> Image.Image:
    """What the caller asked to keep: the unmasked original pixels, and a transparent border's matte."""
    if prepared.region is not None and prepared.original is not None:
        image = keep_unmasked(prepared.original, image, prepared.region)
    if prepared.matte:
        image = matte_from_border(image)
    return image
