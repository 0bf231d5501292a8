"""One Responses turn: its input read into an image request, run through the image service like any
other, and the Response (or its events) built from the Submission.

The image request goes through `ImageService.submit`, so moderation, rate limits, billing and C2PA
apply exactly as on the Images API. What a follow-up turn needs is kept (sealed, see
`gazo.service.keeping`) for `compat.responses_ttl_s`: the image, under its `ig_` id, and the Response,
under its `resp_` id, both readable only by the API key that made them. The prompt is kept with them
only when the operator turned retention on (`billing.retention_days` > 0).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gazo.api.errors import to_gazo_error
from gazo.api.image_refs import IMAGE_CALL_KIND, IMAGE_CALL_PREFIX, ImageResolver, ImageSource, image_source
from gazo.api.protocol import lora_pairs
from gazo.api.responses.inputs import TurnInput, read_input
from gazo.api.responses.objects import DONE_MESSAGE, EventSequence, ResponseDraft, text_part
from gazo.api.responses.protocol import ImageGenerationTool, ResponseCreateRequest
from gazo.billing.tokens import TokenUsage
from gazo.errors import GazoError, InvalidRequest, NotFound
from gazo.jobs import ImageRequest, Upload
from gazo.service import FinalImage, ImageService, PartialImage, RequestContext, Step, Submission
from gazo.service.keeping import new_secret_id
from gazo.settings import Settings

logger = logging.getLogger(__name__)

RESPONSE_KIND = "response"
_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass
class Turn:
    """A checked request: the image request to submit and the Response it will become."""

    request: ImageRequest
    draft: ResponseDraft


class ResponsesServing:
    def __init__(self, service: ImageService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.keeper = service.keeper

    # 1. Reading the request
    async def read(
        self, body: ResponseCreateRequest, context: RequestContext, deployment: str | None
    ) -> Turn:
        """Everything that can refuse the request from its own content, before the image service sees it."""
        tool = body.image_tool()
        limits = self.settings.server
        turn = read_input(body.input, max_image_bytes=limits.max_upload_bytes)
        owner = context.caller.key_id
        if body.previous_response_id is not None and turn.earlier is None:
            turn.earlier = await asyncio.to_thread(self._previous_image, body.previous_response_id, owner)
        resolver = ImageResolver(self.service, context.caller, max_bytes=limits.max_upload_bytes)
        images = await asyncio.to_thread(self._images, turn, tool, resolver)
        mask = None
        if tool.input_image_mask is not None:
            source = image_source(
                tool.input_image_mask.model_dump(), "tools.input_image_mask", limits.max_mask_bytes
            )
            mask = await asyncio.to_thread(resolver.upload, source)
        if mask is not None and not images:
            raise InvalidRequest(
                "`input_image_mask` needs an image to edit in the input.", param="tools.input_image_mask"
            )
        prompt = await self._prompt(turn, body, tool, context)
        request = _image_request(prompt, tool, body, images, mask, deployment)
        draft = ResponseDraft(
            id=new_secret_id("resp_"),
            model=body.model or deployment or tool.model or "gpt-image-1",
            call_id=new_secret_id(IMAGE_CALL_PREFIX),
            message_id=f"msg_{new_secret_id('')[:32]}",
            action="edit" if images else "generate",
            tool=tool.model_dump(exclude_none=True),
            tool_choice=body.tool_choice if body.tool_choice is not None else "auto",
            instructions=body.instructions,
            metadata=body.metadata or {},
            previous_response_id=body.previous_response_id,
            safety_identifier=body.safety_identifier or body.user,
            store=body.store is not False and self.settings.compat.responses_ttl_s > 0,
            owner=owner,
        )
        return Turn(request=request, draft=draft)

    async def _prompt(
        self, turn: TurnInput, body: ResponseCreateRequest, tool: ImageGenerationTool, context: RequestContext
    ) -> str:
        instructions = [*([body.instructions] if body.instructions else []), *turn.instructions]
        return await self.service.rewriter.rewrite(
            turn.prompt,
            instructions=instructions,
            level=tool.moderation or "auto",
            organization=context.caller.org_name,
        )

    def _images(self, turn: TurnInput, tool: ImageGenerationTool, resolver: ImageResolver) -> list[Upload]:
        """The images the turn edits (the earlier image first), unless the tool says `generate`."""
        sources = [*([turn.earlier] if turn.earlier is not None else []), *turn.images]
        if tool.action == "generate":
            return []
        if tool.action == "edit" and not sources:
            raise InvalidRequest(
                "`action: edit` needs an image: an `input_image`, an earlier image generation call or "
                "`previous_response_id`.",
                param="tools.action",
            )
        limit = self.settings.server.max_input_images
        if len(sources) > limit:
            raise InvalidRequest(f"At most {limit} input images may be sent.", param="input")
        return [resolver.upload(source) for source in sources]

    def _previous_image(self, response_id: str, owner: str | None) -> ImageSource:
        stored = self.keeper.open(kind=RESPONSE_KIND, secret_id=response_id, owner=owner)
        calls = [
            item
            for item in (stored.meta.get("output", []) if stored else [])
            if item.get("type") == "image_generation_call"
        ]
        if stored is None or not calls:
            raise InvalidRequest(
                f"Previous response with id '{response_id[:60]}' not found (or kept no image).",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        return ImageSource(param="previous_response_id", kept_id=calls[-1]["id"])

    # 2. Answering
    async def complete(self, turn: Turn, submission: Submission) -> dict[str, Any]:
        """Collect the Submission's image into the completed Response (and keep it)."""
        draft, usage, image = turn.draft, TokenUsage(0, 0, 0), b""
        try:
            async for event in submission:
                if isinstance(event, FinalImage):
                    image, usage = event.data, usage + event.usage
        finally:
            await submission.aclose()
        await self._finish(draft, submission, image, usage)
        return draft.body("completed")

    async def events(self, turn: Turn, submission: Submission) -> AsyncIterator[bytes]:
        """The Responses event sequence of a streamed turn; a failure after the stream opened ends it
        with `response.failed`, carrying the error a response would have had."""
        draft, events = turn.draft, EventSequence()
        draft.output = submission.output
        yield events.event("response.created", response=draft.body("in_progress"))
        yield events.event("response.in_progress", response=draft.body("in_progress"))
        where = {"output_index": 0, "item_id": draft.call_id}
        yield events.event("response.output_item.added", output_index=0, item=draft.image_call("in_progress"))
        yield events.event("response.image_generation_call.in_progress", **where)
        generating, usage, image = False, TokenUsage(0, 0, 0), b""
        try:
            async for event in submission:
                if not generating and isinstance(event, Step | PartialImage | FinalImage):
                    generating = True
                    yield events.event("response.image_generation_call.generating", **where)
                if isinstance(event, PartialImage):
                    yield await asyncio.to_thread(self._partial_event, events, draft, submission, event)
                elif isinstance(event, FinalImage):
                    image, usage = event.data, usage + event.usage
            await self._finish(draft, submission, image, usage)
        except Exception as error:
            failure = to_gazo_error(error)
            draft.error = {"code": failure.code or failure.type, "message": failure.message}
            yield events.event("response.failed", response=draft.body("failed"))
            return
        finally:
            await submission.aclose()
        yield events.event("response.image_generation_call.completed", **where)
        done = await asyncio.to_thread(
            events.event, "response.output_item.done", output_index=0, item=draft.image_call("completed")
        )
        yield done
        for message_event in _message_events(events, draft):
            yield message_event
        yield await asyncio.to_thread(events.event, "response.completed", response=draft.body("completed"))

    def _partial_event(
        self, events: EventSequence, draft: ResponseDraft, submission: Submission, event: PartialImage
    ) -> bytes:
        return events.event(
            "response.image_generation_call.partial_image",
            output_index=0,
            item_id=draft.call_id,
            partial_image_index=event.partial_index,
            partial_image_b64=base64.b64encode(event.data).decode(),
            **submission.output.fields(),
        )

    async def _finish(
        self, draft: ResponseDraft, submission: Submission, image: bytes, usage: TokenUsage
    ) -> None:
        draft.output = submission.output
        draft.revised_prompt = submission.revised_prompt
        draft.result = await asyncio.to_thread(lambda: base64.b64encode(image).decode())
        draft.usage, draft.completed_at = usage, int(time.time())
        if draft.store:
            try:
                await asyncio.to_thread(self._keep, draft, image)
            except GazoError:  # the image is made and paid for: hand it over, unkept
                logger.warning("could not keep response %s for follow-up turns", draft.id[:16], exc_info=True)
                draft.store = False

    def _keep(self, draft: ResponseDraft, image: bytes) -> None:
        ttl = timedelta(seconds=self.settings.compat.responses_ttl_s)
        owner = draft.owner
        assert draft.output is not None
        media_type = _MEDIA_TYPES[draft.output.output_format]
        self.keeper.keep(
            kind=IMAGE_CALL_KIND,
            secret_id=draft.call_id,
            owner=owner,
            meta={"media_type": media_type},
            data=image,
            ttl=ttl,
        )
        stored = draft.body("completed")
        for item in stored["output"]:
            if item["type"] == "image_generation_call":
                item["result"] = None  # kept once, under the call's own id
                if not self._retains_prompts():
                    item["revised_prompt"] = None
        if not self._retains_prompts():
            stored["instructions"] = None
        self.keeper.keep(kind=RESPONSE_KIND, secret_id=draft.id, owner=owner, meta=stored, data=b"", ttl=ttl)

    def _retains_prompts(self) -> bool:
        return self.settings.billing.retention_days > 0

    # 3. Stored responses
    def retrieve(self, response_id: str, owner: str | None) -> dict[str, Any]:
        stored = self.keeper.open(kind=RESPONSE_KIND, secret_id=response_id, owner=owner)
        if stored is None:
            raise NotFound(f"Response with id '{response_id[:60]}' not found.", param="response_id")
        body = stored.meta
        for item in body.get("output", []):
            if item.get("type") == "image_generation_call":
                image = self.keeper.open(kind=IMAGE_CALL_KIND, secret_id=item["id"], owner=owner)
                item["result"] = base64.b64encode(image.data).decode() if image is not None else None
        return body

    def delete(self, response_id: str, owner: str | None) -> dict[str, Any]:
        stored = self.keeper.open(kind=RESPONSE_KIND, secret_id=response_id, owner=owner)
        if stored is None:
            raise NotFound(f"Response with id '{response_id[:60]}' not found.", param="response_id")
        for item in stored.meta.get("output", []):
            if item.get("type") == "image_generation_call":
                self.keeper.forget(kind=IMAGE_CALL_KIND, secret_id=item["id"], owner=owner)
        self.keeper.forget(kind=RESPONSE_KIND, secret_id=response_id, owner=owner)
        return {"id": response_id, "object": "response.deleted", "deleted": True}


