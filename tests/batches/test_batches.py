"""The Batch API through the official SDK: files, batches, their output, cancel, expiry, edits lines."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator

import openai
import pytest

from gazo.billing.tokens import image_output_tokens
from tests.batches.support import generation_lines, jsonl, read_lines, submit, usage_rows, wait
from tests.support.credentials import read_credentials, trust_anchor
from tests.support.keys import create_key
from tests.support.pixels import decode_b64, photo, png_bytes
from tests.support.server import GazoServer


def test_a_batch_with_one_bad_line_completes_with_one_error_line(server: GazoServer) -> None:
    client = server.client()
    lines = generation_lines(4)
    lines.insert(2, {**lines[0], "custom_id": "bad-size", "body": {"prompt": "a kite", "size": "7x7"}})
    batch = submit(client, lines)
    assert batch.status == "in_progress" and batch.request_counts.total == 5
    done = wait(client, batch.id)
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (4, 1)
    outputs = read_lines(client, done.output_file_id)
    assert [line["custom_id"] for line in outputs] == [f"line-{index:02d}" for index in range(4)]
    anchor = trust_anchor(server.base_url)
    for line in outputs:
        assert line["response"]["status_code"] == 200 and line["error"] is None
        image, data = decode_b64(line["response"]["body"]["data"][0]["b64_json"])
        assert image.size == (256, 256)
        assert read_credentials(data, anchor)[0] == "Trusted"
        assert line["response"]["body"]["usage"]["output_tokens"] == image_output_tokens(256, 256, "low")
    [error] = read_lines(client, done.error_file_id)
    assert error["custom_id"] == "bad-size" and error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["param"] == "size"
    rows = usage_rows(server.data_dir, batch.id)
    assert (
        sorted(status for status, _ in rows) == ["succeeded"] * 4
    )  # the bad line was refused before billing
    assert done.completed_at and done.in_progress_at and done.finalizing_at


def test_a_file_that_breaks_the_format_fails_the_batch_naming_its_lines(server: GazoServer) -> None:
    client = server.client()
    lines = generation_lines(3)
    lines[1]["custom_id"] = lines[0]["custom_id"]
    lines[2]["url"] = "/v1/chat/completions"
    batch = submit(client, lines)
    assert batch.status == "failed"
    assert [(error.code, error.line) for error in batch.errors.data] == [
        ("duplicate_custom_id", 2),
        ("invalid_url", 3),
    ]
    assert batch.request_counts.total == 0


def test_batch_lines_are_billed_at_half_price(server: GazoServer) -> None:
    client = server.client()
    alone = client.images.generate(prompt="a lighthouse, study 0", size="256x256", quality="low")
    batch = wait(client, submit(client, generation_lines(1)).id)
    assert batch.status == "completed"
    [(status, cost)] = usage_rows(server.data_dir, batch.id)
    database = sqlite3.connect(server.data_dir / "gazo.db")
    try:
        [(full,)] = database.execute(
            "SELECT cost_micros FROM usage WHERE batch_id IS NULL AND image_output_tokens = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (alone.usage.output_tokens,),
        ).fetchall()
    finally:
        database.close()
    assert status == "succeeded" and cost == (full + 1) // 2


def test_an_edits_batch_takes_images_by_data_url_and_by_file_id(server: GazoServer) -> None:
    client = server.client()
    picture = png_bytes(photo(256, 256, seed=4))
    uploaded = client.files.create(file=("photo.png", picture), purpose="vision")
    data_url = "data:image/png;base64," + base64.b64encode(picture).decode()
    lines = [
        {
            "custom_id": name,
            "method": "POST",
            "url": "/v1/images/edits",
            "body": {"prompt": "add a hat", "images": [reference], "quality": "low"},
        }
        for name, reference in (("by-url", {"image_url": data_url}), ("by-file", {"file_id": uploaded.id}))
    ]
    done = wait(client, submit(client, lines, endpoint="/v1/images/edits").id)
    assert done.status == "completed" and done.request_counts.completed == 2, read_lines(
        client, done.error_file_id
    )
    for line in read_lines(client, done.output_file_id):
        body = line["response"]["body"]
        assert body["usage"]["input_tokens_details"]["image_tokens"] > 0
        _, data = decode_b64(body["data"][0]["b64_json"])
        _, store = read_credentials(data, trust_anchor(server.base_url))
        assert store["manifests"][store["active_manifest"]].get("ingredients")


def test_the_json_form_of_edits_is_accepted_directly(server: GazoServer) -> None:
    picture = png_bytes(photo(256, 256, seed=6))
    body = {
        "prompt": "add a moon",
        "images": [{"image_url": "data:image/png;base64," + base64.b64encode(picture).decode()}],
        "quality": "low",
    }
    answer = server.client().post("/images/edits", cast_to=object, body=body)
    image, _ = decode_b64(answer["data"][0]["b64_json"])  # type: ignore[index]
    assert image.size == (256, 256)
    with pytest.raises(openai.BadRequestError) as refused:
        server.client().post(
            "/images/edits", cast_to=object, body={**body, "images": [{"image_url": "https://x/y.png"}]}
        )
    assert refused.value.param == "images[0].image_url"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    env = {"GAZO_BATCH__MAX_FILE_BYTES": "65536", "GAZO_BATCH__MAX_STORED_BYTES": "150000"}
    with GazoServer(tmp_path_factory.mktemp("batches-keyed"), args=("--require-auth",), env=env) as running:
        yield running


def test_files_and_batches_belong_to_their_key(keyed: GazoServer) -> None:
    alice = keyed.client(create_key(keyed.data_dir, "alice"))
    bob = keyed.client(create_key(keyed.data_dir, "bob"))
    uploaded = alice.files.create(file=("lines.jsonl", jsonl(generation_lines(1))), purpose="batch")
    assert [item.id for item in alice.files.list().data] == [uploaded.id]
    assert bob.files.list().data == []
    for attempt in (
        lambda: bob.files.retrieve(uploaded.id),
        lambda: bob.files.content(uploaded.id),
        lambda: bob.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/images/generations", completion_window="24h"
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    batch = alice.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/images/generations", completion_window="24h"
    )
    with pytest.raises(openai.NotFoundError):
        bob.batches.retrieve(batch.id)
    assert wait(alice, batch.id).status == "completed"
    assert [item.id for item in alice.batches.list().data] == [batch.id]
    alice.files.delete(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(uploaded.id)


def test_a_file_over_the_limit_is_refused_whole(keyed: GazoServer) -> None:
    client = keyed.client(create_key(keyed.data_dir, "carol"))
    with pytest.raises(openai.APIStatusError) as refused:
        client.files.create(file=("big.jsonl", b"x" * 70_000), purpose="batch")
    assert refused.value.status_code == 413
    assert client.files.list().data == []
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("lines.jsonl", b"{}"), purpose="fine-tune")


def test_an_owner_keeps_only_so_many_bytes_of_files(keyed: GazoServer) -> None:
    client = keyed.client(create_key(keyed.data_dir, "dave"))
    kept = [client.files.create(file=("a.jsonl", b"x" * 60_000), purpose="user_data") for _ in range(2)]
    with pytest.raises(openai.APIStatusError) as refused:
        client.files.create(file=("c.jsonl", b"x" * 60_000), purpose="user_data")
    assert refused.value.status_code == 413 and "at most 150000" in str(refused.value.message)
    client.files.delete(kept[0].id)
    client.files.create(file=("c.jsonl", b"x" * 60_000), purpose="user_data")  # room again
