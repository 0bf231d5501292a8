"""The `gazo` command line: in-process generate/edit, tiny-pipeline, pull offline, models list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from gazo.cli.main import cli
from tests.api.test_edits import centre_mask, photo


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
            "--data-dir",
            str(shared_data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    written = [tmp_path / "out-1.webp", tmp_path / "out-2.webp"]
    assert completed.stdout.split() == [str(path) for path in written]
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
