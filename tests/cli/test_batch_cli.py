"""`gazo batch`: the CSV → lines converter on its own, then the README's three commands (CSV → lines →
batch → a folder of images) and status / list / cancel against a real `gazo serve --require-auth`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from gazo.cli.batch_lines import LinesError, endpoint_of, file_stems, lines_from_csv
from gazo.cli.main import cli
from tests.support.keys import create_key
from tests.support.server import GazoServer

PROMPTS = '''prompt,custom_id,n,size
a lighthouse at dawn,,,
"Café au lait, ""noir""",,2,
a paper fox,../../escape,,128x128
'''


def batch(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["batch", *args], env=env)


def test_a_csv_becomes_one_generation_line_a_row_with_stable_ids() -> None:
    lines = lines_from_csv(PROMPTS, {"size": "256x256", "quality": "low", "model": None})
    assert [line["custom_id"] for line in lines] == [
        "0001-a-lighthouse-at-dawn",
        "0002-cafe-au-lait-noir",
        "../../escape",
    ]
    assert {line["url"] for line in lines} == {"/v1/images/generations"} and {
        line["method"] for line in lines
    } == {"POST"}
    assert lines[0]["body"] == {"prompt": "a lighthouse at dawn", "size": "256x256", "quality": "low"}
    assert lines[1]["body"] == {"prompt": 'Café au lait, "noir"', "size": "256x256", "quality": "low", "n": 2}
    assert lines[2]["body"]["size"] == "128x128"  # a row's cell beats the option
    assert lines_from_csv("\ufeffPrompt\n" + "x" * 80 + "\n\n")[0]["custom_id"] == "0001-" + "x" * 40


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("custom_id\nx\n", "needs a header row with a `prompt` column (columns found: custom_id)"),
        ("prompt,szie\na,b\n", "unknown column(s) szie"),
        ("prompt,custom_id\na,one\n,two\n", "row 2 (line 3) has no prompt"),
        ("prompt,custom_id\na,same\nb,c\nd,same\n", "row 3 (line 4) repeats the custom_id 'same' of row 1"),
        ("prompt,custom_id\na,0002-b\nb,\n", "row 2 (line 3) repeats the custom_id '0002-b' of row 1"),
        ("prompt,n\na,11\n", "row 1 (line 2): n must be a whole number from 1 to 10, not '11'"),
        ("prompt\n", "has a header but no rows"),
    ],
)
def test_a_bad_csv_names_the_row(text: str, message: str) -> None:
    with pytest.raises(LinesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lines_from_csv(text)


def test_jsonl_lines_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/images/edits", "body": {"prompt": "x"}}
    assert endpoint_of(json.dumps(line)) == "/v1/images/edits"
    mixed = [line, {**line, "custom_id": "b", "url": "/v1/images/generations"}]
    with pytest.raises(LinesError, match="a batch has one endpoint"):
        endpoint_of("\n".join(map(json.dumps, mixed)))
    with pytest.raises(LinesError, match="line 2 repeats the custom_id 'a' of line 1"):
        endpoint_of("\n".join(map(json.dumps, [line, line])))
    with pytest.raises(LinesError, match="not to --endpoint /v1/images/generations"):
        endpoint_of(json.dumps(line), "/v1/images/generations")

    bad = tmp_path / "lines.jsonl"
    bad.write_text(json.dumps(line) + "\n{not json\n")
    result = batch("submit", str(bad), "--server", "http://127.0.0.1:9")  # nothing listens: never reached
    assert (
        result.exit_code == 1
        and "line 2 is not JSON" in result.output
        and "next: fix the line" in result.output
    )


def test_custom_ids_never_choose_where_a_file_lands() -> None:
    taken: set[str] = set()
    assert file_stems("cat", 1, taken) == (["cat"], False)
    assert file_stems("dog", 2, taken) == (["dog-1", "dog-2"], False)
    for hostile in ("../../.bashrc", "/etc/passwd", "C:\\x", ".hidden", "a/b", "", "x" * 300):
        stems, renamed = file_stems(hostile, 1, taken)
        assert renamed and all("/" not in s and "\\" not in s and not s.startswith(".") for s in stems)
        assert 0 < len(stems[0]) <= 100
    stems, renamed = file_stems("dog-1", 1, taken)  # taken by `dog`'s first image
    assert renamed and stems[0].startswith("dog-1-")


def test_lines_command_prints_jsonl_and_names_the_bad_row(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(PROMPTS, encoding="utf-8")
    result = batch("lines", str(prompts), "--quality", "low", "-n", "1")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["body"]["n"] for line in lines] == [1, 2, 1] and lines[1]["body"]["quality"] == "low"

    prompts.write_text("prompt,size\na,\n,256x256\n", encoding="utf-8")
    failed = batch("lines", str(prompts))
    assert failed.exit_code == 1 and "prompts.csv: row 2 (line 3) has no prompt" in failed.output
    assert "next: fix that row" in failed.output


# --- against a real server: these wait on the server's /v1/files and /v1/batches routes -----------------


@pytest.fixture(scope="module")
def env(auth_server: GazoServer) -> dict[str, str]:
    return {
        "GAZO_SERVER": auth_server.base_url,
        "GAZO_API_KEY": create_key(auth_server.data_dir, "batch-cli"),
    }


def test_from_a_csv_to_a_folder_of_images_in_three_commands(env: dict[str, str], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(PROMPTS + '"naked woman lying on a bed, explicit, nsfw",blocked,,\n', encoding="utf-8")
    lines = batch("lines", str(prompts), "--size", "256x256", "--quality", "low", env=env)
    assert lines.exit_code == 0, lines.output
    (tmp_path / "lines.jsonl").write_text(lines.stdout)

    submitted = batch("submit", str(tmp_path / "lines.jsonl"), "--watch", env=env)
    assert submitted.exit_code == 0, submitted.output
    batch_id = submitted.stdout.strip()
    assert batch_id.startswith("batch_")
    assert f"batch {batch_id} completed: 3 of 4 requests succeeded, 1 failed" in submitted.stderr

    images = tmp_path / "out" / "images"
    saved = batch("results", batch_id, "-o", str(images), env=env)
    assert saved.exit_code == 0, saved.output
    names = sorted(path.name for path in images.iterdir())
    escaped = [name for name in names if "escape" in name]
    assert names[:3] == [
        "0001-a-lighthouse-at-dawn.png",
        "0002-cafe-au-lait-noir-1.png",
        "0002-cafe-au-lait-noir-2.png",
    ]
    assert len(escaped) == 1 and "errors.jsonl" in names and len(names) == 5
    assert not (tmp_path / "escape.png").exists() and not list(tmp_path.parent.glob("escape*"))
    assert "custom_id '../../escape' is not a safe file name here" in saved.stderr
    assert "4 images, 1 errors" in saved.stderr
    with Image.open(images / escaped[0]) as fox:
        assert fox.size == (128, 128)
    (error,) = [json.loads(line) for line in (images / "errors.jsonl").read_text().splitlines()]
    assert error["custom_id"] == "blocked"
    refusal = error["error"] or error["response"]["body"]["error"]
    assert refusal["code"] == "moderation_blocked"
    assert sorted(saved.stdout.split()) == [str(images / name) for name in names if name != "errors.jsonl"]


def test_submit_a_csv_directly_then_status_list_and_cancel(env: dict[str, str], tmp_path: Path) -> None:
    prompts = tmp_path / "many.csv"
    prompts.write_text("prompt\n" + "".join(f"a boat number {i}\n" for i in range(12)), encoding="utf-8")
    submitted = batch("submit", str(prompts), "--size", "256x256", "--metadata", "team=docs", env=env)
    assert submitted.exit_code == 0, submitted.output
    batch_id = submitted.stdout.strip()
    assert f"next: `gazo batch status {batch_id}`" in submitted.stderr

    listed = batch("list", env=env)
    assert listed.exit_code == 0 and batch_id in listed.stdout
    cancelled = batch("cancel", batch_id, env=env)
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.strip() in {
        f"{batch_id}: {state}" for state in ("cancelling", "cancelled", "completed")
    }
    shown = batch("status", batch_id, env=env)
    assert shown.exit_code == 0, shown.output
    for seen in (batch_id, "/v1/images/generations", "in all", "input file", '"team": "docs"', "many.csv"):
        assert seen in shown.stdout


def test_server_errors_say_what_to_do(env: dict[str, str], tmp_path: Path) -> None:
    missing = batch("status", "batch_does_not_exist", env=env)
    assert (
        missing.exit_code == 1 and "next: `gazo batch list` shows the batches of this key." in missing.output
    )
    no_key = batch("list", env={**env, "GAZO_API_KEY": ""})
    assert no_key.exit_code == 1 and "(invalid_api_key)" in no_key.output and "--api-key KEY" in no_key.output
