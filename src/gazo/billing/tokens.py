"""Count tokens the way OpenAI bills gpt-image-1, so gateways that bill from ``usage`` see real numbers.

Text input: the prompt's length in ``o200k_base`` (quicktok, offline, byte-identical vocabulary) via
``encode_ordinary``, so ``<|endoftext|>`` in a prompt is plain text and never raises. OpenAI's few
undocumented overhead tokens (about 6 per generation, more on edits, per community measurements)
are not published rules and are not added.

Image output, per image: a raster of cells, one token per cell plus one per row (a row terminator):
``rows * (cols + 1)``, ``cols = ceil(W / cell)``, ``rows = ceil(H / cell)``, cell 64 | 32 | 16 px for
low | medium | high. It reproduces all nine published figures exactly (1024x1024, 1024x1536,
1536x1024 -> 272/408/400, 1056/1584/1568, 4160/6240/6208); ``cols * rows + cols`` would not (1024x1536
low: 400). Ceil extends it to any WxH, as a partly covered cell is still generated (1536x864 low ->
14 * 25 = 350). Source: the token table in OpenAI's image generation guide, "Cost and latency"
(https://developers.openai.com/api/docs/guides/image-generation). ``xhigh`` and ``max`` have no
published figures: we bill them as ``high``, since a finer grid would multiply the bill on a guess;
a premium belongs in the per-model price table. Each streamed partial image adds 100 output tokens
(same guide, "Partial images cost").

Image input, per image. Source: OpenAI "Images and vision" guide, "Calculating costs" -> "GPT Image 1"
(https://developers.openai.com/api/docs/guides/images-vision): as for gpt-4o (fit in 2048x2048, scale
the shortest side down, count 512 px tiles) but to 512 px instead of 768; input_fidelity low: 65 base
+ 129 per tile; high adds 4160 for a square image, 6240 if "closer to portrait or landscape" (the
high-quality output counts of 1024x1024 and 1024x1536). The guide's worked examples are for gpt-4o
(1024x1024 -> 765, 2048x4096 -> 1105; ``tile_tokens`` reproduces them); gpt-image-1 gives 194 and 323.
Where the guide is silent:

* Scaling only shrinks, rounding down: the API bills 1024x1025 as one tile (194) and 512x513 as two,
  though OpenAI's web calculator rounds up (community.openai.com, "Vision Pricing calculator:
  inaccurate resizing/rounding vs API costs"). We follow the bill.
* "Square" is long side <= 1.25 x short side (nearer 1:1 than 3:2), our reading of "closer to".
* The fidelity extra goes on the first input image only, as the image generation guide says gpt-image-1
  keeps the first image at richer detail; one community post reads it as per image (unconfirmed).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PARTIAL_IMAGE_TOKENS",
    "TokenUsage",
    "count_text_tokens",
    "count_usage",
    "image_input_tokens",
    "image_output_tokens",
    "tile_tokens",
]

_OUTPUT_CELL_PX = {"low": 64, "medium": 32, "high": 16, "xhigh": 16, "max": 16}
PARTIAL_IMAGE_TOKENS = 100
_FIT_BOX_PX = 2048
_TILE_PX = 512
_SHORT_SIDE_PX = 512
_BASE_TOKENS = 65
_TILE_TOKENS = 129
_FIDELITY_EXTRA_SQUARE = 4160
_FIDELITY_EXTRA_OBLONG = 6240
_FIDELITIES = ("low", "high")


def _check_int(name: str, value: object, *, minimum: int) -> None:
    """Reject floats, bools and out-of-range values early: a bad count must not become a bad bill."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _check_fidelity(input_fidelity: str) -> None:
    if input_fidelity not in _FIDELITIES:
        raise ValueError(f"input_fidelity must be 'low' or 'high', got {input_fidelity!r}")


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """One request's token counts, mirroring OpenAI's ``usage`` object (values, not a response)."""

    text_input_tokens: int = 0
    image_input_tokens: int = 0
    image_output_tokens: int = 0

    def __post_init__(self) -> None:
        for name in ("text_input_tokens", "image_input_tokens", "image_output_tokens"):
            _check_int(name, getattr(self, name), minimum=0)

    @property
    def input_tokens(self) -> int:
        return self.text_input_tokens + self.image_input_tokens

    @property
    def output_tokens(self) -> int:
        return self.image_output_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: object) -> TokenUsage:
        if not isinstance(other, TokenUsage):
            return NotImplemented
        return TokenUsage(
            self.text_input_tokens + other.text_input_tokens,
            self.image_input_tokens + other.image_input_tokens,
            self.image_output_tokens + other.image_output_tokens,
        )

    def __radd__(self, other: object) -> TokenUsage:
        # Lets ``sum(usages)`` work: sum() starts from the int 0.
        if other == 0:
            return self
        return NotImplemented

    def to_openai_dict(self) -> dict[str, Any]:
        """The exact ``usage`` shape of the Images API; gateways (LiteLLM, Helicone) bill from it."""
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {
                "text_tokens": self.text_input_tokens,
                "image_tokens": self.image_input_tokens,
            },
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"image_tokens": self.image_output_tokens, "text_tokens": 0},
            "total_tokens": self.total_tokens,
        }


