"""The `gazo` command line: in-process generate/edit, tiny-pipeline, pull offline, models list."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from gazo.cli.main import cli
from tests.support.pixels import centre_mask, photo
from tests.support.terminal import TERMINAL


def test_generate_subprocess_writes_n_images(shared_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.webp"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "gazo",
            "generate",
            "a small house",
            "-o",
            str(out),
            "-n",
            "2",
            "--size",
            "256x256",
            "--quality",
            "low",
            "--partial-images",
            "1",
            "--data-dir",
            str(shared_data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **TERMINAL},
    )
    assert completed.returncode == 0, completed.stderr
    written = [tmp_path / "out-1.webp", tmp_path / "out-2.webp"]
    assert completed.stdout.split() == [str(path) for path in written]  # the progress bar is on stderr
    bar = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", completed.stderr)
    assert re.search(r"rendering · step \d+/\d+ · preview 2/2 · image 2/2", bar)
    for path in written:
        with Image.open(path) as image:
            assert image.format == "WEBP" and image.size == (256, 256)


def test_edit_with_mask_keeps_unmasked_pixels(shared_data_dir: Path, tmp_path: Path) -> None:
    source, mask_path, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    photo(128, 128).save(source)
    mask, keep = centre_mask(128, 128, (32, 32, 96, 96))
    mask.save(mask_path)
    result = CliRunner().invoke(
        cli,
        [
            "edit",
            str(source),
            "--mask",
            str(mask_path),
            "-p",
            "a window",
            "-o",
            str(out),
            "--data-dir",
            str(shared_data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    edited = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(edited[keep], np.asarray(Image.open(source).convert("RGB"))[keep])


def test_bad_request_is_a_clear_cli_error(shared_data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "x",
            "-o",
            str(tmp_path / "o.png"),
            "--size",
            "13x13",
            "--data-dir",
            str(shared_data_dir),
        ],
    )
    assert result.exit_code != 0
    assert "`size`" in result.output and "invalid_size" in result.output


def test_tiny_pipeline_command_builds_a_loadable_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["dev", "tiny-pipeline", "--arch", "flux", str(tmp_path / "flux")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "flux" / "model_index.json").is_file()
    assert (tmp_path / "flux" / "transformer").is_dir()


def test_pull_fails_at_once_offline(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["pull", "stabilityai/sdxl-turbo", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "needs the network" in result.output
    assert not (tmp_path / "models" / "hub").exists()


def test_models_list_shows_the_default_model_and_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "list", "--options", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "gazo-builtin" in result.output and "render_scale" in result.output
    alone = CliRunner().invoke(cli, ["models"], env={"GAZO_DATA_DIR": str(tmp_path)})
    assert alone.exit_code == 0 and "gazo-builtin" in alone.output and "Usage" not in alone.output


def test_generate_json_reports_files_concrete_fields_and_usage(shared_data_dir: Path, tmp_path: Path) -> None:
    import json

    out = tmp_path / "cut.png"
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "an apple",
            "-o",
            str(out),
            "--size",
            "128x128",
            "--quality",
            "low",
            "--background",
            "transparent",
            "--json",
            "--data-dir",
            str(shared_data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["files"] == [str(out)] and report["size"] == "128x128" and report["quality"] == "low"
    assert report["background"] == "transparent" and Image.open(out).mode == "RGBA"
    assert report["usage"]["output_tokens"] == 2 * 3


def test_keys_and_usage_tables_fit_an_80_column_terminal(tmp_path: Path) -> None:
    data, narrow = ["--data-dir", str(tmp_path)], {"COLUMNS": "80"}
    runner = CliRunner()
    empty = runner.invoke(cli, ["keys", "list", *data], env=narrow)
    assert (
        empty.exit_code == 0 and "no keys yet; create one with `gazo keys create --name NAME`" in empty.output
    )
    created = runner.invoke(cli, ["keys", "create", "--name", "design-team", "--rpm", "30", *data])
    key_id = re.search(r"created (key_\w+)", created.stderr)
    assert created.exit_code == 0 and key_id
    listed = runner.invoke(cli, ["keys", "list", *data], env=narrow)
    header, _, row = [line for line in listed.stdout.splitlines() if line.strip()][:3]
    assert header.split() == ["id", "name", "key", "rpm", "created"]  # columns no key fills are left out
    assert row.split()[:4] == [key_id[1], "design-team", created.stdout.strip()[:10] + "…", "30"]
    assert max(len(line.rstrip()) for line in listed.output.splitlines()) <= 80

    usage = runner.invoke(cli, ["usage", *data], env=narrow)
    assert usage.exit_code == 0 and "no requests in this period" in usage.output
