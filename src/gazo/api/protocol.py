"""Wire types, named and ordered after openai-python's (`image_generate_params`, `images_response`, ...).

Unknown fields are refused (OpenAI answers `unknown_parameter`), and fields OpenAI defines that gazo
cannot honour are refused by name: a "compatible" server that accepts a field and ignores it is the
failure this module exists to prevent. gazo's own additions are fenced off at the end of each model.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gazo.errors import UnsupportedParameter
from gazo.jobs import ImageRequest, Placement, Style, Upload
from gazo.settings.serving import ADAPTER_WEIGHT_MAX, ADAPTER_WEIGHT_MIN

#: DALL-E model names: their `size` defaults to 1024x1024, and `dall-e-3`'s `style` to vivid (as OpenAI's).
DALLE_MODELS = ("dall-e-2", "dall-e-3")
#: DALL-E's `quality` values, as the gazo qualities they render at.
DALLE_QUALITIES = {"standard": "medium", "hd": "high"}
#: The prompt of `POST /v1/images/variations`: an edit of the image that keeps it closely.
VARIATION_PROMPT = (
    "A variation of this image: the same subject, composition, palette and style, "
    "with small natural differences in detail."
)

#: Fields of OpenAI's API that gazo refuses, with the reason given to the client.
_REFUSED = {
    "complexity": "planning complexity is specific to OpenAI's newer models",
    "frame_count": "GIF output is not supported",
    "frame_duration_ms": "GIF output is not supported",
    "svg": "SVG output is not supported",
    "markup": "markup images are not supported",
}


def _one_or_many(value: object) -> object:
    """One string stands for a list of one (the SDK sends `extra_body` values as they are)."""
    return [value] if isinstance(value, str) else value


#: C0 control characters other than tab, line feed and carriage return (pydantic refuses lone surrogates).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_plain_text(value: str | list[str] | None) -> str | list[str] | None:
    """Free text holds no control characters, tab and line breaks aside: PostgreSQL cannot store NUL (a
    request would fail after rendering), and the others only garble logs and terminals."""
    for text in [value] if isinstance(value, str) else value or ():
        found = _CONTROL.search(text)
        if found:
            raise ValueError(
                f"must not contain control characters other than tab and line breaks, found "
                f"U+{ord(found.group()):04X} at position {found.start()}"
            )
    return value


def _not_bool(value: object) -> object:
    """Numbers are numbers: `true` is not 1 (OpenAI refuses booleans in numeric fields)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


def _not_number(value: object) -> object:
    """Flags are booleans (or the `true`/`false` a multipart form sends): `0` is not `false`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be a boolean, not a number")
    return value


#: The rule `check_plain_text` enforces, published in the OpenAPI document (checked by our validator, so the
#: client reads which character was refused, not "should match pattern").
_PLAIN_TEXT_PATTERN = {"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"}
PlainText = Annotated[str, AfterValidator(check_plain_text), Field(json_schema_extra=_PLAIN_TEXT_PATTERN)]

#: Bounds go before the validator, so the OpenAPI document shows them as `minimum`/`maximum`.
NotBool = BeforeValidator(_not_bool)

Flag = Annotated[bool, BeforeValidator(_not_number)]
Count = Annotated[int, Field(ge=1, le=10), NotBool]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1), NotBool]
SEED_DESCRIPTION = "Fixed seed: the same request gives the same image."


class LoraChoice(BaseModel):
    """One LoRA adapter a request picks (`lora`, where the model allows it): a configured adapter's name,
    and the weight to apply it at (default: its configured weight)."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(min_length=1, max_length=200)
    weight: Annotated[float, Field(ge=ADAPTER_WEIGHT_MIN, le=ADAPTER_WEIGHT_MAX), NotBool] | None = None


#: `lora` of a request (a gazo extension, sent through the SDK's `extra_body`).
LoraChoices = Annotated[
    list[LoraChoice],
    Field(
        max_length=8,
        description="LoRA adapters to apply, by the names configured on the model, each at an optional "
        "weight; only on models whose operator allows it (`request_adapters`).",
    ),
]


