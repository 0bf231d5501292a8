// The Generate panel: prompt and options → streamed requests → result cards.

import { pricesFor, streamImages } from "./api.js";
import { createRun } from "./results.js";
import { $, clearError, coolingDown, h, showError, sizeValue, wireCustomSize } from "./ui.js";

/** Style suffixes for "compare styles": each checked chip sends one more request. */
const STYLES = [
  ["Photo", "photorealistic photograph, natural light"],
  ["Illustration", "flat vector illustration, bold shapes"],
  ["Watercolor", "watercolor painting, soft washes"],
  ["3D render", "3D render, studio lighting"],
  ["Line art", "clean black ink line art"],
];

export function setupGenerate({ models, actions, openKeyDialog }) {
  const form = $("#generate-form");
  const submit = $("#generate-submit");
  const stop = $("#generate-stop");
  const errorSlot = $("#generate-error");
  const results = $("#generate-results");
  const size = $("#gen-size");
  const customSize = $("#gen-size-custom");
  let controller = null;

  $("#gen-styles").append(...STYLES.map(([label], index) => h("label", { class: "chip" },
    h("input", { type: "checkbox", name: "style", value: String(index) }), h("span", {}, label))));
  wireCustomSize(size, customSize);

  $("#gen-prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener("click", () => controller?.abort());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (controller || coolingDown(submit)) return; // requestSubmit (Ctrl+Enter) ignores a disabled button
    clearError(errorSlot);
    const data = new FormData(form);
    const prompt = String(data.get("prompt")).trim();
    if (!prompt) {
      showError(errorSlot, { status: 400, param: "prompt", message: "Write a prompt first: describe the image you want." });
      $("#gen-prompt").focus();
      return;
    }
    const styles = data.getAll("style").map((index) => STYLES[Number(index)]);
    const variants = styles.length ? styles.map(([label, suffix]) => ({ label, prompt: `${prompt}, ${suffix}` })) : [{ label: "", prompt }];
    const body = {
      model: data.get("model") || undefined,
      size: sizeValue(size, customSize) || "auto",
      quality: data.get("quality"),
      background: data.get("background"),
      output_format: data.get("output_format"),
      n: Math.max(1, Math.min(10, Number(data.get("n")) || 1)),
      partial_images: Number(data.get("partial_images")),
      seed: data.get("seed") === "" ? undefined : Number(data.get("seed")),
    };
    const card = createRun(results, {
      kind: "Generated", prompt, model: body.model, size: body.size, format: body.output_format,
      variants, n: body.n, prices: pricesFor(models.byId(body.model)), actions,
    });
    controller = new AbortController();
    setBusy(true);
    let stopped = false;
    await Promise.all(variants.map(async (variant, index) => {
      try {
        const events = streamImages("v1/images/generations", { json: { ...body, prompt: variant.prompt }, signal: controller.signal });
        await card.run(index, events);
      } catch (error) {
        stopped ||= error.name === "AbortError";
        card.fail(index, error.name === "AbortError" ? "Stopped" : "Failed");
        if (!errorSlot.childElementCount) showError(errorSlot, error, { button: submit, onAuth: openKeyDialog });
      }
    }));
    card.finish(stopped);
    controller = null;
    setBusy(false);
  });

  function setBusy(busy) {
    submit.disabled = busy || coolingDown(submit);
    submit.textContent = busy ? "Generating…" : "Generate";
    stop.hidden = !busy;
    form.setAttribute("aria-busy", String(busy));
  }
}
