"""Domain values shared by the service, the engine and the backends.

They carry decoded ``PIL.Image`` objects and concrete values only (no ``auto``): everything here has
already been validated above, so a backend never re-checks a request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal

from PIL import Image

Quality = Literal["low", "medium", "high", "xhigh", "max"]
QUALITIES: tuple[Quality, ...] = ("low", "medium", "high", "xhigh", "max")
#: An edit's `input_fidelity`: how closely it keeps its input.
Fidelity = Literal["low", "high"]
Background = Literal["opaque", "transparent"]
OutputFormat = Literal["png", "jpeg", "webp"]
#: DALL-E 3's `style`: a fixed addition to the prompt the model renders (`gazo.service.styles`).
Style = Literal["vivid", "natural"]
#: How a response carries its images: base64 in the body, or a URL gazo serves for a while.
ResponseFormat = Literal["b64_json", "url"]
#: Interactive requests go first; batch lines (`/v1/batches`) take what capacity they leave.
Priority = Literal["interactive", "batch"]
Placement = Literal[
    "center", "left", "right", "top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right"
]

_SIZE_PATTERN = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")  # ASCII digits only, as OpenAI


@dataclass(frozen=True, order=True)
class Size:
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> Size:
        """Parse ``WIDTHxHEIGHT`` (ASCII digits, nothing around them); raises ValueError for anything else."""
        match = _SIZE_PATTERN.fullmatch(text)
        if not match:
            raise ValueError(f"not a WIDTHxHEIGHT size: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class GenerateJob:
    """Render `n` images of `size` from `prompt` on the model `model`."""

    prompt: str
    model: str
    size: Size
    quality: Quality
    n: int = 1
    background: Background = "opaque"
    seed: int | None = None
    partial_images: int = 0
    text: tuple[str, ...] = ()  # set exactly (quoted in the prompt or sent as `text`); first = headline
    #: LoRA adapters to apply, as (name, weight) sorted by name: configured adapters of `model` only.
    adapters: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class EditJob(GenerateJob):
    """Edit `images[0]` (the others are references) where `mask` is white (255 = repaint)."""

    images: tuple[Image.Image, ...] = ()
    mask: Image.Image | None = None
    input_fidelity: Fidelity = "low"


Job = GenerateJob | EditJob


@dataclass(frozen=True)
class Progress:
    """A denoising step finished; `previews` holds a cheap decode per image when one was asked for."""

    step: int
    total: int
    previews: tuple[Image.Image, ...] = ()


@dataclass(frozen=True)
class RenderedImage:
    """One finished image of a job, by its index among the job's `n`."""

    index: int
    image: Image.Image


#: What a backend calls after every denoising step: ``progress(step, total, make_previews)``.
#: ``make_previews`` is lazy because a preview decode costs time and only some steps need one.
#: The callable raises :class:`gazo.errors.Cancelled` when the job should stop.
ProgressFn = Callable[[int, int, Callable[[], list[Image.Image]]], None]


@dataclass(frozen=True)
class Upload:
    """An uploaded file, still undecoded (decoding is a checked step of the request path)."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class ImageRequest:
    """A generation or edit as the client asked for it: `auto` values and raw uploads not yet resolved."""

    prompt: str
    model: str | None = None
    n: int = 1
    size: str = "auto"
    quality: str = "auto"
    background: str = "auto"
    output_format: OutputFormat = "png"
    output_compression: int = 100
    moderation: str = "auto"
    partial_images: int = 0
    seed: int | None = None
    safety_identifier: str | None = None
    images: tuple[Upload, ...] = ()
    mask: Upload | None = None
    input_fidelity: Fidelity = "low"
    placement: Placement | None = None
    text: tuple[str, ...] = ()
    style: Style | None = None
    response_format: ResponseFormat = "b64_json"
    #: Adapters the client picked (`lora`), as (name, weight or None = the configured weight).
    lora: tuple[tuple[str, float | None], ...] = ()

    @property
    def is_edit(self) -> bool:
        return bool(self.images)

    def fingerprint(self) -> bytes:
        """SHA-256 over a canonical encoding of every field (uploads by their bytes' SHA-256, in order):
        what tells a retry (same Idempotency-Key, same request) from a reused key."""
        canonical = {
            "operation": "edit" if self.is_edit else "generation",
            **{item.name: _canonical(getattr(self, item.name)) for item in fields(self)},
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).digest()


def _canonical(value: object) -> object:
    if isinstance(value, Upload):
        return {
            "sha256": hashlib.sha256(value.data).hexdigest(),
            "filename": value.filename,
            "content_type": value.content_type,
        }
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    return value
