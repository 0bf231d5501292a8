"""`gazo generate|edit --server URL`: the same request through a running gazo's HTTP API, streamed.

The transport is the official `openai` SDK, as any client of gazo would use it: gazo's own fields go
through `extra_body`, and its typed errors are turned into the CLI's one-line failures with a next step.
The events are the service's own `PartialImage` and `FinalImage`, so the command shows one progress
bar and writes files the same way whether it renders in-process or asks a server.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from gazo.billing.tokens import TokenUsage
from gazo.cli.errors import fail, next_step
from gazo.jobs import ImageRequest
from gazo.service import FinalImage, PartialImage

if TYPE_CHECKING:
    import openai
    from openai.types import ImageEditStreamEvent, ImageGenStreamEvent
    from openai.types.image_edit_completed_event import Usage as EditUsage
    from openai.types.image_gen_completed_event import Usage as GenerationUsage

#: For connecting and sending; reading waits as long as the render takes (a request without partial
#: images is silent until its first image is done).
_CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Output:
    """What the server settled on for the images it made (`auto` resolved), as `--json` reports it."""

    size: str
    quality: str
    background: str
    gazo: dict[str, Any] | None = None  #: gazo's extensions: the text it set, how extra images were used

    def to_json(self) -> dict[str, Any]:
        fields = {"size": self.size, "quality": self.quality, "background": self.background}
        return {**fields, "gazo": self.gazo} if self.gazo else fields


class RemoteImages:
    """One request to the gazo at `server`: iterate `stream()` for its images; `output` is then set."""

    def __init__(self, request: ImageRequest, server: str, api_key: str | None) -> None:
        self.request, self.server, self.api_key = request, server, api_key
        self.base = server.rstrip("/")
        self.output: Output | None = None

    async def stream(self) -> AsyncIterator[PartialImage | FinalImage]:
        """POST the request with `stream=true` and yield its previews and images as they arrive."""
        split = urlsplit(self.base)
        if split.scheme not in ("http", "https") or not split.hostname:
            fail(
                f"--server {self.server!r} is not a URL",
                "give it with its scheme, e.g. --server http://127.0.0.1:8000.",
            )
        # Imported here, not at the top: the SDK takes ~0.4 s to import, which every other command
        # (`gazo keys list`, `gazo --help`, ...) would pay for nothing.
        import openai

        # The SDK insists on a key; without one `_open` leaves the header out (a server in open mode
        # serves that, a closed one says no key was sent). OPENAI_API_KEY, meant for OpenAI, is not read.
        client = openai.AsyncOpenAI(
            base_url=f"{self.base}/v1",
            api_key=self.api_key or "never-sent",
            max_retries=0,
            timeout=openai.Timeout(_CONNECT_TIMEOUT_S, read=None),
        )
        started = False
        try:
            async with client, await self._open(client) as events:
                started = True
                content_type = events.response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    fail(
                        f"{self.base} did not answer with an event stream ({content_type or 'no type'})",
                        "check that --server is a gazo server.",
                    )
                finals = 0
                async for event in events:
                    if event.type in ("image_generation.partial_image", "image_edit.partial_image"):
                        data = base64.b64decode(event.b64_json)
                        yield PartialImage(finals, event.partial_image_index, data)
                    elif event.type in ("image_generation.completed", "image_edit.completed"):
                        self.output = Output(
                            event.size, event.quality, event.background, (event.model_extra or {}).get("gazo")
                        )
                        yield FinalImage(finals, base64.b64decode(event.b64_json), _usage(event.usage))
                        finals += 1
        except openai.APIStatusError as error:
            status, headers = error.status_code, error.response.headers
            self._refuse(
                error, status, headers.get("retry-after"), f"HTTP {status}: {error.response.text[:200]}"
            )
        except openai.APITimeoutError:
            fail(
                f"gazo at {self.base} did not answer in time",
                "check that the URL is a gazo server and that it is up.",
            )
        except openai.APIConnectionError as error:
            cause = f" ({error.__cause__})" if error.__cause__ else ""
            if started:
                fail(
                    f"the connection to gazo at {self.base} broke off{cause}",
                    "the server's log says why; run the command again once it is up.",
                )
            port = split.port or 8000
            fail(
                f"could not connect to gazo at {self.base}{cause}",
                f"is `gazo serve` running? Start it with `gazo serve --port {port}`, "
                "or leave out --server (and GAZO_SERVER) to render in this process.",
            )
        except openai.APIError as error:  # an `error` event: the request failed after its status line
            self._refuse(error, 0, None, error.message)

    async def _open(
        self, client: openai.AsyncOpenAI
    ) -> openai.AsyncStream[ImageGenStreamEvent] | openai.AsyncStream[ImageEditStreamEvent]:
        """Send the request; OpenAI's parameters as such, gazo's (`seed`, `placement`, `text`) as
        `extra_body`, the fields the CLI left unset not at all."""
        import openai

        request = self.request
        extra: dict[str, Any] = {"seed": request.seed, "placement": request.placement}
        extra = {key: value for key, value in extra.items() if value is not None}
        if request.text:
            extra["text"] = list(request.text)
        common: dict[str, Any] = {
            "prompt": request.prompt,
            "model": request.model if request.model is not None else openai.omit,
            "n": request.n,
            "size": request.size,
            "quality": request.quality,
            "background": request.background,
            "output_format": request.output_format,
            "partial_images": request.partial_images,
            "extra_body": extra or None,
            "extra_headers": None if self.api_key else {"Authorization": openai.omit},
        }
        if not request.is_edit:
            return await client.images.generate(stream=True, **common)
        images = [(upload.filename, upload.data) for upload in request.images]
        mask = request.mask
        return await client.images.edit(
            image=images[0] if len(images) == 1 else images,
            mask=(mask.filename, mask.data) if mask is not None else openai.omit,
            stream=True,
            **common,
        )

    def _refuse(
        self, error: openai.APIError, status: int, retry_after: str | None, fallback: str
    ) -> NoReturn:
        """The server's own message (`fallback` when it sent none: not a gazo server), its code, and
        what to do about them."""
        message = error.body.get("message") if isinstance(error.body, dict) else None
        hint = next_step(error.code, status, retry_after=retry_after, has_key=bool(self.api_key))
        if status == 404 and error.code != "model_not_found":  # e.g. --server http://host:8000/v1
            root = f": --server {self.base.removesuffix('/v1')}" if self.base.endswith("/v1") else ""
            hint = f"give the URL `gazo serve` answers at, without /v1 (it is added){root}."
        fail(str(message or fallback), hint, code=error.code)


def _usage(usage: GenerationUsage | EditUsage) -> TokenUsage:
    """The service's `TokenUsage` from the event's `usage` (the same fields for generations and edits)."""
    details = usage.input_tokens_details
    return TokenUsage(details.text_tokens, details.image_tokens, usage.output_tokens)
