"""The Response object, its output items and its stream events, as openai-python parses them.

Field names and event order follow openai-python's `Response`, `ImageGenerationCall`,
`ResponseOutputMessage` and `response_*_event` types. gazo runs no chat model, so a Response's
`usage` is the image tool's (also reported, split by kind, under `tool_usage.image_gen`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from gazo.billing.tokens import TokenUsage
from gazo.service import Output

#: The short message a Response carries after its image (chat UIs show it under the picture).
DONE_MESSAGE = "Here is the image."


@dataclass
class ResponseDraft:
    """A Response as it is built: the request's echoes, then the image call, then the message."""

    id: str
    model: str
    call_id: str
    message_id: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    action: str = "generate"
    tool: dict[str, Any] = field(default_factory=dict)
    tool_choice: Any = "auto"
    instructions: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    previous_response_id: str | None = None
    safety_identifier: str | None = None
    store: bool = True
    output: Output | None = None
    revised_prompt: str | None = None
    result: str | None = None
    usage: TokenUsage | None = None
    completed_at: int | None = None
    error: dict[str, Any] | None = None
    #: The API key that may read the kept Response again (not part of the body).
    owner: str | None = None

    def image_call(self, status: str, *, with_result: bool = True) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.call_id, "type": "image_generation_call", "status": status}
        item["action"] = self.action
        if self.output is not None and status == "completed":
            item.update(self.output.fields())
            item["revised_prompt"] = self.revised_prompt
            item["result"] = self.result if with_result else None
        else:
            item["result"] = None
        return item

    def message(self, status: str) -> dict[str, Any]:
        content = [text_part(DONE_MESSAGE)] if status == "completed" else []
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": content,
        }

    def body(self, status: str) -> dict[str, Any]:
        """The whole Response in `status` (`in_progress`, `completed`, `failed`)."""
        output = []
        if status == "completed":
            output = [self.image_call("completed"), self.message("completed")]
        elif status == "failed":
            output = [self.image_call("failed")]
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "completed_at": self.completed_at if status == "completed" else None,
            "error": self.error,
            "incomplete_details": None,
            "instructions": self.instructions,
            "metadata": self.metadata,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": self.previous_response_id,
            "safety_identifier": self.safety_identifier,
            "store": self.store,
            "temperature": None,
            "tool_choice": self.tool_choice,
            "tools": [self.tool],
            "top_p": None,
            "usage": response_usage(self.usage) if status == "completed" and self.usage else None,
            "tool_usage": tool_usage(self.usage) if status == "completed" and self.usage else None,
        }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_usage(usage: TokenUsage) -> dict[str, Any]:
    """`ResponseUsage`: input = text and image input tokens, output = image output tokens."""
    inputs = usage.text_input_tokens + usage.image_input_tokens
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.image_output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": inputs + usage.image_output_tokens,
    }


def tool_usage(usage: TokenUsage) -> dict[str, Any]:
    """`ToolUsage`: the image tool's tokens by kind, as the Images API reports them."""
    inputs = usage.text_input_tokens + usage.image_input_tokens
    return {
        "image_gen": {
            "input_tokens": inputs,
            "input_tokens_details": {
                "image_tokens": usage.image_input_tokens,
                "text_tokens": usage.text_input_tokens,
            },
            "output_tokens": usage.image_output_tokens,
            "output_tokens_details": {"image_tokens": usage.image_output_tokens, "text_tokens": 0},
            "total_tokens": inputs + usage.image_output_tokens,
        },
        "web_search": {"num_requests": 0},
    }


class EventSequence:
    """Numbers a stream's events (`sequence_number`) and encodes them as SSE."""

    def __init__(self) -> None:
        self.number = 0

    def event(self, kind: str, **payload: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.number, **payload}
        self.number += 1
        return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
