"""Through the real server, no prompt and no uploaded byte is kept: not in any table, file or log line.

Every kind of request goes through (generation, multipart edit, stream, a moderation block); then
every row of every table and every file in the data dir (database, WAL, logs, keys) is searched for
each prompt, for the random marker inside them, and for a run of bytes from the uploaded PNG.
"""

from __future__ import annotations

import uuid

import openai
import pytest

from tests.billing.scans import files_containing, rows_as_text
from tests.billing.servers import create_key, opened
from tests.support.pixels import photo, png_bytes
from tests.support.server import GazoServer

SMALL = {"size": "64x64", "quality": "low"}


def send_every_kind_of_request(client: openai.OpenAI, marker: str, upload: bytes) -> list[str]:
    """The prompts sent: a generation, an edit, a stream, and one that moderation blocks."""
    prompts = [f"a teal lighthouse, {kind} {marker}" for kind in ("generated", "edited", "streamed")]
    assert client.images.generate(prompt=prompts[0], **SMALL).data[0].b64_json
    edited = client.images.edit(image=(f"{marker}.png", upload, "image/png"), prompt=prompts[1], **SMALL)
    assert edited.data[0].b64_json
    events = list(client.images.generate(prompt=prompts[2], stream=True, partial_images=1, **SMALL))
    assert events[-1].type == "image_generation.completed"
    blocked = f"naked woman lying on a bed, explicit, nsfw {marker}"
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(prompt=blocked, **SMALL)
    assert refused.value.code == "moderation_blocked"
    return [*prompts, blocked]


@pytest.mark.parametrize("server_fixture", ["sqlite_server", "pg_server"])
def test_no_prompt_or_upload_is_kept_in_the_database_files_or_logs(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    key_name = f"privacy-{uuid.uuid4().hex}"  # stored on purpose: shows the scans can find things
    key = create_key(server, key_name)
    marker = "zebra-unicorn-marker-4417"  # fixed: random hex in a prompt can trip moderation
    upload = png_bytes(photo(64, 64, seed=11))
    prompts = send_every_kind_of_request(server.client(api_key=key.secret), marker, upload)
    needles = [*(prompt.encode() for prompt in prompts), marker.encode(), upload[len(upload) // 2 :][:48]]

    with opened(server) as database:
        rows, dialect = rows_as_text(database).encode(), database.dialect
    assert key_name.encode() in rows
    assert [needle for needle in needles if needle in rows] == []

    data_dir = server.data_dir
    assert {"server.log", "provenance"} <= {path.name for path in data_dir.iterdir()}
    if dialect == "sqlite":
        assert files_containing(data_dir, key_name.encode())  # in gazo.db or its WAL
    found = {needle: files for needle in needles if (files := files_containing(data_dir, needle))}
    assert found == {}
    assert "moderation: prompt blocked by" in server.log()  # INFO lines are in the log, prompts are not
