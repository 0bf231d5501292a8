"""Reading a Responses request's `input`: the user's text, the images sent with it, the image before it.

A turn renders from the text of the last user message. It edits when there is an image: the images of
that message (`input_image` parts), and before them the last image of an earlier turn (an
`image_generation_call` item, sent back whole or by id, or the output of `previous_response_id`).
Images come as data URLs or as ids of images gazo keeps; gazo never fetches a URL from the web (a
server that did could be pointed at the operator's own network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gazo.api.image_refs import IMAGE_CALL_PREFIX, ImageSource, decode_base64, image_source
from gazo.api.protocol import check_plain_text
from gazo.errors import InvalidRequest


@dataclass
class TurnInput:
    prompt: str
    images: list[ImageSource] = field(default_factory=list)
    earlier: ImageSource | None = None
    #: System and developer messages: for the prompt rewriter, when one is configured.
    instructions: list[str] = field(default_factory=list)


def read_input(value: str | list[dict[str, Any]] | None, *, max_image_bytes: int) -> TurnInput:
    if value is None:
        raise InvalidRequest(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    if isinstance(value, str):
        return TurnInput(prompt=_prompt(value, "input"))
    reader = _Reader(max_image_bytes)
    for index, item in enumerate(value):
        reader.read_item(item, f"input[{index}]")
    return reader.result()


class _Reader:
    def __init__(self, max_image_bytes: int) -> None:
        self.max_image_bytes = max_image_bytes
        self.texts: list[str] = []
        self.images: list[ImageSource] = []
        self.earlier: ImageSource | None = None
        self.instructions: list[str] = []
        self.seen_user = False

    def read_item(self, item: object, param: str) -> None:
        if not isinstance(item, dict):
            raise InvalidRequest(f"`{param}` must be an object.", param=param)
        kind = item.get("type", "message")
        if kind == "message":
            self._message(item, param)
        elif kind == "image_generation_call":
            self._earlier_image(item, param)
        elif kind == "item_reference":
            self._earlier_reference(item.get("id"), param)
        else:
            raise InvalidRequest(
                f"`{param}` is a `{kind}` item; gazo reads messages and image generation calls only.",
                param=f"{param}.type",
            )

    def result(self) -> TurnInput:
        if not self.seen_user or not any(text.strip() for text in self.texts):
            raise InvalidRequest(
                "The input has no user text to draw from: send a string, or a user message with text.",
                param="input",
            )
        prompt = _prompt("\n".join(text for text in self.texts if text.strip()), "input")
        return TurnInput(
            prompt=prompt, images=self.images, earlier=self.earlier, instructions=self.instructions
        )

    def _message(self, item: dict[str, Any], param: str) -> None:
        role, content = item.get("role"), item.get("content")
        if role in ("system", "developer"):
            self.instructions.extend(_texts(content, f"{param}.content", ("input_text", "text")))
            return
        if role == "assistant":  # an earlier answer: its text is not drawn again
            return
        if role != "user":
            raise InvalidRequest(
                f"`{param}.role` must be user, assistant, system or developer.", param=f"{param}.role"
            )
        if self.seen_user and self.images:  # a later user message: the earlier one's images were used before
            self.earlier = self.images[-1]
        self.seen_user, self.texts, self.images = True, [], []
        if isinstance(content, str):
            self.texts.append(content)
            return
        if not isinstance(content, list):
            raise InvalidRequest(
                f"`{param}.content` must be a string or a list of parts.", param=f"{param}.content"
            )
        for index, part in enumerate(content):
            self._part(part, f"{param}.content[{index}]")

    def _part(self, part: object, param: str) -> None:
        if not isinstance(part, dict):
            raise InvalidRequest(f"`{param}` must be an object.", param=param)
        kind = part.get("type")
        if kind == "input_text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequest(f"`{param}.text` must be a string.", param=f"{param}.text")
            self.texts.append(text)
        elif kind == "input_image":
            self.images.append(image_source(part, param, self.max_image_bytes))
        else:
            raise InvalidRequest(
                f"`{param}` is `{kind}`; gazo reads `input_text` and `input_image` parts.",
                param=f"{param}.type",
            )

    def _earlier_image(self, item: dict[str, Any], param: str) -> None:
        result = item.get("result")
        if isinstance(result, str) and result:
            self.earlier = ImageSource(param=param, data=decode_base64(result, param, self.max_image_bytes))
        else:
            self._earlier_reference(item.get("id"), param)

    def _earlier_reference(self, item_id: object, param: str) -> None:
        if not isinstance(item_id, str) or not item_id.startswith(IMAGE_CALL_PREFIX):
            raise InvalidRequest(
                f"`{param}.id` must name an image generation call of gazo (`ig_...`).", param=f"{param}.id"
            )
        self.earlier = ImageSource(param=param, kept_id=item_id)


def _texts(content: object, param: str, kinds: tuple[str, ...]) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") in kinds and isinstance(part.get("text"), str)
        ]
    raise InvalidRequest(f"`{param}` must be a string or a list of parts.", param=param)


def _prompt(text: str, param: str) -> str:
    """The Images API's rules for a prompt (length, no control characters), checked the same way."""
    if not text.strip():
        raise InvalidRequest(f"`{param}` has no text to draw from.", param=param)
    if len(text) > 32000:
        raise InvalidRequest(f"The text of `{param}` is longer than 32000 characters.", param=param)
    try:
        check_plain_text(text)
    except ValueError as error:
        raise InvalidRequest(f"Invalid value for '{param}': {error}.", param=param) from None
    return text
