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


class BatchSettings(Section):
    """The Files and Batch APIs (`/v1/files`, `/v1/batches`): bulk work, queued durably in the database."""

    max_file_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1024,
        description="Largest file `/v1/files` accepts (OpenAI: 200 MB for batch input); larger ones get 413.",
    )
    max_stored_bytes: int = Field(
        10 * 1024**3,
        ge=1024,
        description="Most bytes of files one organisation (or key without one) may keep at once; an upload "
        "past it is refused (413) until files are deleted or expire. Batch output counts too.",
    )
    max_lines: int = Field(
        50_000, ge=1, description="Most requests one batch input file may hold (OpenAI: 50,000)."
    )
    max_waiting_lines: int = Field(
        200_000,
        ge=1,
        description="Most lines one organisation (or key without one) may have waiting over all its "
        "batches; a batch that would pass it is refused until earlier ones progress.",
    )
    files_ttl_days: float = Field(
        7.0,
        gt=0,
        description="Days a file (input, or a batch's output and errors, which hold prompts and images) is "
        "kept before it is deleted; `DELETE /v1/files/{id}` deletes one at once.",
    )
    retry_after_s: float = Field(
        5.0,
        gt=0,
        description="Wait before a line that met a passing refusal (rate limit, a full queue, its earlier "
        "attempt still settling) is tried again.",
    )
    max_attempts: int = Field(
        5, ge=1, description="Tries a line gets (passing refusals, restarts) before it becomes an error line."
    )
