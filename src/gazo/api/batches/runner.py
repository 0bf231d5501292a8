"""The batch runner: works the durable queue of `/v1/batches` in every server process.

Each tick it looks at the active batches, takes as many pending lines as each model has room for
(`Engine.batch_room`: none while interactive requests wait), and runs each as the batch's key would
run the same request alone: parsed by the route's own models, then `ImageService.submit` with the
line's Idempotency-Key `batch:<batch id>:<custom_id>` and the batch's id (batch price, background
priority). Moderation, rate limits, budgets, C2PA and usage rows are the service's, as for any request.

A line's output is written to the data dir (a file per line, renamed into place) before its row says
it is done, so a kill at any moment loses nothing: a line still `running` when its process died runs
again on restart, and its Idempotency-Key replays what was charged instead of charging twice. When no
line waits, the batch is finalised: its output and error files are assembled in input order.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from gazo.api import requests
from gazo.api.batches.validation import read_lines
from gazo.api.delivery import Delivery
from gazo.api.errors import to_gazo_error
from gazo.api.image_refs import ImageResolver
from gazo.billing.values import Caller
from gazo.errors import (
    AuthenticationFailed,
    GazoError,
    IdempotencyConflict,
    InvalidRequest,
    ModelNotFound,
    NotFound,
    Overloaded,
    RateLimited,
    Unavailable,
)
from gazo.service import ImageService, RequestContext, collect
from gazo.service.background import background_threads
from gazo.service.batches import BatchQueue, BatchView, ClaimedLine
from gazo.settings import Settings
from gazo.store.tables import Batch, utcnow

logger = logging.getLogger(__name__)
T = TypeVar("T")

TICK_S = 0.5
#: Refusals that pass: the line waits `batch.retry_after_s` and is tried again. The key's rate limits
#: (and a full line) always free up, so they never use up a line's attempts; the others (its earlier
#: attempt still settling, a model loading, the database away) may only so often.
_ALWAYS_LATER = (RateLimited, Overloaded)
_PASSING = (IdempotencyConflict, Unavailable)
#: A `finalizing` batch nobody is finishing (its process died in the middle) is taken over after this.
_FINALIZE_TAKEOVER = timedelta(minutes=2)


class BatchRunner:
    def __init__(self, service: ImageService, settings: Settings) -> None:
        self.service, self.settings = service, settings
        stale = timedelta(seconds=settings.server.request_timeout_s + 60)
        self.queue = BatchQueue(
            service.meter.database, stale_after=stale, max_waiting_lines=settings.batch.max_waiting_lines
        )
        self.results = settings.data_dir / "batch-results"
        self._starting: dict[str, int] = defaultdict(int)  # claimed lines not yet rendering, per model
        self._lines: dict[asyncio.Task[None], ClaimedLine] = {}
        self._task: asyncio.Task[None] | None = None
        #: The runner's own work (database, output lines of megabytes) runs below interactive requests.
        self._threads = background_threads(2, "gazo-batch-runner")

    async def _off_loop(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    # 1. Requests from the routes
    def create(
        self,
        caller: Caller,
        *,
        input_file_id: str,
        endpoint: str,
        completion_window: str,
        metadata: dict[str, str] | None,
    ) -> BatchView:
        """Check the input file and queue its lines (blocking)."""
        limit = self.settings.batch.max_file_bytes
        try:
            info, data = self.service.files.read(caller, input_file_id, limit=limit)
        except NotFound:
            raise NotFound(f"No such File object: {input_file_id[:60]}", param="input_file_id") from None
        if info.purpose != "batch":
            raise InvalidRequest(
                f"File {input_file_id} was uploaded for {info.purpose}, not batch.", param="input_file_id"
            )
        lines, errors = read_lines(
            data, endpoint=endpoint, max_lines=self.settings.batch.max_lines, model_of=self._model_of
        )
        view = self.queue.create(
            caller,
            endpoint=endpoint,
            input_file_id=input_file_id,
            completion_window=completion_window,
            metadata=metadata,
            lines=lines,
            errors=errors,
        )
        logger.info(
            "batch %s: %d lines queued%s",
            view.batch.id,
            len(lines),
            f", {len(errors)} errors" if errors else "",
        )
        return view

    def _model_of(self, requested: str | None) -> str | None:
        try:
            return self.service.engine.resolve(requested).name
        except ModelNotFound:
            return requested  # the line fails as the request would, when it runs

    # 2. The loop
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gazo-batch-runner")

    async def close(self) -> None:
        """Stop taking lines; lines in flight go back to the queue, to run again (here or elsewhere)."""
        if self._task is not None:
            self._task.cancel()
        running = list(self._lines)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._threads.shutdown(wait=False)

    async def _run(self) -> None:
        requeued = await self._off_loop(self.queue.requeue_orphans)
        if requeued:
            logger.info("batch lines of a process that died go back to the queue: %d", requeued)
        while True:
            try:
                await self._tick()
            except Exception:
                logger.exception("the batch runner's round failed; the next one tries again")
            await asyncio.sleep(TICK_S)

    async def _tick(self) -> None:
        for batch in await self._off_loop(self.queue.active):
            if batch.status == "in_progress" and utcnow() >= batch.expires_at:
                await self._off_loop(self._expire, batch)
            elif batch.status == "in_progress":
                await self._feed(batch)
            if not self._in_flight(batch.id):
                await self._maybe_finalize(batch)

    def _expire(self, batch: Batch) -> None:
        ended = self.queue.end_waiting(batch.id, "expired")
        logger.info("batch %s expired with %d lines not run", batch.id, ended)

    async def _feed(self, batch: Batch) -> None:
        for model in await self._off_loop(self.queue.models_waiting, batch.id):
            room = self._room(model)
            if room <= 0:
                continue
            for line in await self._off_loop(self.queue.claim, batch, model, room):
                self._starting[model or ""] += 1
                task = asyncio.create_task(self._run_line(line, model or ""))
                self._lines[task] = line
                task.add_done_callback(self._lines.pop)

    def _room(self, model: str | None) -> int:
        try:
            room = self.service.engine.batch_room(model) if model else 1
        except KeyError:  # no such model: its lines fail at once as the request would
            room = 1
        return room - self._starting[model or ""]

    def _in_flight(self, batch_id: str) -> bool:
        return any(line.batch_id == batch_id for line in self._lines.values())

    # 3. One line
    async def _run_line(self, line: ClaimedLine, model: str) -> None:
        counted = True

        def started() -> None:  # once: the engine counts the line from now on (`batch_room`)
            nonlocal counted
            if counted:
                counted = False
                self._starting[model] -= 1

        try:
            status, output = await self._answer(line, started)
        except asyncio.CancelledError:  # the server stops: the line runs again, here or elsewhere
            await asyncio.shield(self._off_loop(self.queue.retry_later, line, timedelta(0)))
            raise
        except _TryLater as later:
            delay = timedelta(seconds=self.settings.batch.retry_after_s)
            await self._off_loop(self.queue.retry_later, line, delay, refund=later.refund)
            return
        finally:
            started()
        await self._off_loop(self._record, line, status, output)

    async def _answer(self, line: ClaimedLine, started: Callable[[], None]) -> tuple[str, dict[str, Any]]:
        """(`succeeded` | `failed`, the output line), or `_TryLater` for a passing refusal."""
        request_id = f"req_{line.batch_id.removeprefix('batch_')}_{line.line_no}"
        try:
            caller = await self._off_loop(self.service.meter.auth.caller_for_key, line.key_id)
            if caller is None:
                raise AuthenticationFailed("The API key that created this batch was revoked.")
            parsed = await self._off_loop(self._parse, line, caller)
            if parsed.stream:
                raise InvalidRequest("A batch line cannot be streamed: drop `stream`.", param="stream")
            context = RequestContext(
                caller,
                request_id,
                idempotency_key=f"batch:{line.batch_id}:{line.custom_id}",
                batch_id=line.batch_id,
            )
            submission = await self.service.submit(parsed.request, context)
            started()
            result = await collect(submission)
        except _ALWAYS_LATER as refusal:
            raise _TryLater(refund=True) from refusal
        except _PASSING as refusal:
            if line.attempts < self.settings.batch.max_attempts:
                raise _TryLater(refund=False) from refusal
            return "failed", _output(line, request_id, refusal)
        except Exception as error:  # every other failure is this line's answer, as it would have been
            return "failed", _output(line, request_id, to_gazo_error(error))
        base = self.settings.compat.public_base_url or _own_base_url(self.settings)
        body = await self._off_loop(
            Delivery(base, parsed.revised_prompt).response(result).model_dump, exclude_none=True
        )
        return "succeeded", _line_output(line, request_id, 200, body)

    def _parse(self, line: ClaimedLine, caller: Caller) -> requests.ParsedRequest:
        if line.endpoint == "/v1/images/edits":
            limits = self.settings.server
            resolver = ImageResolver(self.service, caller, max_bytes=limits.max_upload_bytes)
            return requests.edit(line.body, resolver, max_images=limits.max_input_images)
        return requests.generation(line.body)

    def _record(self, line: ClaimedLine, status: str, output: dict[str, Any]) -> None:
        """The output line on disk first, then the row: a line is never done without its output."""
        folder = self.results / line.batch_id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomically(folder / f"{line.line_no}.json", json.dumps(output, separators=(",", ":")).encode())
        if not self.queue.finish(line, status):
            logger.warning("batch %s line %d ended elsewhere first", line.batch_id, line.line_no)

    # 4. The end of a batch
    async def _maybe_finalize(self, batch: Batch) -> None:
        """Once no line waits (or a cancelled batch's last line ended), assemble its files, in one
        process only: whoever moves it to `finalizing` first; a process that died doing it is replaced."""
        if batch.status == "finalizing":
            if batch.finalizing_at is not None and utcnow() - batch.finalizing_at < _FINALIZE_TAKEOVER:
                return
        else:
            counts = await self._off_loop(self.queue.counts, batch.id)
            if counts.waiting:
                return
            if not await self._off_loop(self.queue.move, batch.id, (batch.status,), "finalizing"):
                return
        await self._off_loop(self._finalize, batch, _final_of(batch))

    def _finalize(self, batch: Batch, final: str) -> None:
        """Assemble the output and error files in input order, then end the batch as `final`."""
        folder = self.results / batch.id
        owner = Caller(
            key_id=batch.key_id, org_id=batch.org_id, is_admin=False, open_mode=batch.key_id is None
        )
        file_ids: dict[str, str | None] = {"output_file_id": None, "error_file_id": None}
        with tempfile.TemporaryDirectory(dir=self.settings.data_dir) as scratch:
            outputs = {name: Path(scratch) / name for name in file_ids}
            with outputs["output_file_id"].open("wb") as good, outputs["error_file_id"].open("wb") as bad:
                for line_no, custom_id, status in self.queue.lines(batch.id):
                    path = folder / f"{line_no}.json"
                    if status in ("succeeded", "failed") and path.is_file():
                        (good if status == "succeeded" else bad).write(path.read_bytes() + b"\n")
                    elif status in ("cancelled", "expired", "pending", "running"):
                        bad.write(
                            json.dumps(_ended_line(batch.id, line_no, custom_id, status)).encode() + b"\n"
                        )
            for name, path in outputs.items():
                if path.stat().st_size:
                    with path.open("rb") as source:
                        suffix = "output" if name == "output_file_id" else "errors"
                        stored = self.service.files.save(
                            owner, source, filename=f"{batch.id}_{suffix}.jsonl", purpose="batch_output"
                        )
                    file_ids[name] = stored.id
        self.queue.end_waiting(batch.id, final if final in ("cancelled", "expired") else "failed")
        self.queue.move(batch.id, ("finalizing",), final, **file_ids)
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("batch %s %s", batch.id, final)


class _TryLater(Exception):
    """A passing refusal: the line goes back to the queue for a while (`refund`: without using up one
    of its attempts, the refusal being about the key's limits, not the line)."""

    def __init__(self, *, refund: bool) -> None:
        super().__init__()
        self.refund = refund


def _final_of(batch: Batch) -> str:
    if batch.cancelling_at is not None:
        return "cancelled"
    return "expired" if utcnow() >= batch.expires_at else "completed"


def _output(line: ClaimedLine, request_id: str, error: GazoError) -> dict[str, Any]:
    return _line_output(line, request_id, error.status, error.to_body())


def _line_output(
    line: ClaimedLine, request_id: str, status_code: int, body: dict[str, Any]
) -> dict[str, Any]:
    """A line of the output or error file, in OpenAI's format."""
    return {
        "id": f"batch_req_{line.batch_id.removeprefix('batch_')}_{line.line_no}",
        "custom_id": line.custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": None,
    }


def _ended_line(batch_id: str, line_no: int, custom_id: str, status: str) -> dict[str, Any]:
    """The error line of a request the batch never ran (cancelled or expired first)."""
    code = {"cancelled": "batch_cancelled", "expired": "batch_expired"}.get(status, "batch_failed")
    return {
        "id": f"batch_req_{batch_id.removeprefix('batch_')}_{line_no}",
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": f"This request was not run: the batch was {status} first."},
    }


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".part")
    with temporary.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def _own_base_url(settings: Settings) -> str:
    host, port = settings.server.host, settings.server.port
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

