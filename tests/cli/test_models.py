"""`gazo models list --server` against the session's real `gazo serve`, and `gazo pull` of one file, from
a plain URL and from a hub repo, against a local HTTP server: the file arrives whole or not at all, with
its sha256 and the config lines that serve it."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import save

from gazo.cli.main import cli
from gazo.cli.models import age, human_bytes
from tests.support.keys import create_key
from tests.support.server import GazoServer, free_port

LORA = save({"lora_unet_mid_block.lora_down.weight": np.ones((4, 8), dtype=np.float32)})
COMMIT = "0123456789abcdef0123456789abcdef01234567"
_HUB_FILE = re.compile(r"/(?P<repo>[^/]+/[^/]+)/resolve/[^/]+/(?P<name>.+)")


class _Files(BaseHTTPRequestHandler):
    """`/NAME`: the file, resumable (`Range` honoured while `If-Range` names its ETag); `/short/NAME`:
    promises the rest of it, sends half; `/flaky/NAME`: the same, the first time only;
    `/OWNER/REPO/resolve/REV/NAME`: the headers huggingface_hub's `hf_hub_download` reads (commit,
    ETag, size), then the file. `ranges` records the ranges it sent."""

    files = {"brand-style.safetensors": LORA}
    ranges: ClassVar[list[str]] = []
    cut: ClassVar[set[str]] = set()

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def _answer(self, with_body: bool) -> None:
        path = self.path.split("?")[0]
        hub = _HUB_FILE.fullmatch(path)
        name = hub["name"] if hub else re.sub(r"^/(short|flaky)/", "/", path).lstrip("/")
        data = self.files.get(name)
        etag = f'"{hashlib.sha256(data or b"").hexdigest()}"'
        asked, start = self.headers.get("Range"), 0
        if data is not None and asked and self.headers.get("If-Range") in (None, etag):
            self.ranges.append(asked)
            start = int(asked.removeprefix("bytes=").removesuffix("-"))
        self.send_response(404 if data is None else 206 if start else 200)
        body = (data or b"")[start:]
        self.send_header("Content-Length", str(len(body)))
        if data is not None:
            self.send_header("ETag", etag)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data or b'') - 1}/{len(data or b'')}")
        if hub:
            self.send_header("X-Repo-Commit", COMMIT)
        self.end_headers()
        cut = path.startswith("/short/") or (path.startswith("/flaky/") and path not in self.cut)
        if with_body:
            self.cut.add(path)
            self.wfile.write(body[: len(body) // 2] if cut else body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def files_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def pull(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["pull", *args])
    return result.exit_code, result.stdout, result.stderr


def test_url_arrives_whole_with_its_sha256_and_adapter_block(files_url: str, tmp_path: Path) -> None:
    code, out, err = pull(f"{files_url}/brand-style.safetensors", "--data-dir", str(tmp_path))
    saved = tmp_path / "models" / "brand-style.safetensors"
    assert code == 0, out + err
    assert saved.read_bytes() == LORA
    assert f"sha256 {hashlib.sha256(LORA).hexdigest()}" in out
    assert f'[[models.adapters]]\nname = "brand-style"\nsource = "{saved}"' in out
    assert "brand-style.safetensors" in err and "bytes" in err  # the progress bar, on stderr
    assert sorted(p.name for p in saved.parent.iterdir()) == ["brand-style.safetensors"]


def test_a_wrong_sha256_leaves_nothing_and_a_short_download_only_its_hidden_part(
    files_url: str, tmp_path: Path
) -> None:
    url, models = f"{files_url}/brand-style.safetensors", tmp_path / "models"
    code, _, err = pull(url, "--sha256", "ab" * 32, "--data-dir", str(tmp_path))
    assert code == 1 and f"has sha256 {hashlib.sha256(LORA).hexdigest()}, not {'ab' * 32}" in err
    assert list(models.iterdir()) == []

    code, _, err = pull(f"{files_url}/short/brand-style.safetensors", "--data-dir", str(tmp_path))
    assert code == 1 and f"{len(LORA) // 2} bytes are kept" in err
    assert [path.name for path in models.iterdir() if not path.name.startswith(".")] == []

    code, _, err = pull(f"{files_url}/missing.safetensors", "--data-dir", str(tmp_path))
    assert code == 1 and "answered HTTP 404; nothing was written" in err


def test_a_pull_that_broke_off_resumes_where_it_stopped_unless_the_file_changed(
    files_url: str, tmp_path: Path
) -> None:
    url, models, half = f"{files_url}/flaky/brand-style.safetensors", tmp_path / "models", len(LORA) // 2
    url += "?token=s3cret"  # a presigned URL: its token is never written down
    code, _, err = pull(url, "--data-dir", str(tmp_path))
    assert code == 1 and f"{half} bytes are kept" in err and "run the same `gazo pull` again" in err
    assert not any(b"s3cret" in path.read_bytes() for path in models.iterdir())
    code, out, err = pull(url, "--sha256", hashlib.sha256(LORA).hexdigest(), "--data-dir", str(tmp_path))
    assert code == 0, out + err
    assert _Files.ranges[-1] == f"bytes={half}-"  # only the rest was sent
    assert (models / "brand-style.safetensors").read_bytes() == LORA
    assert [path.name for path in models.iterdir()] == ["brand-style.safetensors"]  # nothing hidden left

    _Files.files["changing.bin"] = bytes(range(200))
    code, _, err = pull(f"{files_url}/flaky/changing.bin", "--data-dir", str(tmp_path))
    assert code == 1 and "100 bytes are kept" in err
    _Files.files["changing.bin"], sent = bytes(reversed(range(200))), len(_Files.ranges)
    code, out, err = pull(f"{files_url}/flaky/changing.bin", "--data-dir", str(tmp_path))
    assert code == 0, out + err
    assert (models / "changing.bin").read_bytes() == bytes(reversed(range(200)))  # fetched whole again
    assert len(_Files.ranges) == sent  # its ETag changed: the server ignored the range


def test_unreachable_url_fails_at_once(tmp_path: Path) -> None:
    code, _, err = pull("http://127.0.0.1:9/x.safetensors", "--data-dir", str(tmp_path))
    assert code == 1 and "could not download" in err and "needs the network" in err
    assert not any((tmp_path / "models").iterdir())


def test_hub_file_lands_in_the_cache(files_url: str, tmp_path: Path) -> None:
    """huggingface_hub's real `hf_hub_download`, pointed at the local server with HF_ENDPOINT."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("GAZO_", "HF_"))}
    args = ["pull", "acme/styles", "--file", "brand-style.safetensors", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "gazo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, "HF_ENDPOINT": files_url},
    )
    assert result.returncode == 0, result.stderr
    cached = tmp_path / "models" / "hub" / "models--acme--styles" / "snapshots" / COMMIT
    assert (cached / "brand-style.safetensors").read_bytes() == LORA
    assert f'source = "{cached / "brand-style.safetensors"}"' in result.stdout


