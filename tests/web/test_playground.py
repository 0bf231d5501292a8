"""The playground in a real browser against a real `gazo serve`: generate, edit, inspect, errors, layouts.

Every answer comes from the server, keys included: moderation blocks a real prompt and the rate
limit is a real key's (`gazo keys create --rpm 1`). Nothing is intercepted or faked.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, Request, Response, expect

from tests.web.conftest import Playground
from tests.web.screenshots import save_docs_screenshot

#: Records every `data-state` a result tile goes through (pending → partial → final).
RECORD_TILE_STATES = """
window.__tileStates = [];
new MutationObserver((records) => {
  for (const record of records) window.__tileStates.push(record.target.dataset.state);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
"""

#: Keeps a copy of every multipart body the page sends (Playwright does not expose bodies with files).
RECORD_FORMS = """
window.__forms = [];
const sendForReal = window.fetch;
window.fetch = async function (input, init) {
  if (init && init.body instanceof FormData) {
    const entries = [];
    for (const [name, value] of init.body.entries()) {
      const bytes = value instanceof Blob
        ? new Uint8Array(await value.arrayBuffer())
        : new TextEncoder().encode(value);
      let text = "";
      for (const byte of bytes) text += String.fromCharCode(byte);
      entries.push([name, btoa(text)]);
    }
    window.__forms.push({ url: String(input), entries });
  }
  return sendForReal.call(this, input, init);
};
"""


def open_playground(page: Page) -> None:
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def generate(page: Page, prompt: str = "a lighthouse at dawn", *, n: int = 1, previews: int = 0) -> Locator:
    page.fill("#gen-prompt", prompt)
    page.fill("#gen-n", str(n))
    page.select_option("#gen-partials", str(previews))
    page.click("#generate-submit")
    card = page.locator("#generate-results .run").first
    expect(card).to_have_attribute("data-done", "true", timeout=30_000)
    return card


def edit_first_result(page: Page) -> None:
    page.locator("#generate-results .tile").first.get_by_role("button", name=re.compile("^Edit")).click()
    expect(page.locator("#edit-canvas")).to_be_visible()


def submit_edit(page: Page) -> Locator:
    runs = page.locator("#edit-results .run").count()
    page.click("#edit-submit")
    expect(page.locator("#edit-results .run")).to_have_count(runs + 1)
    card = page.locator("#edit-results .run").first
    expect(card).to_have_attribute("data-done", "true", timeout=30_000)
    return card


def sent_form(page: Page, path: str) -> dict[str, list[bytes]]:
    """The fields of the last multipart body sent to `path`, by name."""
    forms = [form for form in page.evaluate("window.__forms") if form["url"].endswith(path)]
    assert forms, f"no multipart request to {path}"
    parts: dict[str, list[bytes]] = {}
    for name, data in forms[-1]["entries"]:
        parts.setdefault(name, []).append(base64.b64decode(data))
    return parts


def image_sizes(page: Page, selector: str) -> list[list[int]]:
    script = "images => images.map((image) => [image.naturalWidth, image.naturalHeight])"
    return page.locator(selector).evaluate_all(script)


def streamed_usage(response: Response) -> list[dict[str, int]]:
    """The `usage` of each `*.completed` event in a Server-Sent Events response the page read."""
    events = [json.loads(line[5:]) for line in response.text().splitlines() if line.startswith("data:")]
    return [event["usage"] for event in events if event["type"].endswith(".completed")]


def test_generate_streams_previews_then_compares_styles_side_by_side(
    page: Page, playground: Playground, artifacts: Path, tmp_path: Path
) -> None:
    page.add_init_script(RECORD_TILE_STATES)
    open_playground(page)
    expect(page.locator("#key-label")).to_have_text(
        "API key set"
    )  # stored in localStorage by an earlier visit

    requests: list[Request] = []
    responses: list[Response] = []
    page.on("request", lambda request: requests.append(request) if "/v1/images/" in request.url else None)
    page.on(
        "response", lambda response: responses.append(response) if "/v1/images/" in response.url else None
    )
    page.get_by_text("Photo", exact=True).click()
    page.get_by_text("Watercolor", exact=True).click()
    page.fill("#gen-seed", "7")
    card = generate(page, n=1, previews=2)

    assert len(requests) == 2
    for request in requests:
        assert request.headers["authorization"] == f"Bearer {playground.key}"
        body = request.post_data_json
        assert body["stream"] is True and body["partial_images"] == 2 and body["n"] == 1 and body["seed"] == 7
    assert {requests[0].post_data_json["prompt"], requests[1].post_data_json["prompt"]} == {
        "a lighthouse at dawn, photorealistic photograph, natural light",
        "a lighthouse at dawn, watercolor painting, soft washes",
    }
    tiles = card.locator(".tile[data-state=final]")
    expect(tiles).to_have_count(2)
    assert image_sizes(page, "#generate-results .tile img") == [[256, 256]] * 2
    states = page.evaluate("window.__tileStates")
    assert "partial" in states and states.count("final") == 2  # previews were shown before the finals
    expect(card.locator(".tile-label")).to_have_text(["Photo", "Watercolor"])
    first, second = tiles.nth(0).bounding_box(), tiles.nth(1).bounding_box()
    assert first and second and first["y"] == second["y"] and second["x"] >= first["x"] + first["width"]

    # Cost and tokens are the server's `usage`, priced at the default $5 / $10 / $40 per 1M tokens.
    usages = [usage for response in responses for usage in streamed_usage(response)]
    assert len(usages) == 2
    total = sum(usage["total_tokens"] for usage in usages)
    text = sum(usage["input_tokens_details"]["text_tokens"] for usage in usages)
    out = sum(usage["output_tokens"] for usage in usages)
    expect(card.locator(".run-usage")).to_contain_text(f"{total:,} tokens")
    expect(card.locator(".run-usage")).to_contain_text(f"text in {text:,} · image in 0 · image out {out:,}")
    usd = (text * 5 + out * 40) / 1e6
    expect(card.locator(".run-usage .cost")).to_have_text(f"${usd:.3f}" if usd >= 0.01 else f"${usd:.4f}")
    expect(page.locator("#session-cost")).to_contain_text("2 requests")

    with page.expect_download() as downloading:
        card.get_by_role("link", name="Download: Photo").click()
    download = downloading.value
    assert re.fullmatch(r"gazo-\d{8}-\d{6}-1-1\.png", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert Image.open(saved).size == (256, 256) and b"c2pa" in saved.read_bytes()

    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "playground-1280x800.png")
    save_docs_screenshot(artifacts / "playground-1280x800.png")


def test_paint_a_mask_with_brush_size_eraser_and_undo_then_edit(page: Page) -> None:
    page.add_init_script(RECORD_FORMS)
    open_playground(page)
    generate(page)
    edit_first_result(page)
    canvas = page.locator("#edit-canvas")
    expect(page.locator("#tab-edit")).to_have_attribute("aria-selected", "true")

    # A brush stroke with the mouse, undone.
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.4, steps=6)
    page.mouse.up()
    expect(page.locator("#mask-clear")).to_be_enabled()
    page.click("#mask-undo")
    expect(page.locator("#mask-clear")).to_be_disabled()

    # By keyboard: the largest brush (half the image), a dot in the centre, then the eraser one step right.
    page.focus("#brush-size")
    page.keyboard.press("End")
    expect(page.locator("#brush-size-value")).to_have_text("128 px")
    canvas.focus()
    page.keyboard.press("Space")
    page.keyboard.press("e")
    expect(page.locator("#tool-eraser")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowRight")  # a third of the brush: the cursor moves to x = 128 + 42.7
    page.keyboard.press("Space")
    expect(page.locator("#mask-clear")).to_be_enabled()

    page.fill("#edit-prompt", "a red door")
    card = submit_edit(page)
    parts = sent_form(page, "/v1/images/edits")
    assert parts["stream"] == [b"true"] and parts["size"] == [b"auto"] and "placement" not in parts
    mask = Image.open(io.BytesIO(parts["mask"][0]))
    original = Image.open(io.BytesIO(parts["image"][0]))
    assert mask.format == "PNG" and mask.size == original.size == (256, 256)
    alpha = np.asarray(mask.convert("RGBA"))[..., 3]
    assert set(np.unique(alpha)) == {0, 255}
    # transparent = edit here: the dot's left part (64 px radius around the centre) minus what was erased
    assert alpha[128, 80] == 0 and alpha[90, 100] == 0
    assert alpha[128, 150] == 255 and alpha[128, 190] == 255  # erased, and never painted
    assert alpha[128, 30] == 255 and alpha[20, 128] == 255  # outside the dot
    assert 0 < (alpha == 0).sum() < alpha.size / 4
    assert b"c2pa" in parts["image"][0]  # the original bytes are sent, so the edit keeps their credentials

    expect(card.locator(".tile[data-state=final]")).to_have_count(1)
    expect(card.locator(".run-usage")).not_to_contain_text("image in 0 ")

    card.get_by_role("button", name=re.compile("^Credentials")).click()
    report = page.locator(".report")
    expect(report.locator(".report-state [data-state=Trusted]")).to_be_visible()
    expect(report.locator(".history-node")).to_have_count(2)
    expect(report.locator(".history-node").nth(1)).to_contain_text("opened from")
    expect(report).to_contain_text("Edited with AI")


def test_extend_the_canvas_sends_the_original_with_a_placement(page: Page) -> None:
    page.add_init_script(RECORD_FORMS)
    open_playground(page)
    generate(page)
    edit_first_result(page)
    page.select_option("#edit-size", "512x256")
    expect(page.locator("#edit-placement")).to_be_visible()
    page.locator(".placement-cell", has=page.locator("input[value=left]")).click()
    assert page.locator("#edit-canvas").evaluate("canvas => [canvas.width, canvas.height]") == [512, 256]
    page.fill("#edit-prompt", "more sea to the right")
    submit_edit(page)
    parts = sent_form(page, "/v1/images/edits")
    assert parts["placement"] == [b"left"] and parts["size"] == [b"512x256"] and "mask" not in parts
    assert image_sizes(page, "#edit-results .tile[data-state=final] img") == [[512, 256]]

    # With a mask as well, the page pads the image itself: transparent border + mask, both 512x256.
    page.locator("#edit-canvas").focus()
    page.keyboard.press("Space")
    submit_edit(page)
    parts = sent_form(page, "/v1/images/edits")
    assert "placement" not in parts
    padded = np.asarray(Image.open(io.BytesIO(parts["image"][0])).convert("RGBA"))
    mask = np.asarray(Image.open(io.BytesIO(parts["mask"][0])).convert("RGBA"))
    assert padded.shape == mask.shape == (256, 512, 4)
    # placed left: the image opaque on the left, the new border transparent on the right
    assert (padded[:, 256:, 3] == 0).all() and (padded[:, :256, 3] == 255).all()
    assert (mask[:, 256:, 3] == 0).all() and (mask[:, :256, 3] == 0).any() and (mask[:, :256, 3] == 255).any()
    assert image_sizes(page, "#edit-results .run:first-child .tile[data-state=final] img") == [[512, 256]]


def test_reference_images_travel_with_the_edit(page: Page, tmp_path: Path) -> None:
    page.add_init_script(RECORD_FORMS)
    open_playground(page)
    generate(page)
    edit_first_result(page)
    colours = {"red.png": (220, 40, 40), "blue.png": (40, 60, 220), "green.png": (40, 180, 80)}
    for name, colour in colours.items():
        Image.new("RGB", (64, 64), colour).save(tmp_path / name)
    page.set_input_files("#edit-refs", [tmp_path / "red.png", tmp_path / "blue.png"])
    page.set_input_files("#edit-refs", tmp_path / "green.png")
    references = page.locator("#edit-ref-list .ref")
    expect(references).to_have_count(3)
    page.get_by_role("button", name="Remove reference blue.png").click()
    expect(references.locator(".ref-name")).to_have_text(["red.png", "green.png"])

    page.fill("#edit-prompt", "the same scene in these colours")
    card = submit_edit(page)
    parts = sent_form(page, "/v1/images/edits")
    assert "image" not in parts and len(parts["image[]"]) == 3  # the edited image first, then each reference
    assert b"c2pa" in parts["image[]"][0]
    sent = [Image.open(io.BytesIO(data)).convert("RGB").getpixel((32, 32)) for data in parts["image[]"][1:]]
    assert sent == [colours["red.png"], colours["green.png"]]
    expect(card.locator(".tile[data-state=final]")).to_have_count(1)
    expect(card.locator(".run-usage")).not_to_contain_text("image in 0 ")

    # The history says how each input took part: the built-in model places its references.
    card.get_by_role("button", name=re.compile("^Credentials")).click()
    history = page.locator(".report .history-node")
    expect(history).to_have_count(4)
    expect(history.nth(1)).to_contain_text("opened from")
    expect(history.nth(2)).to_contain_text("placed into it")
    expect(history.nth(3)).to_contain_text("placed into it")


def test_inspector_reads_gazo_images_as_trusted_and_plain_files_as_none(page: Page, tmp_path: Path) -> None:
    open_playground(page)
    generate(page)
    tile = page.locator("#generate-results .tile").first
    tile.get_by_role("button", name=re.compile("^Credentials")).click()
    report = page.locator(".report")
    expect(report.locator(".report-state [data-state=Trusted]")).to_be_visible()
    expect(report.locator(".facts")).to_contain_text("gazo-builtin")
    expect(report.locator(".history")).to_contain_text("AI-generated")

    plain = tmp_path / "plain.png"
    Image.new("RGB", (32, 32), "teal").save(plain)
    page.set_input_files("#verify-file", plain)
    expect(page.locator(".report .report-state [data-state=None]")).to_be_visible()
    expect(page.locator(".report")).to_contain_text("No Content Credentials")


def test_errors_name_the_field_and_moderation_says_why(page: Page) -> None:
    open_playground(page)
    page.fill("#gen-prompt", "a fox")
    page.select_option("#gen-size", "custom")
    page.fill("#gen-size-custom", "999x1")
    page.click("#generate-submit")
    alert = page.locator("#generate-error [role=alert]")
    expect(alert).to_contain_text("Request not accepted")
    expect(alert).to_contain_text("multiples of 16")  # the server's own message
    expect(page.locator("#gen-size-custom")).to_have_attribute("aria-invalid", "true")

    page.select_option("#gen-size", "256x256")
    page.fill("#gen-prompt", "naked woman lying on a bed, explicit, nsfw")
    page.click("#generate-submit")
    expect(alert).to_have_attribute("data-code", "moderation_blocked")
    expect(alert.locator(".alert-title")).to_have_text("Blocked by content moderation")
    expect(alert.locator(".alert-detail")).to_contain_text("sexual content")  # why, in the server's words
    expect(alert.locator(".alert-detail")).not_to_contain_text("naked")  # never quoting the prompt
    expect(page.locator("#gen-prompt")).to_have_attribute("aria-invalid", "true")
    blocked = page.locator("#generate-results .run").first
    expect(blocked.locator(".tile[data-state=failed]")).to_have_count(2)  # nothing was made of either image
    expect(blocked.locator(".tile img[src]")).to_have_count(0)
    expect(page.locator("#generate-submit")).to_be_enabled()


@pytest.mark.browser_context_args(storage_state=None)
def test_api_key_field_then_a_rate_limit_says_when_to_retry(page: Page, playground: Playground) -> None:
    open_playground(page)
    expect(page.locator("#key-label")).to_have_text("API key")
    expect(page.locator("#gen-model")).to_contain_text("Set an API key")
    page.fill("#gen-prompt", "a paper boat")
    page.fill("#gen-n", "1")
    page.click("#generate-submit")
    alert = page.locator("#generate-error [role=alert]")
    expect(alert.locator(".alert-title")).to_have_text("API key missing or not accepted")
    expect(alert).to_contain_text("gazo keys create")  # the server says how keys are made

    # By keyboard: the alert's button opens the key dialog; Enter saves; models load with the key.
    alert.get_by_role("button", name="Set API key").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#key-dialog")).to_be_visible()
    page.keyboard.type(playground.limited_key)
    page.keyboard.press("Enter")
    expect(page.locator("#key-label")).to_have_text("API key set")
    expect(page.locator("#key-button")).to_be_focused()
    assert page.evaluate("localStorage.getItem('gazo.apiKey')") == playground.limited_key
    expect(page.locator("#gen-model option").first).to_have_text("gazo-builtin")

    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request) if "/v1/images/" in request.url else None)
    page.focus("#gen-prompt")
    page.keyboard.press("Control+Enter")  # the key allows one request a minute: this one passes
    expect(page.locator("#generate-results .run").first).to_have_attribute(
        "data-done", "true", timeout=30_000
    )
    expect(page.locator("#generate-results .tile[data-state=final]")).to_have_count(1)
    expect(alert).to_have_count(0)
    assert requests[0].headers["authorization"] == f"Bearer {playground.limited_key}"

    page.keyboard.press("Control+Enter")
    expect(alert).to_have_attribute("data-code", "rate_limit_exceeded")
    expect(alert.locator(".alert-title")).to_have_text("Rate limit reached")
    expect(alert.locator(".alert-detail")).to_contain_text("limit 1")
    # When: from the 429's Retry-After (about a minute for one request a minute), counting down.
    expect(alert.locator(".alert-retry")).to_have_text(re.compile(r"^You can try again in (5\d|60) s\.$"))
    expect(page.locator("#generate-submit")).to_be_disabled()
    page.keyboard.press("Control+Enter")  # the keyboard cannot skip the wait either
    page.wait_for_timeout(300)
    assert len(requests) == 2
    expect(page.locator("#generate-submit")).to_be_disabled()


@pytest.mark.browser_context_args(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
def test_phone_layout_fits_and_fills_each_image_of_n(page: Page, artifacts: Path) -> None:
    page.add_init_script(RECORD_TILE_STATES)
    open_playground(page)
    card = generate(page, n=2, previews=2)
    expect(card.locator(".tile[data-state=final]")).to_have_count(2)
    assert "partial" in page.evaluate("window.__tileStates")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "playground-390x844.png")  # the page has scrolled to the results
    page.locator("#tab-generate").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#panel-edit")).to_be_visible()
    expect(page.locator("#tab-edit")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_retry_time_comes_from_whichever_rate_limit_header_survives(page: Page) -> None:
    """gazo sends all three; a proxy may drop some. The page's own parser, run in the browser."""
    open_playground(page)
    waits = page.evaluate(
        """async () => {
          const { retryAfterSeconds } = await import("./static/api.js");
          return [
            { "retry-after-ms": "59923", "retry-after": "60", "x-ratelimit-reset-requests": "59.922s" },
            { "retry-after": "7" },
            { "x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-images": "2.5s" },
            { "x-ratelimit-reset-images": "120ms" },
            {},
          ].map((headers) => retryAfterSeconds(new Headers(headers)));
        }"""
    )
    assert waits == [60, 7, 90, 1, None]
