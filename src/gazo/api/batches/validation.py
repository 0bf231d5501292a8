"""Reading a batch's input file: JSONL, one request a line, in OpenAI's format.

`{"custom_id": "...", "method": "POST", "url": "/v1/images/generations", "body": {...}}`. A file that
breaks the format (a line that is not a JSON object, a custom_id missing or repeated, another URL or
method, too many lines) fails the batch with OpenAI's `errors` list, naming each line; a body the
endpoint would refuse is checked when the line runs and becomes an error line, as it would have been
an error response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gazo.service.batches import LineSpec

#: The most errors reported for one file (the rest are the same mistakes again).
MAX_ERRORS = 50


def read_lines(
    data: bytes, *, endpoint: str, max_lines: int, model_of: Callable[[str | None], str | None]
) -> tuple[list[LineSpec], list[dict[str, Any]]]:
    """The file's lines, or the errors that fail the batch. `model_of` names the model a line's
    `model` selects (its lines are scheduled per model)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [_error("invalid_file", "The input file is not UTF-8 text.", None)]
    raw_lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not raw_lines:
        return [], [_error("empty_file", "The input file has no requests.", None)]
    if len(raw_lines) > max_lines:
        message = f"The input file has {len(raw_lines)} requests; a batch may have at most {max_lines}."
        return [], [_error("too_many_requests", message, None)]
    lines: list[LineSpec] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in raw_lines:
        try:
            spec = _line(number, raw, endpoint, seen, model_of)
        except _LineError as error:
            errors.append(_error(error.code, str(error), number, error.param))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        lines.append(spec)
    return lines, errors


class _LineError(ValueError):
    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param


def _line(
    number: int, raw: str, endpoint: str, seen: set[str], model_of: Callable[[str | None], str | None]
) -> LineSpec:
    try:
        item = json.loads(raw)
    except ValueError:
        raise _LineError("invalid_json_line", f"Line {number} is not valid JSON.") from None
    if not isinstance(item, dict):
        raise _LineError("invalid_json_line", f"Line {number} is not a JSON object.")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id or len(custom_id) > 512:
        raise _LineError(
            "invalid_custom_id", f"Line {number} needs a `custom_id` string of 1-512 characters.", "custom_id"
        )
    if custom_id in seen:
        raise _LineError(
            "duplicate_custom_id", f"Line {number} repeats the custom_id {custom_id[:80]!r}.", "custom_id"
        )
    seen.add(custom_id)
    if item.get("method") != "POST":
        raise _LineError("invalid_method", f"Line {number}: `method` must be POST.", "method")
    if item.get("url") != endpoint:
        raise _LineError(
            "invalid_url", f"Line {number} posts to {str(item.get('url'))[:80]!r}, not to {endpoint}.", "url"
        )
    body = item.get("body")
    if not isinstance(body, dict):
        raise _LineError("invalid_body", f"Line {number}: `body` must be a JSON object.", "body")
    unknown = sorted(set(item) - {"custom_id", "method", "url", "body"})
    if unknown:
        raise _LineError("invalid_json_line", f"Line {number} has unknown fields: {', '.join(unknown)}.")
    model = body.get("model")
    return LineSpec(
        line_no=number,
        custom_id=custom_id,
        body=body,
        model=model_of(model if isinstance(model, str) else None),
    )


def _error(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}
