"""The playground in a real browser against a real gazo server: generate, edit, inspect, errors, layouts."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Request, Route, expect

from tests.web.screenshots import save_docs_screenshot

#: Records every `data-state` a result tile goes through (pending → partial → final).
RECORD_TILE_STATES = """
window.__tileStates = [];
new MutationObserver((records) => {
  for (const record of records) window.__tileStates.push(record.target.dataset.state);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
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


def test_generate_streams_previews_then_compares_styles_side_by_side(page: Page, artifacts: Path) -> None:
    page.add_init_script(RECORD_TILE_STATES)
    open_playground(page)
    # The API key, by keyboard: kept in localStorage and sent as a bearer token.
    page.focus("#key-button")
    page.keyboard.press("Enter")
    page.keyboard.type("gz-playground-test")
    page.keyboard.press("Enter")
    expect(page.locator("#key-label")).to_have_text("API key set")
    assert page.evaluate("localStorage.getItem('gazo.apiKey')") == "gz-playground-test"

    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request) if "/v1/images/" in request.url else None)
    page.get_by_text("Photo", exact=True).click()
    page.get_by_text("Watercolor", exact=True).click()
    page.fill("#gen-seed", "7")
    card = generate(page, n=1, previews=2)

    assert len(requests) == 2
    for request in requests:
        assert request.headers["authorization"] == "Bearer gz-playground-test"
        body = request.post_data_json
        assert body["stream"] is True and body["partial_images"] == 2 and body["n"] == 1 and body["seed"] == 7
    assert {requests[0].post_data_json["prompt"], requests[1].post_data_json["prompt"]} == {
        "a lighthouse at dawn, photorealistic photograph, natural light",
        "a lighthouse at dawn, watercolor painting, soft washes",
    }
    expect(card.locator(".tile[data-state=final]")).to_have_count(2)
    assert image_sizes(page, "#generate-results .tile img") == [[256, 256]] * 2
    states = page.evaluate("window.__tileStates")
    assert "partial" in states and states.count("final") == 2  # previews were shown before the finals
    expect(card.locator(".tile-label")).to_have_text(["Photo", "Watercolor"])
    expect(card.locator(".run-usage .cost")).to_have_text(re.compile(r"^\$0\.\d+$"))
    expect(card.locator(".run-usage")).to_contain_text("tokens")
    expect(page.locator("#session-cost")).to_contain_text("2 requests")
    download = card.get_by_role("link", name="Download: Photo")
    expect(download).to_have_attribute("download", re.compile(r"^gazo-.*\.png$"))

    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "playground-1280x800.png")
    save_docs_screenshot(artifacts / "playground-1280x800.png")


