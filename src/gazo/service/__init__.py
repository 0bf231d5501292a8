"""The one ordered request path, shared by HTTP, the CLI and Ray.

`submit`: check → moderate inputs → reserve → queue, every refusal raised before a transport commits to
a response; then the `Submission`'s events: render on the engine → keep unmasked pixels → encode →
sign → charge. Because every transport calls `submit` (or `create`, which collects a Submission) and
only formats what comes back, none of them can skip a gate or needs to know how a request was checked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, suppress
from datetime import timedelta
from typing import cast

from gazo.billing.idempotency import StoredImage, StoredResponse
from gazo.billing.meter import Meter
from gazo.billing.tokens import PARTIAL_IMAGE_TOKENS, TokenUsage, count_usage
from gazo.billing.values import Caller, Reservation
from gazo.engine.admission import Admission
from gazo.engine.base import Engine, EngineHealth
from gazo.errors import ContentPolicyViolation, ModelLoading, RequestTimeout
from gazo.jobs import EditJob, ImageRequest, Job, Priority, Progress, RenderedImage
from gazo.moderation import Moderation
from gazo.provenance import Provenance
from gazo.service.catalog import ModelCatalog, ModelEntry, UsageReports
from gazo.service.checks import PreparedRequest, prepare
from gazo.service.files import FileStore
from gazo.service.finishing import OutputFinisher
from gazo.service.housekeeping import start_housekeeping
from gazo.service.image_urls import KeptImage, keep_images, open_image
from gazo.service.keeping import Keeper
from gazo.service.rewriting import PromptRewriter
from gazo.service.submission import (
    Event,
    FinalImage,
    ImageResult,
    Output,
    PartialImage,
    RequestContext,
    Step,
    Submission,
    collect,
)
from gazo.service.verdicts import VerdictMetrics
from gazo.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "FinalImage",
    "ImageResult",
    "ImageService",
    "KeptImage",
    "ModelCatalog",
    "ModelEntry",
    "Output",
    "PartialImage",
    "RequestContext",
    "Step",
    "Submission",
    "UsageReports",
    "collect",
]


class ImageService:
    """Generations and edits, from a request to signed bytes and usage: `submit` (or `create`) is the
    one entry; the rest serves the gate (authentication) and the health routes."""

    def __init__(
        self, engine: Engine, settings: Settings, provenance: Provenance, meter: Meter, moderation: Moderation
    ) -> None:
        self.engine = engine
        self.moderation = moderation
        self.settings = settings
        self.provenance = provenance
        self.meter = meter
        #: Images behind `url`s and stored Responses, sealed under ids only their clients hold.
        self.keeper = Keeper(meter.database)
        #: Every moderation verdict, counted for `/metrics` by check, category and deciding component.
        self.verdicts = VerdictMetrics()
        self.rewriter = PromptRewriter(settings.compat.prompt_rewrite, moderation, self.verdicts)
        #: `/v1/files`: batch input and output, and images requests name by file id.
        self.files = FileStore(meter.database, settings.data_dir / "files", settings.batch)
        server = settings.server
        self.finisher = OutputFinisher(
            moderation, provenance, self.verdicts, workers=server.output_workers, png_level=server.png_level
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
        self._housekeeping = start_housekeeping(self.meter, self.keeper, self.files)

    async def close(self) -> None:
        for task in self._housekeeping:
            task.cancel()
        await self.engine.close()
        self._auth_threads.shutdown(wait=False)
        self.finisher.close()
        await self.rewriter.close()

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
        """The engine's metrics, then the moderation verdicts' (Prometheus text; names never overlap)."""
        return self.engine.metrics_text() + self.verdicts.export()

    def kept_image(self, secret_id: str, extension: str) -> KeptImage | None:
        """The image behind a `url` response, while it lives (blocking: call it off the event loop)."""
        return open_image(self.keeper, secret_id, extension)

    def admit(self, request: ImageRequest) -> Admission:
        """A place in the line of the model `request` names, before any check, charge or database write:
        a full line refuses at once (`Overloaded`, 429) and an unknown model with 404, without a thread.
        Release it when the request ends (`with admission:`); pass it to `submit` or `create` so the
        engine can free it as soon as the model takes the job."""
        return self.engine.admit(self.engine.resolve(request.model).name)

    async def submit(
        self, request: ImageRequest, context: RequestContext, admission: Admission | None = None
    ) -> Submission:
        """Run everything that can refuse `request`, then hand back its accepted `Submission`.

        In order: the checks against the model (decoding runs off the event loop), input moderation,
        the reservation (rate limits, budget, idempotency) and the engine's queue. Each refusal raises
        here, before a transport commits to a response (a stream's status line, say). A retry of a
        succeeded request (same Idempotency-Key and body) gets that request's stored images, rendering
        nothing. Close the Submission when done with it: that settles the reservation."""
        prepared = await self._prepare(request, context.caller)
        reservation = await self._reserve_or_undo(prepared, context)
        if reservation.replay is not None:
            replay = reservation.replay
            return _submission(prepared, reservation, self._replay(prepared, replay), created=replay.created)
        events = self._run(prepared, reservation, admission, context.priority)
        submission = _submission(prepared, reservation, cast(AsyncGenerator[Event, None], events))
        try:
            await anext(events)  # `None`: the queue took the job, and nothing but a failure can end it now
        except BaseException:
            await events.aclose()
            raise
        return submission

    async def create(
        self, request: ImageRequest, context: RequestContext, admission: Admission | None = None
    ) -> ImageResult:
        """Submit `request` and collect every image (the non-streaming response)."""
        return await collect(await self.submit(request, context, admission))

    async def _prepare(self, request: ImageRequest, caller: Caller) -> PreparedRequest:
        """The checks against the model, then input moderation (`caller` picks the organisation rules
        and allow-lists it applies); both off the event loop."""
        model = self.engine.resolve(request.model)
        try:
            prepared = await asyncio.to_thread(prepare, request, model, self.settings.server)
        except ModelLoading:
            # Loading the model now serves this request's retry, but a load can evict other models and
            # holds the device for seconds: only a prompt that passes moderation starts one, and the
            # refusal counts against the caller's requests per minute (no reservation follows it).
            await asyncio.to_thread(self._allow_a_load, request, caller)
            self.engine.warm(model.name)
            raise
        await asyncio.to_thread(self._moderate_inputs, prepared, caller.org_name)
        return prepared

    def _allow_a_load(self, request: ImageRequest, caller: Caller) -> None:
        """Raise what refuses `request` before it may start its model's load (see `_prepare`)."""
        self._moderate_prompt(request, caller.org_name)
        self.meter.count_request(caller)

    def _moderate_inputs(self, prepared: PreparedRequest, organization: str | None) -> None:
        """The prompt and every input image, before any work or money is spent on them."""
        self._moderate_prompt(prepared.request, organization)
        if isinstance(prepared.job, EditJob):
            level = prepared.request.moderation
            for image in prepared.job.images:
                self.verdicts.judge(self.moderation.check_image(image, level=level), "input_image", "image")

    def _moderate_prompt(self, request: ImageRequest, organization: str | None) -> None:
        verdict = self.moderation.check_prompt(
            request.prompt, level=request.moderation, organization=organization
        )
        self.verdicts.judge(verdict, "prompt", "prompt")

    async def _run(
        self,
        prepared: PreparedRequest,
        reservation: Reservation,
        admission: Admission | None,
        priority: Priority = "interactive",
    ) -> AsyncGenerator[Event | None, None]:
        """Render a reserved job: first `None` once the engine queued it, then steps, partial images as
        they form and each final image. The reservation is settled exactly once: charged when every
        image is ready, released (no charge) on any failure, block, timeout or departed client."""
        job, started = prepared.job, time.monotonic()
        finishing: list[tuple[int, asyncio.Future[bytes]]] = []  # (image index, its signed bytes)
        partials_sent = [0] * job.n
        try:
            async for event in self._render(job, admission, priority):
                if isinstance(event, RenderedImage):  # finished while the engine hands over the next
                    finish = self.finisher.finish(prepared, event.image, priority)
                    finishing.append((event.index, asyncio.ensure_future(finish)))
                elif event.step == 0:
                    yield None
                else:
                    yield Step(step=event.step, total=event.total)
                    for index, preview in enumerate(event.previews[: job.n]):
                        data = await self.finisher.finish(prepared, preview, priority)
                        yield PartialImage(image_index=index, partial_index=partials_sent[index], data=data)
                        partials_sent[index] += 1
            finals = [(index, await task) for index, task in finishing]
            usages = self._usage_per_image(prepared, partials_sent)
            # kept before the charge: a failure to keep them (the database) costs the client nothing
            kept = await self._keep(prepared, [data for _, data in finals])
            await self._commit(prepared, reservation, finals, usages, time.monotonic() - started)
        except BaseException as error:
            self.meter.release(reservation, status=_release_status(error))  # quick, and must not be cancelled
            _abandon(task for _, task in finishing)
            raise
        for (index, data), kept_as in zip(finals, kept, strict=True):
            yield FinalImage(image_index=index, data=data, usage=usages[index], kept_as=kept_as)

    async def _replay(
        self, prepared: PreparedRequest, response: StoredResponse
    ) -> AsyncGenerator[Event, None]:
        """A stored response's images, as the events of the request that first made them (kept anew
        for a `url` response: the first response's URLs may have expired)."""
        kept = await self._keep(prepared, [image.data for image in response.images])
        for image, kept_as in zip(response.images, kept, strict=True):
            yield FinalImage(image_index=image.index, data=image.data, usage=image.usage, kept_as=kept_as)

    async def _keep(self, prepared: PreparedRequest, images: list[bytes]) -> list[str | None]:
        """For a `url` response, each signed image's secret id (kept sealed until it expires); else Nones."""
        if prepared.request.response_format != "url":
            return [None] * len(images)
        ttl = timedelta(seconds=self.settings.compat.image_url_ttl_s)
        format_, model = prepared.request.output_format, prepared.job.model
        keeping = functools.partial(keep_images, output_format=format_, model=model, ttl=ttl)
        return list(await asyncio.to_thread(keeping, self.keeper, images))

    async def _commit(
        self,
        prepared: PreparedRequest,
        reservation: Reservation,
        finals: list[tuple[int, bytes]],
        usages: list[TokenUsage],
        elapsed_s: float,
    ) -> None:
        """Charge the request and store its response for idempotent replays."""
        response = StoredResponse(
            created=int(time.time()),
            images=tuple(StoredImage(index, data, usages[index]) for index, data in finals),
        )
        await asyncio.to_thread(
            self.meter.commit,
            reservation,
            sum(usages, TokenUsage(0, 0, 0)),
            latency_ms=round(elapsed_s * 1000),
            n=len(finals),
            prompt=prepared.job.prompt,
            replay_payload=response,
        )

    async def _reserve_or_undo(self, prepared: PreparedRequest, context: RequestContext) -> Reservation:
        """Reserve in a thread; if the caller leaves meanwhile, the thread still finishes its reservation,
        so wait for it and release it rather than leave money held until the stale sweep."""
        reserving = asyncio.ensure_future(asyncio.to_thread(self._reserve, prepared, context))
        try:
            return await asyncio.shield(reserving)
        except asyncio.CancelledError:
            with suppress(Exception):
                self.meter.release(await reserving, status="cancelled")
            raise

    def _reserve(self, prepared: PreparedRequest, context: RequestContext) -> Reservation:
        job, idempotency_key = prepared.job, context.idempotency_key
        adapter = prepared.adapter  # charged as its model unless a price names the adapter itself
        return self.meter.reserve(
            context.caller,
            model=self.meter.prices.priced_as(adapter, job.model) if adapter else job.model,
            operation="edit" if prepared.request.is_edit else "generation",
            size=str(job.size),
            quality=job.quality,
            n=job.n,
            estimate=self._usage(prepared, partial_images=job.n * job.partial_images),
            request_id=context.request_id,
            idempotency_key=idempotency_key,
            fingerprint=prepared.request.fingerprint() if idempotency_key is not None else None,
            batch_id=context.batch_id,
        )

    async def _render(
        self, job: Job, admission: Admission | None, priority: Priority = "interactive"
    ) -> AsyncIterator[Progress | RenderedImage]:
        """The engine's events for `job`, under the request's time limit.

        The limit is a deadline applied to each wait for an engine event, not one `asyncio.timeout`
        around the whole loop: a stream is resumed by another task (the response's) than the one that
        started it. Not `asyncio.wait_for` either: on Python 3.11 it swallows a cancellation that lands
        as the next event arrives (most of them, with an event per step), so a client that hung up
        would have its job rendered, and charged, to the end."""
        limit = self.settings.server.request_timeout_s
        deadline = asyncio.get_running_loop().time() + limit
        async with aclosing(self.engine.render(job, admission, priority=priority)) as events:
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


def _submission(
    prepared: PreparedRequest,
    reservation: Reservation,
    events: AsyncGenerator[Event, None],
    created: int | None = None,
) -> Submission:
    """What a response says besides its images, read once from the checked request."""
    job, request = prepared.job, prepared.request
    return Submission(
        operation="edit" if request.is_edit else "generation",
        model=job.model,
        output=Output(
            background=job.background,
            output_format=request.output_format,
            quality=job.quality,
            size=str(job.size),
        ),
        revised_prompt=prepared.revised_prompt,
        extensions=prepared.extensions(),
        events=events,
        headers=reservation.rate_limit_headers,
        created=created,
        safety_identifier=request.safety_identifier,
    )


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
