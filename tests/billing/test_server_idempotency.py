"""Idempotency-Key through the real server and the official SDK, on SQLite and PostgreSQL.

A retry with the same key and body gets the very same response (images byte for byte, usage) without
a render or a charge, budget spent or not; the key with another body is a 422; keys are per API key;
the stored response is not readable in the database.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from gazo.store.tables import IdempotentResponse
from tests.billing.meters import budget_of, open_reservations, usage_rows
from tests.billing.servers import Key, cost_micros, create_key, opened
from tests.support.pixels import photo, png_bytes
from tests.support.server import GazoServer

SMALL = {"model": "gpt-image-1", "size": "64x64", "quality": "low"}
SERVERS = ["sqlite_server", "pg_server"]


def jobs_rendered(server: GazoServer, key: Key) -> float:
    """Every job the engine has run or failed, from `/metrics` (which wants a key once keys exist)."""
    answer = httpx.get(
        f"{server.base_url}/metrics", headers={"authorization": f"Bearer {key.secret}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    jobs = [line for line in answer.text.splitlines() if line.startswith("gazo_jobs_total{")]
    assert jobs, answer.text
    return sum(float(line.rsplit(" ", 1)[1]) for line in jobs)


def idempotent(key: str) -> dict[str, Any]:
    return {"extra_headers": {"Idempotency-Key": key}}


def rows_of(server: GazoServer, key: Key) -> list[Any]:
    with opened(server) as database:
        return [row for row in usage_rows(database) if row.key_id == key.id]


def images_and_usage(response: Any) -> tuple[list[str], dict[str, Any]]:
    return [image.b64_json for image in response.data], response.usage.model_dump()


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_a_retry_gets_the_same_images_once_paid_for_even_with_the_budget_spent(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    body = {**SMALL, "prompt": f"a lighthouse at dusk {uuid.uuid4().hex}", "n": 2}
    probe = create_key(server, "idem-probe")
    one = cost_micros(server.client(api_key=probe.secret).images.generate(**body).usage)
    key = create_key(server, "idem", "--budget-usd", f"{(one + one // 2) / 1e6:.6f}")
    client, ik = server.client(api_key=key.secret), f"retry-{uuid.uuid4().hex}"

    first = client.images.generate(**body, **idempotent(ik))
    rendered = jobs_rendered(server, key)
    second = client.images.generate(**body, **idempotent(ik))
    assert images_and_usage(second) == images_and_usage(first) and len(second.data) == 2
    assert abs(second.created - first.created) <= 1
    with pytest.raises(openai.RateLimitError) as refused:  # the budget is spent now ...
        client.images.generate(**body)
    assert refused.value.code == "insufficient_quota"
    third = client.images.generate(**body, **idempotent(ik))  # ... and the retry still needs none of it
    assert images_and_usage(third) == images_and_usage(first) and third.created == second.created
    assert jobs_rendered(server, key) == rendered  # nothing rendered for the retries

    (row,) = rows_of(server, key)
    assert (row.status, row.n, row.cost_micros) == ("succeeded", 2, cost_micros(first.usage))
    with opened(server) as database:
        assert budget_of(database, key.id)[1:] == (cost_micros(first.usage), 0)
        assert open_reservations(database) == 0


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_the_key_with_another_body_is_refused_in_openais_shape(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    key = create_key(server, "idem-reuse")
    client, ik = server.client(api_key=key.secret), f"reuse-{uuid.uuid4().hex}"
    body = {**SMALL, "prompt": "a red kite over a beach"}
    client.images.generate(**body, **idempotent(ik))
    rendered = jobs_rendered(server, key)
    for other in (
        {**body, "n": 3, "quality": "high"},
        {**body, "prompt": "a blue kite"},
        {**body, "extra_body": {"seed": 3}},
    ):
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            client.images.generate(**other, **idempotent(ik))
        error = refused.value
        assert (error.status_code, error.code, error.type, error.param) == (
            422,
            "idempotency_key_reused",
            "invalid_request_error",
            "Idempotency-Key",
        )
        body_sent = error.response.json()
        assert set(body_sent) == {"error"} and set(body_sent["error"]) == {"message", "type", "param", "code"}
        assert "different request body" in body_sent["error"]["message"]
    assert jobs_rendered(server, key) == rendered
    assert len(rows_of(server, key)) == 1


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_one_idempotency_key_under_two_api_keys_is_two_requests(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    keys = [create_key(server, f"idem-scope-{i}") for i in range(2)]
    body, ik = {**SMALL, "prompt": "a windmill in fog"}, f"shared-{uuid.uuid4().hex}"
    first = server.client(api_key=keys[0].secret).images.generate(**body, **idempotent(ik))
    rendered = jobs_rendered(server, keys[0])
    other = server.client(api_key=keys[1].secret).images.generate(**body, **idempotent(ik))
    assert jobs_rendered(server, keys[0]) == rendered + 1
    assert other.data[0].b64_json != first.data[0].b64_json
    for key, response in zip(keys, (first, other), strict=True):
        (row,) = rows_of(server, key)
        assert (row.status, row.cost_micros) == ("succeeded", cost_micros(response.usage))


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_a_streamed_retry_replays_the_completed_images(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    key = create_key(server, "idem-stream")
    client, ik = server.client(api_key=key.secret), f"stream-{uuid.uuid4().hex}"
    body = {**SMALL, "prompt": "a paper boat on a pond", "n": 2, "stream": True, "partial_images": 1}

    def completed(events: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        done = [event for event in events if event.type == "image_generation.completed"]
        return sorted((event.b64_json, event.usage.model_dump()) for event in done)

    first = list(client.images.generate(**body, **idempotent(ik)))
    rendered = jobs_rendered(server, key)
    again = list(client.images.generate(**body, **idempotent(ik)))
    assert len(completed(first)) == 2 and completed(again) == completed(first)
    assert {event.type for event in again} == {"image_generation.completed"}
    assert jobs_rendered(server, key) == rendered
    (row,) = rows_of(server, key)
    usages = [usage for _, usage in completed(first)]
    assert (row.text_input_tokens, row.image_output_tokens) == (
        sum(usage["input_tokens_details"]["text_tokens"] for usage in usages),
        sum(usage["output_tokens_details"]["image_tokens"] for usage in usages),
    )


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_an_edit_retry_replays_and_another_upload_is_refused(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    key = create_key(server, "idem-edit")
    client, ik = server.client(api_key=key.secret), f"edit-{uuid.uuid4().hex}"
    upload = png_bytes(photo(64, 64, seed=5))

    def edit(image: bytes) -> Any:
        return client.images.edit(
            image=("in.png", image, "image/png"), prompt="make it autumn", **SMALL, **idempotent(ik)
        )

    first = edit(upload)
    rendered = jobs_rendered(server, key)
    assert images_and_usage(edit(upload)) == images_and_usage(first)
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        edit(png_bytes(photo(64, 64, seed=6)))
    assert refused.value.code == "idempotency_key_reused"
    assert jobs_rendered(server, key) == rendered
    (row,) = rows_of(server, key)
    assert (row.operation, row.cost_micros) == ("edit", cost_micros(first.usage))


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_the_stored_response_is_encrypted(request: pytest.FixtureRequest, server_fixture: str) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    key = create_key(server, "idem-sealed")
    prompt = "a glass teapot on a windowsill, sealed-response marker teapot-77"  # no random hex in prompts
    idempotency_key = f"sealed-{uuid.uuid4().hex}"
    response = server.client(api_key=key.secret).images.generate(
        **SMALL, prompt=prompt, **idempotent(idempotency_key)
    )
    size = len(response.data[0].b64_json or "") * 3 // 4
    (row,) = rows_of(server, key)
    with opened(server) as database:
        payload = database_payload(database, row.id)
    assert len(payload) >= size  # the images are there ...
    assert b"\x89PNG" not in payload and prompt.encode() not in payload  # ... but not readable
    assert row.idempotency_key != idempotency_key  # nor is the key that opens them
    if server_fixture == "sqlite_server":
        files = [path for path in server.data_dir.iterdir() if path.name.startswith("gazo.db")]
        assert files and not [path.name for path in files if b"\x89PNG" in path.read_bytes()]
        assert not [path.name for path in files if prompt.encode() in path.read_bytes()]
        assert not [path.name for path in files if idempotency_key.encode() in path.read_bytes()]


def database_payload(database: Any, usage_id: str) -> bytes:
    with database.reading() as session:
        return bytes(
            session.scalar(select(IdempotentResponse.payload).where(IdempotentResponse.usage_id == usage_id))
        )