_encoding: Any = None
_encoding_lock = threading.Lock()


def _get_encoding() -> Any:
    """Load o200k_base once, on first use (import stays cheap), safely under concurrent requests."""
    global _encoding
    enc = _encoding
    if enc is None:
        with _encoding_lock:
            if _encoding is None:
                import quicktok

                _encoding = quicktok.get_encoding("o200k_base")
            enc = _encoding
    return enc


def count_text_tokens(text: str) -> int:
    """Prompt tokens in o200k_base; special-token strings count as ordinary text."""
    return len(_get_encoding().encode_ordinary(text))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def image_output_tokens(width: int, height: int, quality: str) -> int:
    """Output tokens for one image of WxH at a concrete quality (resolve "auto" before billing)."""
    cell = _OUTPUT_CELL_PX.get(quality) if isinstance(quality, str) else None
    if cell is None:
        raise ValueError(f"quality must be one of {sorted(_OUTPUT_CELL_PX)}, got {quality!r}")
    _check_int("width", width, minimum=1)
    _check_int("height", height, minimum=1)
    return _ceil_div(height, cell) * (_ceil_div(width, cell) + 1)


def tile_tokens(width: int, height: int, *, short_side: int, base: int, per_tile: int) -> int:
    """OpenAI's tile rule: fit 2048 box, shortest side to ``short_side``, 512 px tiles (shrink only)."""
    _check_int("width", width, minimum=1)
    _check_int("height", height, minimum=1)
    long_px, short_px = max(width, height), min(width, height)
    if long_px > _FIT_BOX_PX:
        long_px, short_px = _FIT_BOX_PX, max(1, short_px * _FIT_BOX_PX // long_px)
    if short_px > short_side:
        long_px, short_px = long_px * short_side // short_px, short_side
    return base + per_tile * _ceil_div(long_px, _TILE_PX) * _ceil_div(short_px, _TILE_PX)


def image_input_tokens(
    width: int, height: int, *, input_fidelity: str = "low", first_image: bool = True
) -> int:
    """gpt-image-1 tokens for one input image; the high-fidelity extra applies to the first only."""
    _check_fidelity(input_fidelity)
    tokens = tile_tokens(width, height, short_side=_SHORT_SIDE_PX, base=_BASE_TOKENS, per_tile=_TILE_TOKENS)
    if input_fidelity == "high" and first_image:
        square = 4 * max(width, height) <= 5 * min(width, height)
        tokens += _FIDELITY_EXTRA_SQUARE if square else _FIDELITY_EXTRA_OBLONG
    return tokens


def count_usage(
    *,
    prompt: str,
    n: int,
    width: int,
    height: int,
    quality: str,
    input_images: Sequence[tuple[int, int]] = (),
    input_fidelity: str = "low",
    partial_images: int = 0,
) -> TokenUsage:
    """Usage for one request: n output images of WxH, the prompt, and the edit's input images.

    ``n`` is the number of images actually returned (0 bills input only); ``partial_images`` is the
    number of streamed partial images actually sent, over all n, at 100 output tokens each.
    """
    _check_int("n", n, minimum=0)
    _check_int("partial_images", partial_images, minimum=0)
    _check_fidelity(input_fidelity)
    per_image = image_output_tokens(width, height, quality)
    image_in = sum(
        image_input_tokens(w, h, input_fidelity=input_fidelity, first_image=i == 0)
        for i, (w, h) in enumerate(input_images)
    )
    return TokenUsage(
        text_input_tokens=count_text_tokens(prompt),
        image_input_tokens=image_in,
        image_output_tokens=n * per_image + PARTIAL_IMAGE_TOKENS * partial_images,
    )
