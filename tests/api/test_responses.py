"""The Responses API's image tool through the official SDK: plain, streamed, follow-up turns, input
images, stored responses, and the same gates as the Images API (moderation, billing, C2PA)."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator

import openai
import pytest

from gazo.billing.tokens import count_text_tokens, image_output_tokens
from tests.billing.servers import create_key as billing_key
from tests.billing.servers import usage_by_key
from tests.support.chat import REWRITE_PREFIX, chat_server
from tests.support.credentials import actions, active_manifest, read_credentials, trust_anchor
from tests.support.keys import create_key
from tests.support.pixels import decode_b64, photo, png_bytes
from tests.support.server import GazoServer

TOOL = {"type": "image_generation", "size": "256x256", "quality": "low"}
UPLOAD_LIMIT = 256 * 1024  # the keyed server's: a Responses body may be 4/3 of it + 1 MiB


def _image_call(response: object) -> object:
    calls = [item for item in response.output if item.type == "image_generation_call"]  # type: ignore[attr-defined]
    assert len(calls) == 1
    return calls[0]


def test_a_response_carries_a_signed_image_its_message_and_usage(server: GazoServer) -> None:
    prompt = "a lighthouse on a cliff"
    response = server.client().responses.create(model="gpt-5", input=prompt, tools=[TOOL])
    assert response.status == "completed" and response.id.startswith("resp_")
    assert [item.type for item in response.output] == ["image_generation_call", "message"]
    call = _image_call(response)
    assert call.status == "completed" and call.id.startswith("ig_") and call.action == "generate"
    assert (call.size, call.quality, call.background, call.output_format) == (
        "256x256",
        "low",
        "opaque",
        "png",
    )
    assert call.revised_prompt == prompt
    image, data = decode_b64(call.result)
    assert image.size == (256, 256)
    state, store = read_credentials(data, trust_anchor(server.base_url))
    assert state == "Trusted" and actions(active_manifest(store))[0] == "c2pa.created"
    assert response.output[1].content[0].text
    expected_out = image_output_tokens(256, 256, "low")
    assert response.usage.input_tokens == count_text_tokens(prompt)
    assert response.usage.output_tokens == expected_out
    assert response.usage.total_tokens == count_text_tokens(prompt) + expected_out
    assert response.tool_usage.image_gen.output_tokens == expected_out
    assert response.tool_usage.image_gen.input_tokens_details.text_tokens == count_text_tokens(prompt)


def test_a_streamed_response_sends_the_responses_event_sequence(server: GazoServer) -> None:
    stream = server.client().responses.create(
        model="gpt-5", input="a windmill", stream=True, tools=[{**TOOL, "partial_images": 1}]
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
    ]
    assert "response.image_generation_call.partial_image" in kinds
    assert kinds.index("response.image_generation_call.completed") < kinds.index("response.output_item.done")
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    partial = next(e for e in events if e.type == "response.image_generation_call.partial_image")
    anchor = trust_anchor(server.base_url)
    assert read_credentials(base64.b64decode(partial.partial_image_b64), anchor)[0] == "Trusted"
    done = events[-1].response
    call = _image_call(done)
    assert read_credentials(decode_b64(call.result)[1], anchor)[0] == "Trusted"
    assert (
        done.usage.output_tokens == image_output_tokens(256, 256, "low") + 100
    )  # one partial image: 100 tokens


def test_a_follow_up_turn_edits_the_earlier_image(server: GazoServer) -> None:
    client = server.client()
    first = client.responses.create(model="gpt-5", input="a red barn in a field", tools=[TOOL])
    second = client.responses.create(
        model="gpt-5",
        previous_response_id=first.id,
        input="make the barn blue",
        tools=[{"type": "image_generation"}],
    )
    call = _image_call(second)
    assert call.action == "edit" and call.size == "256x256"
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > count_text_tokens("make the barn blue")  # the earlier image, as input
    _, store = read_credentials(decode_b64(call.result)[1], trust_anchor(server.base_url))
    manifest = active_manifest(store)
    assert "c2pa.edited" in actions(manifest) or "c2pa.opened" in actions(manifest)
    assert manifest.get("ingredients")
    # The same, naming the earlier call by id, and sending it back whole (as a client without storage does).
    by_id = client.responses.create(
        model="gpt-5",
        input=[
            {"type": "image_generation_call", "id": _image_call(first).id},
            {"role": "user", "content": "at night"},
        ],
        tools=[{"type": "image_generation"}],
    )
    assert _image_call(by_id).action == "edit"
    whole = client.responses.create(
        model="gpt-5",
        store=False,
        input=[
            {"role": "user", "content": "a red barn"},
            {
                "type": "image_generation_call",
                "id": "ig_x",
                "status": "completed",
                "result": _image_call(first).result,
            },
            {"role": "user", "content": "with snow"},
        ],
        tools=[{"type": "image_generation"}],
    )
    assert _image_call(whole).action == "edit" and whole.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(whole.id)  # store=false keeps nothing


def test_an_input_image_and_a_mask_edit_only_the_masked_area(server: GazoServer) -> None:
    source = png_bytes(photo(256, 256, seed=3))
    mask = photo(256, 256, seed=0).convert("RGBA")
    mask.putalpha(255)
    for x in range(64, 192):
        for y in range(64, 192):
            mask.putpixel((x, y), (0, 0, 0, 0))
    data_url = "data:image/png;base64," + base64.b64encode(source).decode()
    mask_url = "data:image/png;base64," + base64.b64encode(png_bytes(mask)).decode()
    response = server.client().responses.create(
        model="gpt-5",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "a hat"},
                    {"type": "input_image", "image_url": data_url},
                ],
            }
        ],
        tools=[{"type": "image_generation", "input_image_mask": {"image_url": mask_url}}],
    )
    call = _image_call(response)
    assert call.action == "edit"
    edited, _ = decode_b64(call.result)
    original = photo(256, 256, seed=3)
    outside = [(10, 10), (250, 250), (10, 250), (250, 10)]
    assert all(edited.convert("RGB").getpixel(p) == original.convert("RGB").getpixel(p) for p in outside)


def test_a_stored_response_is_retrieved_and_deleted_without_its_prompt(server: GazoServer) -> None:
    client = server.client()
    prompt = "a quince tree in the rain"
    response = client.responses.create(model="gpt-5", input=prompt, tools=[TOOL])
    again = client.responses.retrieve(response.id)
    assert again.id == response.id and _image_call(again).result == _image_call(response).result
    assert _image_call(again).revised_prompt is None  # retention is off: the prompt is not kept
    database = sqlite3.connect(server.data_dir / "gazo.db")
    try:
        rows = database.execute("SELECT payload FROM kept_objects").fetchall()
    finally:
        database.close()
    assert rows and not any(prompt.encode() in row[0] or b"\x89PNG" in row[0] for row in rows)
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"input": "hello"}, "tools"),
        ({"input": "x", "tools": [TOOL, {"type": "function", "name": "f", "parameters": {}}]}, "tools"),
        ({"input": "x", "tools": [TOOL], "tool_choice": "none"}, "tool_choice"),
        ({"input": "x", "tools": [TOOL], "previous_response_id": "resp_nope"}, "previous_response_id"),
        (
            {
                "input": [
                    {
                        "role": "user",
                        "content": [{"type": "input_image", "image_url": "http://10.0.0.1/a.png"}],
                    }
                ],
                "tools": [TOOL],
            },
            "input[0].content[0].image_url",
        ),
        ({"input": "x", "tools": [{**TOOL, "output_format": "gif"}]}, "tools.output_format"),
    ],
)
def test_requests_gazo_cannot_serve_are_refused_by_name(
    server: GazoServer, arguments: dict, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        server.client().responses.create(model="gpt-5", **arguments)
    assert refused.value.param == param


def test_a_violating_prompt_is_blocked_as_on_the_images_api(server: GazoServer) -> None:
    with pytest.raises(openai.BadRequestError) as blocked:
        server.client().responses.create(
            model="gpt-5", input="naked woman lying on a bed, explicit, nsfw", tools=[TOOL]
        )
    assert blocked.value.code == "moderation_blocked"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GazoServer, list[dict]]]:
    """The built-in model, keys required, retention on, and prompts rewritten by a chat endpoint."""
    with chat_server() as (chat_url, received):
        env = {
            "GAZO_BILLING__RETENTION_DAYS": "1",
            "GAZO_COMPAT__PROMPT_REWRITE__BASE_URL": chat_url,
            "GAZO_SERVER__MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
        }
        with GazoServer(tmp_path_factory.mktemp("responses"), args=("--require-auth",), env=env) as running:
            yield running, received


def test_responses_belong_to_their_key_and_rewritten_prompts_are_kept_with_retention(
    keyed_server: tuple[GazoServer, list[dict]],
) -> None:
    server, received = keyed_server
    alice = server.client(create_key(server.data_dir, "alice"))
    bob = server.client(create_key(server.data_dir, "bob"))
    response = alice.responses.create(
        model="gpt-5", instructions="Keep it simple.", input="a kite over a beach", tools=[TOOL]
    )
    call = _image_call(response)
    assert call.revised_prompt == f"{REWRITE_PREFIX}a kite over a beach"
    assert "Keep it simple." in received[-1]["messages"][0]["content"]
    assert _image_call(alice.responses.retrieve(response.id)).revised_prompt == call.revised_prompt
    for attempt in (lambda: bob.responses.retrieve(response.id), lambda: bob.responses.delete(response.id)):
        with pytest.raises(openai.NotFoundError):
            attempt()
    with pytest.raises(openai.BadRequestError):  # nor can bob edit alice's image
        bob.responses.create(model="gpt-5", previous_response_id=response.id, input="x", tools=[TOOL])
    with pytest.raises(openai.AuthenticationError):
        server.client("gz-wrong").responses.create(model="gpt-5", input="a kite", tools=[TOOL])


def test_a_violating_prompt_never_reaches_the_rewriting_endpoint(
    keyed_server: tuple[GazoServer, list[dict]],
) -> None:
    server, received = keyed_server
    client = server.client(create_key(server.data_dir, "carol"))
    before = len(received)
    with pytest.raises(openai.BadRequestError) as blocked:
        client.responses.create(
            model="gpt-5", input="naked woman lying on a bed, explicit, nsfw", tools=[TOOL]
        )
    assert blocked.value.code == "moderation_blocked"
    assert len(received) == before


def test_usage_of_responses_is_metered_like_images(keyed_server: tuple[GazoServer, list[dict]]) -> None:
    server, _ = keyed_server
    key = billing_key(server, "dave")
    response = server.client(key.secret).responses.create(model="gpt-5", input="a teapot", tools=[TOOL])
    row = usage_by_key(server)[key.id]
    assert (row["requests"], row["succeeded"], row["images"]) == ("1", "1", "1")
    assert int(row["input tokens"]) == response.usage.input_tokens
    assert int(row["output tokens"]) == response.usage.output_tokens


def test_a_responses_body_is_bounded_by_one_upload_as_base64(
    keyed_server: tuple[GazoServer, list[dict]],
) -> None:
    server, _ = keyed_server
    client = server.client(create_key(server.data_dir, "erin"))
    too_big = "data:image/png;base64," + "A" * (UPLOAD_LIMIT * 4 // 3 + 1024 * 1024)
    with pytest.raises(openai.APIStatusError) as refused:
        client.responses.create(
            model="gpt-5",
            input=[{"role": "user", "content": [{"type": "input_image", "image_url": too_big}]}],
            tools=[TOOL],
        )
    assert refused.value.status_code == 413


def test_an_input_image_with_previous_response_id_is_a_reference_beside_the_earlier_image(
    server: GazoServer,
) -> None:
    client = server.client()
    first = client.responses.create(model="gpt-5", input="a blue vase", tools=[TOOL])
    logo = "data:image/png;base64," + base64.b64encode(png_bytes(photo(64, 64, seed=5))).decode()
    message = {"role": "user", "content": [{"type": "input_text", "text": "add this"}]}
    message["content"].append({"type": "input_image", "image_url": logo})
    alone = client.responses.create(
        model="gpt-5", previous_response_id=first.id, input="add this", tools=[TOOL]
    )
    both = client.responses.create(
        model="gpt-5", previous_response_id=first.id, input=[message], tools=[TOOL]
    )
    assert _image_call(both).action == "edit"
    assert both.tool_usage.image_gen.input_tokens_details.image_tokens > (
        alone.tool_usage.image_gen.input_tokens_details.image_tokens
    )