def _message_events(events: EventSequence, draft: ResponseDraft) -> list[bytes]:
    """The short assistant message after the image, as a chat model's answer streams."""
    where = {"output_index": 1, "item_id": draft.message_id, "content_index": 0}
    empty = text_part("")
    return [
        events.event("response.output_item.added", output_index=1, item=draft.message("in_progress")),
        events.event("response.content_part.added", **where, part=empty),
        events.event("response.output_text.delta", **where, delta=DONE_MESSAGE, logprobs=[]),
        events.event("response.output_text.done", **where, text=DONE_MESSAGE, logprobs=[]),
        events.event("response.content_part.done", **where, part=text_part(DONE_MESSAGE)),
        events.event("response.output_item.done", output_index=1, item=draft.message("completed")),
    ]


def _image_request(
    prompt: str,
    tool: ImageGenerationTool,
    body: ResponseCreateRequest,
    images: list[Upload],
    mask: Upload | None,
    deployment: str | None,
) -> ImageRequest:
    output_compression = 100 if tool.output_compression is None else tool.output_compression
    if output_compression != 100 and tool.output_format not in ("jpeg", "webp"):
        raise InvalidRequest(
            "`output_compression` applies only to jpeg and webp output.", param="tools.output_compression"
        )
    return ImageRequest(
        prompt=prompt,
        model=deployment or tool.model,
        n=1,
        size=tool.size or "auto",
        quality=tool.quality or "auto",
        background=tool.background or "auto",
        output_format=tool.output_format or "png",  # type: ignore[arg-type]
        output_compression=output_compression,
        moderation=tool.moderation or "auto",
        partial_images=(tool.partial_images or 0) if body.stream else 0,
        safety_identifier=body.safety_identifier or body.user or None,
        images=tuple(images),
        mask=mask,
        input_fidelity=tool.input_fidelity or "low",
        seed=tool.seed,
        lora=lora_pairs(tool.lora),
    )
