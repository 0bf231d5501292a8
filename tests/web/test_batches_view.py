"""The playground's Batches view in a real browser against a real `gazo serve`: a CSV converted in the
page exactly as `gazo batch lines` converts it, a batch created, watched, cancelled and downloaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from gazo.cli.batch_lines import LinesError, lines_from_csv
from tests.web.conftest import Playground
from tests.web.test_playground import open_playground

CSVS = [
    'prompt,custom_id,n,size\na lighthouse at dawn,,,\n"Café au lait, ""noir""",,2,\n',
    '\ufeffPrompt , Quality\r\n"two\nlines",high\r\n\r\n,,\nÉlan vital — ÜBER straße 東京,\n',
    "prompt,output_format\n" + "".join(f"boat {i},webp\n" for i in range(12)),
]
BAD_CSVS = [
    "custom_id\nx\n",
    "prompt,szie\na,b\n",
    "prompt,custom_id\na,one\n,two\n",
    "prompt,custom_id\na,0002-b\nb,\n",
    "prompt,n\na,11\n",
    "prompt\n",
]


def convert_in_page(page: Page, text: str, defaults: dict[str, Any]) -> Any:
    script = """async ([text, defaults]) => {
      const { linesFromCsv } = await import(new URL("static/batches.js", document.baseURI).href);
      try { return linesFromCsv(text, defaults); } catch (error) { return { error: error.message }; }
    }"""
    return page.evaluate(script, [text, defaults])


def test_a_csv_becomes_the_same_lines_in_the_page_as_in_the_cli(page: Page) -> None:
    open_playground(page)
    defaults = {"size": "256x256", "quality": "low"}
    for text in CSVS:
        assert convert_in_page(page, text, defaults) == lines_from_csv(text, defaults)
    for text in BAD_CSVS:
        with pytest.raises(LinesError) as raised:
            lines_from_csv(text)
        assert convert_in_page(page, text, {}) == {"error": str(raised.value)}


def open_batches(page: Page) -> None:
    open_playground(page)
    page.click("#tab-batches")
    expect(page.locator("#batch-list")).to_have_attribute("data-loaded", "true")


def upload(page: Page, name: str, text: str) -> None:
    page.set_input_files(
        "#batch-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )
    page.click("#batch-submit")


# --- these wait on the server's /v1/files and /v1/batches routes --------------------------------------


def test_a_csv_runs_as_a_batch_and_its_results_download(
    page: Page, playground: Playground, tmp_path: Path
) -> None:
    open_batches(page)
    upload(page, "bad.csv", "prompt,custom_id\na,same\nb,same\n")
    expect(page.locator("#batch-error")).to_contain_text(
        "bad.csv: row 2 (line 3) repeats the custom_id 'same'"
    )

    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if "/v1/" in request.url else None)
    page.select_option("#batch-size", "256x256")
    page.select_option("#batch-quality", "low")
    upload(page, "prompts.csv", CSVS[0])
    card = page.locator("#batch-list .batch").first
    expect(card).to_have_attribute("data-status", "completed", timeout=120_000)
    expect(card.locator(".batch-counts")).to_have_text("2 completed · 0 failed · 2 in all")
    expect(card.locator("progress")).to_have_attribute("value", "2")
    expect(page.locator("#batch-error")).to_be_empty()

    created = next(r for r in sent if r.url.endswith("/v1/batches") and r.method == "POST")
    assert created.headers["authorization"] == f"Bearer {playground.key}"
    assert created.post_data_json["endpoint"] == "/v1/images/generations"
    assert created.post_data_json["completion_window"] == "24h"
    polls = [r for r in sent if "/v1/batches?" in r.url]
    assert len(polls) >= 2  # the list was polled while the batch ran

    with page.expect_download() as download:
        card.get_by_role("button", name="Download results").click()
    saved = tmp_path / "results.jsonl"
    download.value.save_as(saved)
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert sorted(line["custom_id"] for line in lines) == [
        "0001-a-lighthouse-at-dawn",
        "0002-cafe-au-lait-noir",
    ]
    assert all(line["response"]["status_code"] == 200 for line in lines)
    assert [
        len(line["response"]["body"]["data"]) for line in sorted(lines, key=lambda x: x["custom_id"])
    ] == [1, 2]


def test_a_running_batch_can_be_cancelled(page: Page) -> None:
    open_batches(page)
    upload(page, "many.csv", "prompt\n" + "".join(f"a kite number {i}\n" for i in range(40)))
    card = page.locator("#batch-list .batch").first
    expect(card).to_have_attribute("data-status", "in_progress", timeout=30_000)
    with page.expect_request(lambda request: request.url.endswith("/cancel")) as cancel:
        card.get_by_role("button", name="Cancel").click()
    assert cancel.value.method == "POST"
    expect(card).to_have_attribute("data-status", "cancelled", timeout=120_000)
    expect(card.get_by_role("button", name="Cancel")).to_have_count(0)