def test_pull_flags_that_do_not_fit_the_source(tmp_path: Path) -> None:
    code, _, err = pull("acme/styles", "--sha256", "ab", "--data-dir", str(tmp_path))
    assert code == 2 and "--sha256 checks a URL download" in err
    code, _, err = pull("https://example.com/x.safetensors", "--file", "y", "--data-dir", str(tmp_path))
    assert code == 2 and "--file names a file of a hub repo" in err


def test_models_list_shows_where_each_model_of_a_server_stands(server: GazoServer) -> None:
    before = CliRunner().invoke(cli, ["models", "list", "--url", server.base_url])
    assert before.exit_code == 0, before.output
    header, row = _row(before.stdout, "model"), _row(before.stdout, "gazo-tiny-sd")
    assert header == ["model", "status", "size", "last", "used", "aliases"], before.stdout
    assert row[1] == "ready" and row[3] in ("MiB", "KiB") and float(row[2]) > 0, before.stdout
    assert "dall-e-3" in before.stdout and _row(before.stdout, "dall-e-3") == ["dall-e-3"]  # folded in
    used = httpx.post(
        f"{server.base_url}/v1/images/generations",
        json={"model": "gazo-tiny-sd", "prompt": "a fox", "size": "256x256"},
        timeout=120,
    )
    assert used.status_code == 200, used.text
    after = CliRunner().invoke(cli, ["models", "list"], env={"GAZO_SERVER": server.base_url})
    assert re.match(r"(just now|\d+ s ago) ", " ".join(_row(after.stdout, "gazo-tiny-sd")[4:])), after.stdout


