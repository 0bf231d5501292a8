"""The body of an Images API response (`ImagesResponse`): for the HTTP routes and for batch output lines."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from starlette.requests import Request

from gazo.api.protocol import Image, ImagesResponse
from gazo.service import ImageResult
from gazo.settings import Settings


@dataclass(frozen=True)
class Delivery:
    """How a response hands its images over: where `url`s point, and whether to report the prompt the
    model rendered (`revised_prompt`)."""

    base_url: str
    revised_prompt: bool

    @classmethod
    def of(cls, http: Request, settings: Settings, *, revised_prompt: bool) -> Delivery:
        base = settings.compat.public_base_url or str(http.base_url)
        return cls(base_url=base.rstrip("/"), revised_prompt=revised_prompt)

    def images(self, result: ImageResult) -> list[Image]:
        revised = result.revised_prompt if self.revised_prompt else None
        if result.kept_as:
            extension = result.output.output_format
            return [
                Image(url=f"{self.base_url}/images/{secret_id}.{extension}", revised_prompt=revised)
                for secret_id in result.kept_as
            ]
        return [
            Image(b64_json=base64.b64encode(data).decode(), revised_prompt=revised) for data in result.images
        ]

    def response(self, result: ImageResult) -> ImagesResponse:
        output = result.output
        return ImagesResponse(
            created=result.created,
            background=output.background,
            data=self.images(result),
            output_format=output.output_format,
            quality=output.quality,
            safety_identifier=result.safety_identifier,
            size=output.size,
            usage=result.usage.to_openai_dict(),
            gazo=result.extensions or None,
        )

    def body(self, result: ImageResult) -> bytes:
        """The JSON body (megabytes of base64: build it off the event loop)."""
        return self.response(result).model_dump_json(exclude_none=True).encode()
