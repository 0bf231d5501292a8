"""The vocabulary of failure, free of any web framework.

Code below ``api/`` raises these; ``api/errors.py`` turns each into OpenAI's error body
``{"error": {"message", "type", "param", "code"}}`` with the status code OpenAI uses, so the
official SDK raises the exception class its users already catch.
"""

from __future__ import annotations


class GazoError(Exception):
    """Base of every error gazo reports to a client on purpose."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle by state, not by constructor arguments, so errors cross process boundaries (Ray)."""
        return (_rebuild, (type(self), self.__dict__.copy()))

    def to_body(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(GazoError):
    """A field has a value gazo cannot honour; `param` names it."""

    status = 400
    type = "invalid_request_error"
    code: str | None = "invalid_value"  # typed wide: a subclass may name no code (OpenAI's bad JSON)


class UnsupportedParameter(InvalidRequest):
    """A field OpenAI defines that this model cannot do: refused, never silently ignored."""

    code = "unsupported_parameter"


class InvalidImage(InvalidRequest):
    """An uploaded image or mask that cannot be used (undecodable, wrong size, too many pixels)."""

    code = "invalid_image"


class PayloadTooLarge(InvalidRequest):
    """An upload over the configured byte limit."""

    status = 413
    code = "payload_too_large"


class AuthenticationFailed(GazoError):
    """Missing, wrong or revoked API key."""

    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(GazoError):
    """A valid key that may not do this."""

    status = 403
    type = "invalid_request_error"
    code = "permission_denied"


class MisdirectedRequest(GazoError):
    """The `Host` names no address this open server answers for (a DNS-rebinding page)."""

    status = 421
    type = "invalid_request_error"
    code = "misdirected_request"


class ModelNotFound(GazoError):
    """The `model` field names nothing gazo serves."""

    status = 404
    type = "invalid_request_error"
    code = "model_not_found"

    #: The most names the message lists (models first, then aliases); the rest are counted.
    max_names = 30

    def __init__(
        self, model: str, *, available: list[str] | None = None, aliases: list[str] | None = None
    ) -> None:
        known = _known_names(available or [], aliases or [])
        super().__init__(f"The model `{model}` does not exist.{known}", param="model")


def _known_names(models: list[str], aliases: list[str]) -> str:
    """The message's tail, " Available models: a, b; aliases: c, d and N more.", within
    `ModelNotFound.max_names` names: a server with hundreds of aliases still answers a typo in one line."""
    shown_models = models[: ModelNotFound.max_names]
    shown_aliases = aliases[: ModelNotFound.max_names - len(shown_models)]
    hidden = len(models) + len(aliases) - len(shown_models) - len(shown_aliases)
    parts = [f"Available models: {', '.join(shown_models)}"] if shown_models else []
    if shown_aliases:
        parts.append(f"aliases: {', '.join(shown_aliases)}")
    more = f" and {hidden} more" if hidden else ""
    return f" {'; '.join(parts)}{more}." if parts else ""


class NotFound(GazoError):
    """A route or resource that does not exist."""

    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ContentPolicyViolation(GazoError):
    """A prompt, input image or output refused by moderation."""

    status = 400
    type = "image_generation_user_error"
    code = "moderation_blocked"


class IdempotencyConflict(GazoError):
    """A request with this Idempotency-Key is still running; the client should retry shortly (the
    openai SDK retries a 409 after `retry-after`)."""

    status = 409
    type = "invalid_request_error"
    code = "idempotency_key_in_use"


class IdempotencyKeyReused(GazoError):
    """The Idempotency-Key was used, within the last 24 h, by a request with another body."""

    status = 422
    type = "invalid_request_error"
    code = "idempotency_key_reused"


class RateLimited(GazoError):
    """Too many requests or images for the caller's limits."""

    status = 429
    type = "requests"
    code = "rate_limit_exceeded"


class QuotaExceeded(GazoError):
    """The caller's budget is spent."""

    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"


class Overloaded(GazoError):
    """The model's queue is full; the client should retry after `Retry-After` seconds."""

    status = 429
    type = "server_error"
    code = "queue_full"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"retry-after": str(retry_after_s)})


class Unavailable(GazoError):
    """gazo cannot serve the request now (models still loading, shutting down)."""

    status = 503
    type = "server_error"
    code = "unavailable"


class ModelLoading(Unavailable):
    """The model is still loading and the request depends on what only the load can tell (e.g. whether
    it can inpaint, how it sets text): answered 503 with `Retry-After` rather than judged by a guess.
    The openai SDK retries a 503 after `retry-after` on its own."""

    code = "model_loading"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"retry-after": str(retry_after_s)})


class DatabaseUnavailable(Unavailable):
    """The database cannot be read or written now (disk full, I/O error, corruption, unreachable);
    the client should retry after `Retry-After` seconds. The transaction that failed was rolled back."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"retry-after": str(retry_after_s)})


class ShuttingDown(Unavailable):
    """The server stopped before the request finished (the end of its shutdown grace period); its
    reservation was released, and the same request can be sent again after `Retry-After` seconds."""

    code = "shutting_down"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "gazo is shutting down and stopped this request before it finished; send it again shortly.",
            headers={"retry-after": str(retry_after_s)},
        )


class RequestTimeout(GazoError):
    """The request ran past the configured time limit and was cancelled."""

    status = 504
    type = "server_error"
    code = "timeout"


class Cancelled(Exception):
    """Raised inside a running job when its client went away; never reaches a client."""


class StartupError(Exception):
    """gazo cannot start as configured; the message is one line naming what is wrong and what to do."""


def _rebuild(error_class: type[GazoError], state: dict[str, object]) -> GazoError:
    error = error_class.__new__(error_class)
    Exception.__init__(error, state.get("message"))
    error.__dict__.update(state)
    return error