def lora_pairs(choices: list[LoraChoice] | None) -> tuple[tuple[str, float | None], ...]:
    """`lora` as the domain request takes it: (name, weight or None for the configured one)."""
    return tuple((choice.name, choice.weight) for choice in choices or ())


class _ImageRequestBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: PlainText = Field(min_length=1, max_length=32000)
    background: Literal["transparent", "opaque", "auto"] | None = None
    complexity: Any = None
    frame_count: Any = None
    frame_duration_ms: Any = None
    model: PlainText | None = None
    moderation: Literal["low", "auto"] | None = None
    n: Count | None = None
    output_compression: Annotated[int, Field(ge=0, le=100), NotBool] | None = None
    output_format: Literal["png", "webp", "jpeg", "gif", "svg"] | None = None
    partial_images: Annotated[int, Field(ge=0, le=3), NotBool] | None = None
    quality: Literal["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"] | None = None
    response_format: Literal["url", "b64_json"] | None = None
    safety_identifier: PlainText | None = None
    size: str | None = None
    stream: Flag | None = None
    style: Style | None = None
    svg: Any = None
    user: PlainText | None = None
    # gazo extensions (the SDK sends them through `extra_body`)
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION)
    text: Annotated[list[str] | None, BeforeValidator(_one_or_many), AfterValidator(check_plain_text)] = (
        Field(
            None,
            description="Text to set exactly in the image: one string or several (the first is the "
            "headline), besides any the prompt quotes.",
        )
    )
    lora: LoraChoices | None = None

    def to_request(self, **uploads: Any) -> ImageRequest:
        """Refuse what gazo cannot honour, then convert to the domain request the service takes."""
        self._refuse_unsupported()
        return ImageRequest(
            prompt=self.prompt,
            model=self.model,
            n=self.n or 1,
            size=self.size or _default_size(self.model),
            quality=DALLE_QUALITIES.get(self.quality or "", self.quality or "auto"),
            background=self.background or "auto",
            output_format=self.output_format or "png",  # type: ignore[arg-type]
            output_compression=100 if self.output_compression is None else self.output_compression,
            moderation=self.moderation or "auto",
            partial_images=self.partial_images or 0,
            seed=self.seed,
            safety_identifier=self.safety_identifier or self.user or None,
            text=tuple(self.text or ()),
            style=self.style or ("vivid" if self.model == "dall-e-3" else None),
            response_format=self.response_format or "b64_json",
            lora=lora_pairs(self.lora),
            **uploads,
        )

    @property
    def shows_revised_prompt(self) -> bool:
        """`revised_prompt` is DALL-E 3's; gazo reports it for that name, or when a `style` changed it."""
        return self.model == "dall-e-3" or self.style is not None

    def _refuse_unsupported(self) -> None:
        for name, reason in _REFUSED.items():
            if getattr(self, name, None) is not None:
                raise UnsupportedParameter(f"`{name}` is not supported by gazo: {reason}.", param=name)
        if self.output_format in ("gif", "svg"):
            raise UnsupportedParameter(
                f"`output_format` {self.output_format} is not supported; use png, jpeg or webp.",
                param="output_format",
            )
        if self.response_format == "url" and self.stream:
            raise UnsupportedParameter(
                "`response_format` url cannot be streamed: stream events carry base64 images.",
                param="response_format",
            )
        if self.partial_images and not self.stream:
            raise UnsupportedParameter("`partial_images` needs `stream: true`.", param="partial_images")
        if self.output_compression not in (None, 100) and self.output_format not in ("jpeg", "webp"):
            raise UnsupportedParameter(
                "`output_compression` applies only to jpeg and webp output.", param="output_compression"
            )


class ImageGenerateRequest(_ImageRequestBase):
    """`POST /v1/images/generations` (JSON)."""