def test_paint_a_mask_edit_and_see_both_steps_in_the_history(page: Page) -> None:
    page.add_init_script(RECORD_FORMS)
    open_playground(page)
    generate(page)
    page.locator("#generate-results .tile").first.get_by_role("button", name=re.compile("^Edit")).click()
    canvas = page.locator("#edit-canvas")
    expect(canvas).to_be_visible()
    expect(page.locator("#tab-edit")).to_have_attribute("aria-selected", "true")

    # A brush stroke with the mouse, undone; then the same by keyboard.
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.4, steps=6)
    page.mouse.up()
    expect(page.locator("#mask-clear")).to_be_enabled()
    page.click("#mask-undo")
    expect(page.locator("#mask-clear")).to_be_disabled()
    canvas.focus()
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#mask-clear")).to_be_enabled()

    page.fill("#edit-prompt", "a red door")
    page.click("#edit-submit")
    card = page.locator("#edit-results .run").first
    expect(card).to_have_attribute("data-done", "true", timeout=30_000)
    parts = sent_form(page, "/v1/images/edits")
    assert parts["stream"] == [b"true"] and parts["size"] == [b"auto"] and "placement" not in parts
    mask = Image.open(io.BytesIO(parts["mask"][0]))
    original = Image.open(io.BytesIO(parts["image"][0]))
    assert mask.format == "PNG" and mask.size == original.size == (256, 256)
    alpha = np.asarray(mask.convert("RGBA"))[..., 3]
    assert set(np.unique(alpha)) == {0, 255}
    assert 0 < (alpha == 0).sum() < alpha.size / 2  # a stroke in the middle, not the whole image
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
    page.locator("#generate-results .tile").first.get_by_role("button", name=re.compile("^Edit")).click()
    page.select_option("#edit-size", "512x256")
    expect(page.locator("#edit-placement")).to_be_visible()
    page.locator(".placement-cell", has=page.locator("input[value=left]")).click()
    assert page.locator("#edit-canvas").evaluate("canvas => [canvas.width, canvas.height]") == [512, 256]
    page.fill("#edit-prompt", "more sea to the right")
    page.click("#edit-submit")
    card = page.locator("#edit-results .run").first
    expect(card).to_have_attribute("data-done", "true", timeout=30_000)
    parts = sent_form(page, "/v1/images/edits")
    assert parts["placement"] == [b"left"] and parts["size"] == [b"512x256"] and "mask" not in parts
    assert image_sizes(page, "#edit-results .tile[data-state=final] img") == [[512, 256]]

    # With a mask as well, the page pads the image itself: transparent border + mask, both 512x256.
    page.locator("#edit-canvas").focus()
    page.keyboard.press("Space")
    page.click("#edit-submit")
    expect(page.locator("#edit-results .run")).to_have_count(2)
    expect(page.locator("#edit-results .run").first).to_have_attribute("data-done", "true", timeout=30_000)
    parts = sent_form(page, "/v1/images/edits")
    assert "placement" not in parts
    padded = np.asarray(Image.open(io.BytesIO(parts["image"][0])).convert("RGBA"))
    mask = np.asarray(Image.open(io.BytesIO(parts["mask"][0])).convert("RGBA"))
    assert padded.shape == mask.shape == (256, 512, 4)
    # placed left: the image opaque on the left, the new border transparent on the right
    assert (padded[:, 256:, 3] == 0).all() and (padded[:, :256, 3] == 255).all()
    assert (mask[:, 256:, 3] == 0).all() and (mask[:, :256, 3] == 0).any() and (mask[:, :256, 3] == 255).any()
    assert image_sizes(page, "#edit-results .run:first-child .tile[data-state=final] img") == [[512, 256]]


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


def test_errors_name_the_field_moderation_says_why_and_rate_limits_say_when(page: Page) -> None:
    open_playground(page)
    page.fill("#gen-prompt", "a fox")
    page.select_option("#gen-size", "custom")
    page.fill("#gen-size-custom", "999x1")
    page.click("#generate-submit")
    alert = page.locator("#generate-error [role=alert]")
    expect(alert).to_contain_text("Request not accepted")
    expect(alert).to_contain_text("multiples of 16")  # the server's own message
    expect(page.locator("#gen-size-custom")).to_have_attribute("aria-invalid", "true")

    # Moderation and rate limits are not wired into the server yet: answer as the API documents them.
    def moderation(route: Route) -> None:
        route.fulfill(
            status=400,
            json={
                "error": {
                    "message": "Rejected by the safety system: the prompt asks for graphic violence.",
                    "type": "image_generation_user_error",
                    "param": None,
                    "code": "moderation_blocked",
                }
            },
        )

    page.route("**/v1/images/generations", moderation)
    page.select_option("#gen-size", "256x256")
    page.click("#generate-submit")
    expect(alert).to_contain_text("Blocked by content moderation")
    expect(alert).to_contain_text("graphic violence")

    def rate_limited(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"retry-after": "7"},
            json={
                "error": {
                    "message": "Rate limit reached: 5 images per minute.",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
        )

    page.unroute("**/v1/images/generations")
    page.route("**/v1/images/generations", rate_limited)
    page.click("#generate-submit")
    expect(alert).to_contain_text("Rate limit reached")
    expect(alert.locator(".alert-retry")).to_have_text(re.compile(r"try again in [67] s"))
    expect(page.locator("#generate-submit")).to_be_disabled()


def test_phone_layout_fits_and_fills_each_image_of_n(
    browser: Browser, base_url: str, artifacts: Path
) -> None:
    phone = {"width": 390, "height": 844}
    context = browser.new_context(base_url=base_url, viewport=phone, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
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
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