def _row(table: str, model: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.split()[:1] == [model])


def test_models_list_sends_the_key_a_closed_server_asks_for(auth_server: GazoServer) -> None:
    missing = CliRunner().invoke(cli, ["models", "list", "--server", auth_server.base_url])
    assert missing.exit_code == 1 and "(invalid_api_key)" in missing.stderr
    assert "--api-key KEY or GAZO_API_KEY=KEY" in missing.stderr
    key = create_key(auth_server.data_dir, "models-list")
    listed = CliRunner().invoke(cli, ["models", "list", "--server", auth_server.base_url, "--api-key", key])
    # memory and last use are the operator's (and tell when other tenants ran a model): admins only
    assert listed.exit_code == 0 and _row(listed.stdout, "gazo-builtin")[:4] == [
        "gazo-builtin",
        "ready",
        "-",
        "-",
    ]
    admin = create_key(auth_server.data_dir, "models-list-admin", "--admin")
    auth_server.client(admin).images.generate(prompt="a fox", size="1024x1024", quality="low")
    listed = CliRunner().invoke(cli, ["models", "list", "--server", auth_server.base_url, "--api-key", admin])
    used = " ".join(_row(listed.stdout, "gazo-builtin")[3:5])
    assert listed.exit_code == 0 and re.match(r"(just now|\d+ s ago)", used), listed.stdout


def test_models_list_says_when_no_server_answers() -> None:
    port = free_port()
    result = CliRunner().invoke(cli, ["models", "list", "--server", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 1 and f"could not reach gazo at http://127.0.0.1:{port}" in result.stderr
    assert "next: is `gazo serve` running there?" in result.stderr


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(2, "just now"), (42, "42 s ago"), (190, "3 min ago"), (7300, "2 h ago"), (2e5, "2 d ago")],
)
def test_ages_read_as_people_say_them(seconds: float, shown: str) -> None:
    assert age(seconds) == shown


def test_sizes_in_binary_units() -> None:
    assert [human_bytes(n) for n in (512, 3 * 2**20 + 2**19, 700 * 2**20, 7 * 2**30)] == [
        "512 B",
        "3.5 MiB",
        "700 MiB",
        "7.0 GiB",
    ]


def test_offline_hub_file_fails_at_once_and_a_checkpoint_says_which_configs_it_lacks(tmp_path: Path) -> None:
    code, _, err = pull("acme/styles/brand-style.safetensors", "--data-dir", str(tmp_path))
    assert code == 1 and "`gazo pull` needs the network (no download attempted)" in err
    assert not (tmp_path / "models" / "hub").exists()

    checkpoint = tmp_path / "fine-tune.safetensors"  # an SD 1.x UNet's first layer is all it takes to tell
    checkpoint.write_bytes(save({"model.diffusion_model.input_blocks.0.0.weight": np.ones((4, 4, 3, 3))}))
    code, out, err = pull(str(checkpoint), "--data-dir", str(tmp_path))
    assert code == 0 and f'[[models]]\nname = "fine-tune"\nsource = "{checkpoint}"' in out
    assert "configs come from stable-diffusion-v1-5/stable-diffusion-v1-5" in err
