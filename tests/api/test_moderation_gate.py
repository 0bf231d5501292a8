"""Moderation in the request path: a blocked prompt gets OpenAI's error and produces no image."""

from __future__ import annotations

import openai
import pytest

from tests.support.server import GazoServer


def test_a_violating_prompt_is_blocked_before_any_work(server: GazoServer) -> None:
    client = server.client()
    for level in ("auto", "low"):
        with pytest.raises(openai.BadRequestError) as blocked:
            client.images.generate(prompt="naked woman lying on a bed, explicit, nsfw", moderation=level)
        assert blocked.value.code == "moderation_blocked"
        assert blocked.value.type == "image_generation_user_error"
        message = str(blocked.value.message)
        assert "naked" not in message and "category sexual" in message
        assert message.count("rejected by the safety system") == 1  # said once, not repeated


def test_tricky_safe_prompts_pass(server: GazoServer) -> None:
    client = server.client()
    for prompt in (
        "a killer whale breaching at sunset",
        "breast cancer awareness poster",
        "a chef's knife on a board",
    ):
        result = client.images.generate(prompt=prompt, size="64x64", quality="low")
        assert result.data[0].b64_json
