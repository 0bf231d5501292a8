"""What the service hands a transport: a `Submission` (an accepted request and its events), nothing else.

A transport (HTTP, the CLI, Ray's gateway) formats these objects and never sees how the request was
checked: everything a response repeats (the concrete output fields, gazo's extensions, the rate-limit
headers) is resolved by the time `ImageService.submit` returns, so no transport hands anything back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gazo.billing.tokens import TokenUsage
from gazo.billing.values import Caller
from gazo.jobs import Background, OutputFormat, Priority, Quality


@dataclass(frozen=True)
class RequestContext:
    """Who asks and under which ids: the caller pays, `request_id` names the usage row and the logs, and
    an `idempotency_key` makes a retry replay the first response instead of paying twice."""

    caller: Caller
    request_id: str
    idempotency_key: str | None = None
    #: A line of this batch (`/v1/batches`): billed at the batch price, rendered below interactive work.
    batch_id: str | None = None

    @property
    def priority(self) -> Priority:
        return "batch" if self.batch_id is not None else "interactive"


@dataclass(frozen=True)
class Output:
    """The concrete output fields every response and event repeats, with each `auto` resolved.

    Field order is the order they appear in a response (kept from before, so bodies stay byte-stable)."""

    background: Background
    output_format: OutputFormat
    quality: Quality
    size: str

    def fields(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Step:
    """A denoising step finished (for progress bars)."""

    step: int
    total: int


@dataclass(frozen=True)
class PartialImage:
    """An intermediate decode of image `image_index`, the `partial_index`-th sent for it."""

    image_index: int
    partial_index: int
    data: bytes


@dataclass(frozen=True)
class FinalImage:
    """A finished, encoded and signed image, with the share of the request's usage it accounts for."""

    image_index: int
    data: bytes
    usage: TokenUsage
    #: The secret id the image is kept under for a `url` response (`ImageService.keeper`), else None.
    kept_as: str | None = None


Event = Step | PartialImage | FinalImage


@dataclass
class Submission:
    """A request past every refusal: checked, moderated, paid for (reserved) and queued on its model.

    Iterate it for its events; from here on only a failure can end it early, and such a failure is
    raised by the iteration. `aclose()` (or leaving the iteration unfinished and closing it) cancels the
    job at its next step and releases the reservation, so whoever holds a Submission must close it.
    `created` is set on an idempotent replay: when the response replayed was first made.
    `revised_prompt` is the prompt the model rendered (the user's, plus any `style` addition)."""

    operation: Literal["generation", "edit"]
    model: str
    output: Output
    revised_prompt: str
    extensions: dict[str, Any]
    events: AsyncGenerator[Event, None]
    headers: dict[str, str] = field(default_factory=dict)
    created: int | None = None
    safety_identifier: str | None = None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events

    async def aclose(self) -> None:
        """Stop the job (if it still runs) and settle its reservation; safe to call more than once."""
        await self.events.aclose()


@dataclass(frozen=True)
class ImageResult:
    """A whole non-streamed response: a Submission's facts with its images collected."""

    created: int
    images: list[bytes]
    usage: TokenUsage
    output: Output
    revised_prompt: str
    #: Per image, the secret id it is kept under (`url` responses); empty for base64 responses.
    kept_as: list[str] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    safety_identifier: str | None = None


async def collect(submission: Submission) -> ImageResult:
    """Every image of a Submission, and what its response says besides (the non-streamed response);
    closes it."""
    finals: list[FinalImage] = []
    async with aclosing(submission):
        async for event in submission:
            if isinstance(event, FinalImage):
                finals.append(event)
    return ImageResult(
        created=submission.created or int(time.time()),
        images=[final.data for final in finals],
        usage=sum((final.usage for final in finals), TokenUsage(0, 0, 0)),
        output=submission.output,
        revised_prompt=submission.revised_prompt,
        kept_as=[final.kept_as for final in finals if final.kept_as is not None],
        extensions=submission.extensions,
        headers=submission.headers,
        safety_identifier=submission.safety_identifier,
    )
