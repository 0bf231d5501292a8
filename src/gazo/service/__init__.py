"""The one ordered request path, shared by HTTP, the CLI and Ray.

check → render on the engine → keep unmasked pixels → encode → sign → count usage. Because every
transport calls this class, none of them can skip a gate.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, suppress
from dataclasses import dataclass, field

from gazo.billing.idempotency import StoredImage, StoredResponse
from gazo.billing.meter import Meter
from gazo.billing.tokens import PARTIAL_IMAGE_TOKENS, TokenUsage, count_usage
from gazo.billing.values import Caller, Reservation
from gazo.engine.admission import Admission
from gazo.engine.base import Engine, EngineHealth
from gazo.errors import ContentPolicyViolation, RequestTimeout
from gazo.jobs import EditJob, ImageRequest, Job, Progress, RenderedImage
from gazo.moderation import Moderation
from gazo.provenance import Provenance, VerificationReport
from gazo.service.checks import PreparedRequest, prepare
from gazo.service.finishing import OutputFinisher, refuse
from gazo.service.housekeeping import start_housekeeping
from gazo.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["Accepted", "FinalImage", "ImageResult", "ImageService", "PartialImage", "PreparedRequest", "Step"]


@dataclass(frozen=True)
class Accepted:
    """The job is paid for and queued; nothing can refuse it any more but a failure.

    `headers` are the caller's rate-limit headers, for the response. `created` is set on an idempotent
    replay: when the response replayed was first made."""

    headers: dict[str, str] = field(default_factory=dict)
    created: int | None = None


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


@dataclass(frozen=True)
class ImageResult:
    """A whole non-streamed response."""

    created: int
    images: list[bytes]
    usage: TokenUsage
    headers: dict[str, str] = field(default_factory=dict)


class ImageService:
    """Generations and edits, from a checked request to signed bytes and usage."""

    def __init__(
        self, engine: Engine, settings: Settings, provenance: Provenance, meter: Meter, moderation: Moderation
    ) -> None:
        self.engine = engine
        self.moderation = moderation
        self.settings = settings
        self.provenance = provenance
        self.meter = meter
        server = settings.server
        self.finisher = OutputFinisher(
            moderation, provenance, workers=server.output_workers, png_level=server.png_level
        )
        self._housekeeping: list[asyncio.Task[None]] = []
        # Authentication answers every request, refusals included: on threads of its own, it never
        # waits behind decoding, moderation or encoding in the default pool (6 threads on 2 cores).
        self._auth_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gazo-auth")

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> ImageService:
        """The composition root used by `gazo serve`, `gazo generate` and every Ray replica.

        `engine` defaults to the in-process engine over every configured model."""
        from gazo.service.compose import build_service

        return build_service(cls, settings, engine)

    async def start(self) -> None:
        await self.engine.start()
        await asyncio.to_thread(self.moderation.load)
        self._housekeeping = start_housekeeping(self.meter)

    async def close(self) -> None:
        for task in self._housekeeping:
            task.cancel()
        await self.engine.close()
        self._auth_threads.shutdown(wait=False)
        self.finisher.close()

    async def authenticate(self, authorization: str | None, *, allow_open: bool) -> Caller:
        """The caller behind an `Authorization` header (401 if none fits); open mode where allowed.

        A key found a moment ago is answered here, without a thread or the database (a burst's
        refusals must not queue behind lookups); anything else is looked up on the auth threads."""
        if (caller := self.meter.auth.remembered(authorization)) is not None:
            return caller
        check = functools.partial(self.meter.authenticate, authorization, allow_open=allow_open)
        return await asyncio.get_running_loop().run_in_executor(self._auth_threads, check)

    def auth_mode(self, *, allow_open: bool) -> str:
        """`open` (keyless requests served as the operator) or `closed`, as things stand now."""
        return self.meter.auth_mode(allow_open=allow_open)

    def health(self) -> EngineHealth:
        return self.engine.health()

    def database_problem(self) -> str | None:
        """Why the database cannot take requests now, or None (blocking: call it off the event loop)."""
        return self.meter.database.problem()

    def metrics_text(self) -> bytes:
        return self.engine.metrics_text()

    async def prepare(self, request: ImageRequest, caller: Caller) -> PreparedRequest:
        """Every check that can refuse `request`, run before any work (decoding runs off the event loop).

        `caller` picks the organisation rules and allow-lists moderation applies."""
        model = self.engine.resolve(request.model)
        prepared = await asyncio.to_thread(prepare, request, model, self.settings.server)
        await asyncio.to_thread(self._moderate_inputs, prepared, caller.org_name)
        return prepared

    def _moderate_inputs(self, prepared: PreparedRequest, organization: str | None) -> None:
        """The prompt and every input image, before any work or money is spent on them."""
        level, prompt = prepared.request.moderation, prepared.request.prompt
        refuse(self.moderation.check_prompt(prompt, level=level, organization=organization), "prompt")
        if isinstance(prepared.job, EditJob):
            for image in prepared.job.images:
                refuse(self.moderation.check_image(image, level=level), "image")

    def admit(self, request: ImageRequest) -> Admission:
        """A place in the line of the model `request` names, before any check, charge or database write:
        a full line refuses at once (`Overloaded`, 429) and an unknown model with 404, without a thread.
        Release it when the request ends (`with admission:`); pass it to `stream` or `create` so the
        engine can free it as soon as the model takes the job."""
        return self.engine.admit(self.engine.resolve(request.model).name)

    async def create(
        self,
        prepared: PreparedRequest,
        caller: Caller,
        *,
        admission: Admission | None = None,
        **billing: str | None,
    ) -> ImageResult:
        """Render and return every image at once (the non-streaming response)."""
        images: list[bytes] = []
        usage = TokenUsage(0, 0, 0)
        headers: dict[str, str] = {}
        created: int | None = None
        async with aclosing(self.stream(prepared, caller, admission=admission, **billing)) as events:
            async for event in events:
                if isinstance(event, Accepted):
                    headers, created = event.headers, event.created
                elif isinstance(event, FinalImage):
                    images.append(event.data)
                    usage = usage + event.usage
        return ImageResult(created=created or int(time.time()), images=images, usage=usage, headers=headers)

    async def stream(
        self,
        prepared: PreparedRequest,
        caller: Caller,
        *,
        request_id: str,
        idempotency_key: str | None = None,
        admission: Admission | None = None,
    ) -> AsyncIterator[Accepted | Step | PartialImage | FinalImage]:
        """Render `prepared`: `Accepted` once paid for and queued, partial images as they form, then each
        final image. The price is reserved first and settled once: charged when every image is ready,
        released (no charge) on any failure, block, timeout or departed client. A retry of a succeeded
        request (same Idempotency-Key and body) gets that request's stored images, rendering nothing."""
        job, started = prepared.job, time.monotonic()
        reservation = await self._reserve_or_undo(prepared, caller, request_id, idempotency_key)
        if reservation.replay is not None:
            yield Accepted(headers=reservation.rate_limit_headers, created=reservation.replay.created)
            for image in reservation.replay.images:
                yield FinalImage(image_index=image.index, data=image.data, usage=image.usage)
            return
        finishing: list[tuple[int, asyncio.Future[bytes]]] = []  # (image index, its signed bytes)
        try:
            partials_sent = [0] * job.n
            async for event in self._render(job, admission):
                if isinstance(event, RenderedImage):  # finished while the engine hands over the next
                    finish = self.finisher.finish(prepared, event.image)
                    finishing.append((event.index, asyncio.ensure_future(finish)))
                elif event.step == 0:
                    yield Accepted(headers=reservation.rate_limit_headers)
                else:
                    yield Step(step=event.step, total=event.total)
                    for index, preview in enumerate(event.previews[: job.n]):
                        data = await self.finisher.finish(prepared, preview)
                        yield PartialImage(image_index=index, partial_index=partials_sent[index], data=data)
                        partials_sent[index] += 1
            finals = [(index, await task) for index, task in finishing]
            usages = self._usage_per_image(prepared, partials_sent)
            latency_ms = round((time.monotonic() - started) * 1000)
            response = StoredResponse(
                created=int(time.time()),
                images=tuple(StoredImage(index, data, usages[index]) for index, data in finals),
            )
            await asyncio.to_thread(
                self.meter.commit,
                reservation,
                sum(usages, TokenUsage(0, 0, 0)),
                latency_ms=latency_ms,
                n=len(finals),
                prompt=job.prompt,
                replay_payload=response,
            )
        except BaseException as error:
            self.meter.release(reservation, status=_release_status(error))  # quick, and must not be cancelled
            _abandon(task for _, task in finishing)
            raise
        for index, data in finals:
            yield FinalImage(image_index=index, data=data, usage=usages[index])

    async def _reserve_or_undo(
        self, prepared: PreparedRequest, caller: Caller, request_id: str, idempotency_key: str | None
    ) -> Reservation:
        """Reserve in a thread; if the caller leaves meanwhile, the thread still finishes its reservation,
        so wait for it and release it rather than leave money held until the stale sweep."""
        reserving = asyncio.ensure_future(
            asyncio.to_thread(self._reserve, prepared, caller, request_id, idempotency_key)
        )
        try:
            return await asyncio.shield(reserving)
        except asyncio.CancelledError:
            with suppress(Exception):
                self.meter.release(await reserving, status="cancelled")
            raise

    def _reserve(
        self, prepared: PreparedRequest, caller: Caller, request_id: str, idempotency_key: str | None
    ) -> Reservation:
        job = prepared.job
        return self.meter.reserve(
            caller,
            model=job.model,
            operation="edit" if prepared.request.is_edit else "generation",
            size=str(job.size),
            quality=job.quality,
            n=job.n,
            estimate=self._usage(prepared, partial_images=job.n * job.partial_images),
            request_id=request_id,
            idempotency_key=idempotency_key,
            fingerprint=prepared.request.fingerprint() if idempotency_key is not None else None,
        )

    async def _render(self, job: Job, admission: Admission | None) -> AsyncIterator[Progress | RenderedImage]:
        """The engine's events for `job`, under the request's time limit.

        The limit is a deadline applied to each wait for an engine event, not one `asyncio.timeout`
        around the whole loop: a stream is resumed by another task (the response's) than the one that
        started it. Not `asyncio.wait_for` either: on Python 3.11 it swallows a cancellation that lands
        as the next event arrives (most of them, with an event per step), so a client that hung up
        would have its job rendered, and charged, to the end."""
        limit = self.settings.server.request_timeout_s
        deadline = asyncio.get_running_loop().time() + limit
        async with aclosing(self.engine.render(job, admission)) as events:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        event = await anext(events)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise RequestTimeout(
                        f"The request took longer than {limit:g} s and was cancelled."
                    ) from None
                yield event

    def verify(self, data: bytes, extra_anchors_pem: str | None = None) -> VerificationReport:
        """Read anyone's Content Credentials, trusting this deployment's root (and `extra_anchors_pem`)."""
        return self.provenance.verify(data, extra_anchors_pem)

    def trust_anchor_pem(self) -> str:
        return self.provenance.trust_anchor_pem()

    def _usage(self, prepared: PreparedRequest, partial_images: int = 0) -> TokenUsage:
        job = prepared.job
        return count_usage(
            prompt=prepared.request.prompt,
            n=job.n,
            width=job.size.width,
            height=job.size.height,
            quality=job.quality,
            input_images=prepared.input_sizes,
            input_fidelity=prepared.request.input_fidelity,
            partial_images=partial_images,
        )

    def _usage_per_image(self, prepared: PreparedRequest, partials_sent: list[int]) -> list[TokenUsage]:
        """Split the request's usage over its images so that the parts add up to the whole."""
        job = prepared.job
        total = self._usage(prepared)
        per_image = total.image_output_tokens // job.n
        return [
            TokenUsage(
                text_input_tokens=total.text_input_tokens if index == 0 else 0,
                image_input_tokens=total.image_input_tokens if index == 0 else 0,
                image_output_tokens=per_image + PARTIAL_IMAGE_TOKENS * partials_sent[index],
            )
            for index in range(job.n)
        ]


def _abandon(tasks: Iterable[asyncio.Future[bytes]]) -> None:
    """Stop finishing images nobody will receive; a failure already met is read so it is not reported
    as never retrieved (the one that matters is being raised)."""
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()
        task.cancel()


def _release_status(error: BaseException) -> str:
    if isinstance(error, GeneratorExit | asyncio.CancelledError):
        return "cancelled"
    return "moderation_blocked" if isinstance(error, ContentPolicyViolation) else "failed"

