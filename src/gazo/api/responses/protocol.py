"""Wire types of `POST /v1/responses`, after openai-python's `response_create_params` and `tool`.

gazo runs no chat model: a request must carry the `image_generation` tool, and the options of a chat
model (`temperature`, `reasoning`, ...) are accepted and have no effect, so that agent frameworks that
always send them work unchanged (the README says so). Options that would change the image and that
gazo cannot honour are refused by name, as on the Images API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gazo.api.protocol import SEED_DESCRIPTION, Flag, LoraChoices, NotBool, PlainText, Seed
from gazo.errors import InvalidRequest, UnsupportedParameter


class InputImageMask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_url: str | None = None
    file_id: str | None = None


class ImageGenerationTool(BaseModel):
    """`{"type": "image_generation", ...}`: the image options of the request."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["image_generation"]
    action: Literal["generate", "edit", "auto"] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    input_fidelity: Literal["high", "low"] | None = None
    input_image_mask: InputImageMask | None = None
    model: PlainText | None = None
    moderation: Literal["auto", "low"] | None = None
    output_compression: Annotated[int, Field(ge=0, le=100), NotBool] | None = None
    output_format: Literal["png", "webp", "jpeg", "gif", "svg"] | None = None
    partial_images: Annotated[int, Field(ge=0, le=3), NotBool] | None = None
    quality: Literal["low", "medium", "high", "xhigh", "max", "auto"] | None = None
    size: str | None = None
    # gazo extensions, as on the Images API
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION)
    lora: LoraChoices | None = None
    # Refused by name (GIF/SVG output and planning complexity are OpenAI-specific).
    complexity: Any = None
    frame_count: Any = None
    frame_duration_ms: Any = None
    svg: Any = None

    def refuse_unsupported(self) -> None:
        for name in ("complexity", "frame_count", "frame_duration_ms", "svg"):
            if getattr(self, name) is not None:
                raise UnsupportedParameter(
                    f"`tools[].{name}` is not supported by gazo.", param=f"tools.{name}"
                )
        if self.output_format in ("gif", "svg"):
            raise UnsupportedParameter(
                f"`output_format` {self.output_format} is not supported; use png, jpeg or webp.",
                param="tools.output_format",
            )


#: Options of a chat model: accepted (clients send them by habit) and without effect, gazo having none.
CHAT_MODEL_OPTIONS = (
    "background_options",
    "context_management",
    "include",
    "max_output_tokens",
    "max_tool_calls",
    "parallel_tool_calls",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "reasoning",
    "service_tier",
    "stream_options",
    "temperature",
    "text",
    "top_logprobs",
    "top_p",
    "truncation",
)


class ResponseCreateRequest(BaseModel):
    """`POST /v1/responses`. `input` stays loosely typed here and is read by `gazo.api.responses.inputs`,
    which names the exact item a problem is in."""

    model_config = ConfigDict(extra="forbid")

    model: PlainText | None = None
    input: str | list[dict[str, Any]] | None = None
    instructions: PlainText | None = None
    metadata: dict[str, Annotated[str, Field(max_length=512)]] | None = Field(None, max_length=16)
    moderation: Any = None
    previous_response_id: Annotated[str, Field(max_length=200)] | None = None
    safety_identifier: PlainText | None = None
    store: Flag | None = None
    stream: Flag | None = None
    tool_choice: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    user: PlainText | None = None
    # Refused: features of OpenAI's platform that gazo does not have.
    background: Any = None
    conversation: Any = None
    prompt: Any = None
    image: Any = None
    access_programs: Any = None
    # Accepted without effect (see CHAT_MODEL_OPTIONS).
    background_options: Any = None
    context_management: Any = None
    include: Any = None
    max_output_tokens: Any = None
    max_tool_calls: Any = None
    parallel_tool_calls: Any = None
    prompt_cache_key: Any = None
    prompt_cache_options: Any = None
    prompt_cache_retention: Any = None
    reasoning: Any = None
    service_tier: Any = None
    stream_options: Any = None
    temperature: Any = None
    text: Any = None
    top_logprobs: Any = None
    top_p: Any = None
    truncation: Any = None

    def image_tool(self) -> ImageGenerationTool:
        """The request's `image_generation` tool, checked; a request without one is refused (400)."""
        for name, reason in (
            ("background", "background responses are not supported; stream instead"),
            ("conversation", "conversations are not stored; use `previous_response_id`"),
            ("prompt", "stored prompt templates are not supported"),
            ("image", "`image` options are not supported"),
            ("access_programs", "access programs are OpenAI's"),
        ):
            if getattr(self, name) not in (None, False):
                raise UnsupportedParameter(f"`{name}` is not supported by gazo: {reason}.", param=name)
        tools = self.tools or []
        found = [tool for tool in tools if isinstance(tool, dict) and tool.get("type") == "image_generation"]
        others = sorted(
            {str(tool.get("type")) for tool in tools if isinstance(tool, dict)} - {"image_generation"}
        )
        if others:
            raise UnsupportedParameter(
                f"gazo serves images only and runs no chat model, so it cannot use the tools "
                f'{", ".join(others)}; send only `{{"type": "image_generation"}}`.',
                param="tools",
            )
        if not found:
            raise InvalidRequest(
                "gazo serves images: a request to /v1/responses must carry the image generation tool, "
                'as `tools=[{"type": "image_generation"}]`.',
                param="tools",
                code="missing_required_parameter",
            )
        if len(found) > 1:
            raise InvalidRequest("Send the `image_generation` tool once.", param="tools")
        self._check_tool_choice()
        tool = ImageGenerationTool.model_validate(found[0])
        tool.refuse_unsupported()
        return tool

    def _check_tool_choice(self) -> None:
        """`auto`, `required` or the image tool itself all make an image; `none` asks for none."""
        choice = self.tool_choice
        if choice is None or choice in ("auto", "required"):
            return
        if isinstance(choice, dict) and choice.get("type") == "image_generation":
            return
        if choice == "none":
            raise InvalidRequest(
                "gazo serves images only: `tool_choice: none` leaves it nothing to do.", param="tool_choice"
            )
        raise InvalidRequest(
            '`tool_choice` must be `auto`, `required` or `{"type": "image_generation"}`.',
            param="tool_choice",
        )