class ImageEditRequest(_ImageRequestBase):
    """The scalar fields of `POST /v1/images/edits` (multipart; values arrive as strings)."""

    input_fidelity: Literal["high", "low"] | None = None
    # gazo extensions
    placement: Placement | None = Field(
        None, description="Background extension: where the image sits on the larger canvas `size` asks for."
    )

    def to_edit_request(self, images: list[Upload], mask: Upload | None) -> ImageRequest:
        return self.to_request(
            images=tuple(images),
            mask=mask,
            input_fidelity=self.input_fidelity or "low",
            placement=self.placement,
        )


class ImageReference(BaseModel):
    """An image in a JSON body: `image_url` (a data URL, or an image URL gazo gave) or `file_id`."""

    model_config = ConfigDict(extra="forbid")

    image_url: str | None = None
    file_id: Annotated[str, Field(max_length=200)] | None = None


class ImageEditJsonRequest(ImageEditRequest):
    """`POST /v1/images/edits` as JSON (and edit lines of a batch): the images by reference."""

    images: list[ImageReference] = Field(min_length=1, max_length=64)
    mask: ImageReference | None = None


class ImageCreateVariationRequest(BaseModel):
    """The scalar fields of `POST /v1/images/variations` (multipart): an edit of the one `image` with
    `VARIATION_PROMPT` and `input_fidelity` high, so it is checked, moderated, billed and signed as one."""

    model_config = ConfigDict(extra="forbid")

    model: PlainText | None = None
    n: Count | None = None
    response_format: Literal["url", "b64_json"] | None = None
    size: str | None = None
    user: PlainText | None = None
    # gazo extensions
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION)

    def to_variation_request(self, image: Upload) -> ImageRequest:
        edit = ImageEditRequest(
            prompt=VARIATION_PROMPT, input_fidelity="high", **self.model_dump(exclude_none=True)
        )
        return edit.to_edit_request([image], None)


def _default_size(model: str | None) -> str:
    return "1024x1024" if model in DALLE_MODELS else "auto"


class Image(BaseModel):
    b64_json: str | None = None
    revised_prompt: str | None = None
    url: str | None = None


class ImagesResponse(BaseModel):
    created: int
    background: Literal["transparent", "opaque"] | None = None
    data: list[Image] | None = None
    output_format: Literal["png", "webp", "jpeg"] | None = None
    quality: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    safety_identifier: str | None = None
    size: str | None = None
    usage: dict[str, Any] | None = None
    # gazo extensions: what gazo did beyond OpenAI's API (text it set, how references were used)
    gazo: dict[str, Any] | None = None


class Model(BaseModel):
    """An entry of `GET /v1/models` (openai-python `Model`)."""

    id: str
    created: int
    object: Literal["model"] = "model"
    owned_by: str = "gazo"
    # gazo extensions
    alias_of: str | None = None
    description: str | None = None
    #: USD per 1M tokens by kind (`text_input`, `image_input`, `image_output`), as this server charges.
    pricing: dict[str, float] | None = None
    #: The same for a line of the Batch API (`/v1/batches`), at its discount.
    batch_pricing: dict[str, float] | None = None
    #: Where the model's weights are: `ready` (in memory), `loading`, `unloaded` (loads on the next
    #: request) or `failed`; an alias or adapter reports its model's.
    status: Literal["loading", "ready", "unloaded", "failed"] | None = None
    #: Memory its weights take on their device: measured once loaded, else estimated from its files
    #: (this and `last_used_at` are shown to admin keys only).
    memory_bytes: int | None = None
    #: Unix time the model last ended a pass, or finished loading if it has run none since (None: not
    #: loaded since this server started). Its keep_alive and eviction count from it.
    last_used_at: int | None = None
    #: For a LoRA adapter published as a model: the base model it applies to.
    base_model: str | None = None
    #: For a base model: the names of the adapters it serves.
    adapters: list[str] | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


def list_page(data: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """A page as OpenAI's list endpoints return one."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": more,
    }
