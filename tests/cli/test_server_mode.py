"""`gazo generate|edit --server URL` in a subprocess against a real `gazo serve --require-auth`:
progress on stderr, results on stdout, and errors that end with the next step to take."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gazo.cli.main import cli
from tests.support.keys import create_key
from tests.support.pixels import centre_mask, photo
from tests.support.server import GazoServer, free_port
from tests.support.terminal import TERMINAL


def gazo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GAZO_")}
    return subprocess.run(
        [sys.executable, "-m", "gazo", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**environment, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


@dataclass(frozen=True)
class Server:
    url: str
    key: str  #: no limits
    limited_key: str  #: one request a minute


@pytest.fixture(scope="module")
def server(auth_server: GazoServer) -> Server:
    """The session's `gazo serve --require-auth` (tests/conftest.py), with keys of this module's own."""
    key = create_key(auth_server.data_dir, "cli")
    limited_key = create_key(auth_server.data_dir, "cli-one-a-minute", "--rpm", "1")
    return Server(auth_server.base_url, key, limited_key)


def test_no_server_there_says_how_to_start_one(tmp_path: Path) -> None:
    port = free_port()
    result = gazo(
        "generate", "a fox", "-o", str(tmp_path / "fox.png"), "--server", f"http://127.0.0.1:{port}"
    )
    assert result.returncode == 1 and not (tmp_path / "fox.png").exists()
    assert f"could not connect to gazo at http://127.0.0.1:{port}" in result.stderr
    assert f"next: is `gazo serve` running? Start it with `gazo serve --port {port}`" in result.stderr

    schemeless = CliRunner().invoke(cli, ["generate", "a fox", "-o", "fox.png", "--server", "localhost:8000"])
    assert schemeless.exit_code == 1 and "next: give it with its scheme" in schemeless.output


def test_a_missing_or_wrong_key_says_how_to_get_one(server: Server, tmp_path: Path) -> None:
    out = str(tmp_path / "fox.png")
    missing = gazo("generate", "a fox", "-o", out, env={"GAZO_SERVER": server.url})
    assert missing.returncode == 1 and "(invalid_api_key)" in missing.stderr
    assert (
        "next: create a key where the server keeps its data, `gazo keys create --name NAME" in missing.stderr
    )
    assert "--api-key KEY or GAZO_API_KEY=KEY" in missing.stderr

    wrong = gazo(
        "generate", "a fox", "-o", out, "--server", server.url, "--api-key", "gz-not-a-real-key-at-all"
    )
    assert wrong.returncode == 1 and "Incorrect API key provided" in wrong.stderr
    assert "next: the key was not accepted" in wrong.stderr and "`gazo keys list`" in wrong.stderr
    assert not Path(out).exists()


def test_generate_through_the_server_counts_previews_and_prints_json(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "boat.webp"
    args = ("generate", "a paper boat", "-o", str(out), "-n", "2", "--size", "256x256", "--quality", "low")
    env = {"GAZO_SERVER": server.url, "GAZO_API_KEY": server.key, **TERMINAL}
    result = gazo(*args, "--partial-images", "2", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # stdout holds the JSON alone: the bar went to stderr
    written = [tmp_path / "boat-1.webp", tmp_path / "boat-2.webp"]
    assert report["files"] == [str(path) for path in written] and report["server"] == server.url
    assert report["size"] == "256x256" and report["quality"] == "low"
    assert report["usage"]["output_tokens"] > 0 and report["usage"]["input_tokens_details"]["text_tokens"] > 0
    for path in written:
        with Image.open(path) as image:
            assert image.format == "WEBP" and image.size == (256, 256)
    bar = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)  # what a terminal showed, less the escapes
    for seen in ("preview 1/4", "preview 4/4 · image 0/2", "preview 4/4 · image 2/2"):
        assert seen in bar


def test_edit_through_the_server_keeps_unmasked_pixels(server: Server, tmp_path: Path) -> None:
    source, mask_path, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    photo(128, 128).save(source)
    mask, keep = centre_mask(128, 128, (32, 32, 96, 96))
    mask.save(mask_path)
    args = ("edit", str(source), "--mask", str(mask_path), "-p", "a window", "-o", str(out))
    result = gazo(*args, "--server", server.url, "--api-key", server.key)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(out)]
    edited = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(edited[keep], np.asarray(Image.open(source).convert("RGB"))[keep])


def test_moderation_and_rate_limits_say_what_to_do(server: Server, tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    env = {"GAZO_SERVER": server.url, "GAZO_API_KEY": server.limited_key}
    blocked = gazo("generate", "naked woman lying on a bed, explicit, nsfw", "-o", out, env=env)
    assert blocked.returncode == 1 and "(moderation_blocked)" in blocked.stderr
    assert "sexual content" in blocked.stderr and "naked" not in blocked.stderr
    assert "next: change the prompt or the image; nothing was made and nothing was charged." in blocked.stderr

    assert gazo("generate", "a fox", "-o", out, "--size", "64x64", env=env).returncode == 0  # one a minute
    limited = gazo("generate", "a fox", "-o", out, "--size", "64x64", env=env)
    assert limited.returncode == 1 and "(rate_limit_exceeded)" in limited.stderr
    assert re.search(r"next: run it again in (5\d|60) s; `gazo keys create --rpm N", limited.stderr)


def test_a_refused_value_or_a_wrong_url_is_one_line_that_says_which(server: Server, tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    env = {"GAZO_API_KEY": server.key}
    odd = gazo("generate", "a fox", "-o", out, "--size", "13x7", "--server", server.url, env=env)
    assert odd.returncode == 1 and not Path(out).exists()
    [line] = odd.stderr.strip().splitlines()  # the server's words alone: no request log, no traceback
    assert line.startswith("Error: `size` 13x7 ") and line.endswith("(invalid_size)")

    v1 = gazo("generate", "a fox", "-o", out, "--server", f"{server.url}/v1", env=env)
    assert v1.returncode == 1 and not Path(out).exists()
    hint = f"next: give the URL `gazo serve` answers at, without /v1 (it is added): --server {server.url}."
    assert hint in v1.stderr
