"""Moderation in the request path: a blocked prompt gets OpenAI's error and produces no image."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.keys import create_key
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


ORGANISATION_RULES = """
[[moderation.rules]]
name = "acme-no-rivals"
terms = ["globex"]
reason = "Acme's brand guidelines do not allow rival brands."
organizations = ["acme"]

[[moderation.allow]]
phrases = ["Naked Juice"]
organizations = ["acme"]
"""


def test_organisation_rules_and_allow_lists_apply_to_their_keys_only(tmp_path: Path) -> None:
    """A rule and an allow-list scoped to one organisation, driven by keys of two organisations."""
    config = tmp_path / "gazo.toml"
    config.write_text(ORGANISATION_RULES)
    acme = create_key(tmp_path, "acme-key", "--org", "acme")
    initech = create_key(tmp_path, "initech-key", "--org", "initech")
    with GazoServer(tmp_path, config=config) as running:
        with pytest.raises(openai.BadRequestError) as blocked:
            running.client(acme).images.generate(prompt="a globex billboard", size="1024x1024", quality="low")
        assert blocked.value.code == "moderation_blocked"
        assert "acme-no-rivals" in str(blocked.value.message)
        assert "rival brands" in str(blocked.value.message)
        allowed = running.client(initech).images.generate(
            prompt="a globex billboard", size="1024x1024", quality="low"
        )
        assert allowed.data[0].b64_json
        # a juice brand the classifier misreads is allow-listed for acme, and still blocked for the others
        menu = "a Naked Juice bottle on a table"
        assert running.client(acme).images.generate(prompt=menu, size="1024x1024", quality="low").data
        with pytest.raises(openai.BadRequestError) as other:
            running.client(initech).images.generate(prompt=menu, size="1024x1024", quality="low")
        assert other.value.code == "moderation_blocked"


def test_every_verdict_is_counted_for_the_operator_by_category_and_component(server: GazoServer) -> None:
    blocked = {"stage": "prompt", "level": "auto", "outcome": "blocked", "category": "sexual"}
    allowed = {"stage": "output_image", "outcome": "allowed", "category": "none", "component": "none"}
    before = [_verdicts(server, labels) for labels in (blocked, allowed)]
    with pytest.raises(openai.BadRequestError):
        server.client().images.generate(prompt="naked woman lying on a bed, explicit, nsfw")
    server.client().images.generate(prompt="a quiet harbour", size="256x256", quality="low", n=2)
    assert _verdicts(server, blocked) == before[0] + 1
    assert _verdicts(server, allowed) == before[1] + 2


def _verdicts(server: GazoServer, labels: dict[str, str]) -> float:
    """`gazo_moderation_verdicts_total` summed over the samples that carry `labels`."""
    total = 0.0
    for line in httpx.get(f"{server.base_url}/metrics", timeout=10).text.splitlines():
        found = re.fullmatch(r"gazo_moderation_verdicts_total\{(.*)\} (\S+)", line)
        if found and labels.items() <= dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))).items():
            total += float(found.group(2))
    return total
