"""What the CLI prints when something fails: the cause in gazo's words, then one next step to take."""

from __future__ import annotations

from typing import NoReturn

import click


def next_step(
    code: str | None, status: int = 0, *, retry_after: str | None = None, has_key: bool = False
) -> str:
    """The one thing to do about an error with OpenAI's `code` (and HTTP `status`); "" if there is none."""
    if code == "invalid_api_key" or status == 401:
        if has_key:
            return (
                "the key was not accepted: check it, or see the active keys with `gazo keys list` where "
                "the server keeps its data and make a new one with `gazo keys create --name NAME`."
            )
        return (
            "create a key where the server keeps its data, `gazo keys create --name NAME [--data-dir DIR]`, "
            "then pass it with --api-key KEY or GAZO_API_KEY=KEY."
        )
    if code == "permission_denied" or status == 403:
        return "use an admin key: `gazo keys create --name NAME --admin`."
    if code == "rate_limit_exceeded":
        wait = f"{retry_after} s" if retry_after else "a minute"
        return f"run it again in {wait}; `gazo keys create --rpm N --ipm N` makes a key with higher limits."
    if code == "insufficient_quota":
        return "raise the key's monthly budget: `gazo keys budget KEY --usd AMOUNT`."
    if code == "moderation_blocked":
        return "change the prompt or the image; nothing was made and nothing was charged."
    if code == "model_not_found":
        return "use one of the models named above; `gazo models list` shows what a configuration serves."
    if code == "queue_full" or status in (429, 503):
        wait = f"{retry_after} s" if retry_after else "a few seconds"
        return f"the server is busy: run it again in {wait}."
    if status >= 500:
        return "the server's log has the details (search it for the request id)."
    return ""


def fail(message: str, next_: str = "", *, code: str | None = None) -> NoReturn:
    """Exit with `Error: MESSAGE (CODE)` and, on the line below, `next: NEXT_`."""
    text = f"{message} ({code})" if code else message
    raise click.ClickException(f"{text}\nnext: {next_}" if next_ else text)
