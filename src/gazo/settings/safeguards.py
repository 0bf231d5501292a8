"""Settings of what guards every request: provenance, billing (keys, budgets, limits), moderation."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gazo.settings.section import Section

#: The kinds of tokens a price is given for (USD per 1M).
TokenKind = Literal["text_input", "image_input", "image_output"]


class ProvenanceSettings(Section):
    """C2PA Content Credentials on every image that leaves gazo (see the provenance issue)."""

    enabled: bool = Field(
        True, description="Sign every output. Turning it off is an explicit operator decision."
    )
    cert_chain_file: Path | None = Field(
        None,
        description="PEM certificate chain to sign with (end-entity first, then its issuers). Unset: gazo "
        "creates a local root CA and an ES256 signing certificate in `<data_dir>/provenance/` on first start "
        "and reuses them.",
    )
    private_key_file: Path | None = Field(
        None,
        description="PEM private key of the chain's end-entity certificate (PKCS#8 or SEC1, unencrypted). "
        "Needed with `cert_chain_file` unless `sign_callback` signs instead.",
    )
    sign_callback: str | None = Field(
        None,
        description="`package.module:function` that signs bytes for a key gazo never sees (KMS, HSM): "
        "`f(data: bytes) -> bytes` returning a DER or raw signature for `signing_alg`. "
        "Needs `cert_chain_file`.",
    )
    signing_alg: Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"] | None = Field(
        None, description="Signing algorithm; default: the one the certificate's key implies (P-256: es256)."
    )
    tsa_url: str | None = Field(
        None,
        description="RFC 3161 timestamp authority contacted for every signature, so credentials outlive the "
        "certificate. If it is unreachable, signing fails.",
    )
    include_prompt: bool = Field(
        False, description="Write the prompt into the manifest (the action's `description`); off for privacy."
    )
    thumbnail: bool = Field(
        False,
        description="Embed a 256-px JPEG thumbnail in the manifest (adds 8-20 KB and 5-90 ms per image).",
    )
    allow_unsigned_on_failure: bool = Field(
        False,
        description="If signing fails, return the image unsigned instead of failing the request. "
        "Off: nothing unsigned ever leaves gazo.",
    )
    extra_trust_anchors_file: Path | None = Field(
        None,
        description="PEM file of further root certificates that verification (and ingredient checks) trust "
        "besides this deployment's own root.",
    )
    organization: str = Field(
        "gazo",
        description="Organization name written into the certificates gazo creates for itself "
        "(used only when they are first created).",
    )


class BillingSettings(Section):
    """API keys, metering, budgets and rate limits (see `gazo keys`, `gazo usage`)."""

    require_auth: bool = Field(
        False,
        description="Demand a valid API key even when no key exists and gazo listens on loopback "
        "(otherwise such a server runs open, and says so in its log).",
    )
    allow_open_with_keys: bool = Field(
        False,
        description="Keep serving keyless requests on loopback (open mode) after API keys were created. "
        "Off: once any key has existed, revoked or not, every request needs a valid key, so revoking "
        "the last key never reopens the server.",
    )
    auth_cache_s: float = Field(
        1.0,
        ge=0,
        description="How long a process remembers an API key it found, so a burst asks the database once "
        "a second rather than once a request; a revoked key stops working within this time. 0: ask "
        "every time.",
    )
    prices: dict[str, dict[TokenKind, float]] = Field(
        default_factory=lambda: {
            "default": dict[TokenKind, float]({"text_input": 5.0, "image_input": 10.0, "image_output": 40.0})
        },
        description="USD per 1M tokens by model name (`text_input`, `image_input`, `image_output`); "
        "`default` prices every model not listed. Default: gpt-image-1's $5 / $10 / $40.",
    )
    batch_price_factor: float = Field(
        0.5,
        gt=0,
        le=1,
        description="What a Batch API line pays of its model's `prices`, both held and charged (budgets "
        "see the discounted amount): batch lines render below interactive work, so they cost less. Default: "
        "half, as at OpenAI; 1: full price.",
    )
    default_rpm: int | None = Field(
        None, ge=1, description="Requests per minute for keys without their own limit (and open mode)."
    )
    default_ipm: int | None = Field(
        None, ge=1, description="Images per minute for keys without their own limit (and open mode)."
    )
    retention_days: int = Field(
        0,
        ge=0,
        description="Days to keep prompt text beside usage rows, then purge it; 0 keeps none (privacy).",
    )
    reservation_timeout_s: int = Field(
        900,
        ge=1,
        description="A budget reservation not settled after this long is released (its process died); "
        "keep it above `server.request_timeout_s`.",
    )

    @field_validator("prices")
    @classmethod
    def _check_prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, price in value.items():
            missing = {"text_input", "image_input", "image_output"} - set(price)
            if missing:
                raise ValueError(f"`prices.{model}` lacks {', '.join(sorted(missing))}")
            if any(amount < 0 for amount in price.values()):
                raise ValueError(f"`prices.{model}` has a negative price")
        return value


class ModerationSettings(Section):
    """Checks on every prompt, input image and output image; on by default, only operators turn them off."""

    class Rule(Section):
        """An operator's own blocked phrases, e.g. `terms = ["in the style of Studio Ghibli"]`."""

        name: str = Field(min_length=1, description="Rule id, reported in the verdict (`rule`) and the log.")
        terms: list[str] = Field(
            min_length=1,
            description="Words or phrases that block: whole words, case-insensitive, punctuation "
            "ignored (`Studio-Ghibli` matches `studio ghibli`); Japanese phrases match anywhere.",
        )
        reason: str = Field(min_length=1, description="Message the client gets when this rule blocks.")
        organizations: list[str] = Field(
            default_factory=list,
            description="Organisations (of the API key) it applies to; empty: every request.",
        )

    class AllowList(Section):
        """Phrases the classifiers misread (e.g. a product name): removed before the prompt is read."""

        phrases: list[str] = Field(
            min_length=1,
            description="Phrases removed from what the prompt check reads; the rest of the prompt is "
            "still checked, and sexual/minors is always judged on the full prompt.",
        )
        organizations: list[str] = Field(
            default_factory=list,
            description="Organisations (of the API key) it applies to; empty: every request.",
        )

    enabled: bool = Field(
        True,
        description="Run the prompt and image classifiers. Turning them off is an explicit operator "
        "decision (a request can only pick `auto` or `low`); organisation rules apply either way.",
    )
    prompt_auto_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Probability that a prompt violates at all (clear or borderline) at which "
        "`moderation: auto` blocks it (besides everything `low` blocks).",
    )
    prompt_low_threshold: float = Field(
        0.4,
        gt=0,
        le=1,
        description="Probability that a prompt is a clear violation at which it is blocked at both levels.",
    )
    image_auto_threshold: float = Field(
        0.5, gt=0, le=1, description="open_nsfw score at which an image is blocked under `auto`."
    )
    image_low_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="open_nsfw score at which an image is blocked under `low` (at least the `auto` one).",
    )
    rules: list[Rule] = Field(
        default_factory=list,
        description="Organisation rules, as `[[moderation.rules]]` tables: `name`, `terms` (phrases that "
        "block), `reason` (what the client reads) and optional `organizations` (default: every request). "
        "They block at every level, even with `enabled = false`, and the verdict names the rule.",
    )
    allow: list[AllowList] = Field(
        default_factory=list,
        description="Allow-lists that override false positives, as `[[moderation.allow]]` tables: `phrases` "
        "and optional `organizations`. The phrases are removed before the prompt check reads the prompt; "
        "the rest is still checked, and sexual/minors always on the full prompt.",
    )

    @model_validator(mode="after")
    def _check_image_thresholds(self) -> ModerationSettings:
        if self.image_auto_threshold > self.image_low_threshold:
            raise ValueError("`image_auto_threshold` may not exceed `image_low_threshold`")
        return self
