"""Settings of the OpenAI surfaces beyond the Images API: image URLs, the Responses API, prompt rewriting."""

from __future__ import annotations

from pydantic import Field

from gazo.settings.section import Section


class PromptRewriteSettings(Section):
    """An OpenAI-compatible chat endpoint that rewrites the prompts of the Responses API, off by default."""

    base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible chat completions API (`http://llm:8000/v1`); unset = "
        "off: the prompt is the user's own text.",
    )
    model: str = Field("default", description="Chat model the rewriting endpoint is asked for.")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding that endpoint's API key (never the key)."
    )
    instructions: str = Field(
        "Rewrite the user's request as one detailed, literal description of the image to draw. Keep every "
        "detail the user gave; add nothing that changes its meaning. Answer with the description only.",
        description="System message sent with each prompt.",
    )
    timeout_s: float = Field(
        20.0, gt=0, le=300, description="Longest wait for a rewrite; past it the user's own text is used."
    )


class CompatSettings(Section):
    """OpenAI's other ways of asking for images: `url` responses, the Responses API, DALL-E clients."""

    public_base_url: str | None = Field(
        None,
        description="Base of the URLs gazo hands out (`https://images.example.com`), for a server behind a "
        "proxy; default: the scheme and host the request came in on.",
    )
    image_url_ttl_s: int = Field(
        3600,
        ge=60,
        le=7 * 24 * 3600,
        description="How long an image returned as `url` stays fetchable (OpenAI: 1 h); it is deleted then.",
    )
    responses_ttl_s: int = Field(
        3600,
        ge=0,
        le=30 * 24 * 3600,
        description="How long a stored Response is kept for `GET /v1/responses/{id}` and follow-up turns "
        "(`previous_response_id`); 0 keeps none. Prompt text is kept with it only when "
        "`billing.retention_days` > 0; otherwise only what a follow-up turn needs (the images).",
    )
    prompt_rewrite: PromptRewriteSettings = Field(
        default_factory=PromptRewriteSettings, description="Optional prompt rewriting by a chat model."
    )
