// The Edit panel: pick or upload an image, paint a mask, extend the canvas, add references, stream the edit.

import { pricesFor, streamImages } from "./api.js";
import { MaskEditor } from "./editor.js";
import { createRun, library } from "./results.js";
import { $, SIZES, clearError, coolingDown, h, showError, sizeValue, wireCustomSize } from "./ui.js";

const PLACEMENTS = [
  ["top-left", "↖", "Top left"], ["top", "↑", "Top"], ["top-right", "↗", "Top right"],
  ["left", "←", "Left"], ["center", "•", "Centre"], ["right", "→", "Right"],
  ["bottom-left", "↙", "Bottom left"], ["bottom", "↓", "Bottom"], ["bottom-right", "↘", "Bottom right"],
];
const MAX_REFERENCES = 15;

const parseSize = (text) => {
  const match = /^(\d+)x(\d+)$/.exec(text || "");
  return match ? { width: Number(match[1]), height: Number(match[2]) } : null;
};
const up16 = (value) => Math.ceil(value / 16) * 16;

export function setupEdit({ models, actions, openKeyDialog }) {
  const form = $("#edit-form");
  const submit = $("#edit-submit");
  const stop = $("#edit-stop");
  const errorSlot = $("#edit-error");
  const sizeSelect = $("#edit-size");
  const customSize = $("#edit-size-custom");
  const view = $("#edit-canvas");
  const references = [];
  let source = null;
  let controller = null;

  const editor = new MaskEditor(view, { onChange: syncToolbar });

  // 1. Tools
  $("#tool-brush").addEventListener("click", () => editor.setTool("brush"));
  $("#tool-eraser").addEventListener("click", () => editor.setTool("eraser"));
  $("#brush-size").addEventListener("input", (event) => editor.setSize(Number(event.target.value)));
  $("#mask-undo").addEventListener("click", () => editor.undo());
  $("#mask-clear").addEventListener("click", () => editor.clear());
  document.addEventListener("keydown", (event) => {
    const inField = event.target.closest?.("input, textarea, select, canvas");
    if (!inField && !$("#panel-edit").hidden && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      editor.undo();
    }
  });

  function syncToolbar({ canUndo, hasMask, tool, size, maxSize }) {
    $("#tool-brush").setAttribute("aria-pressed", String(tool === "brush"));
    $("#tool-eraser").setAttribute("aria-pressed", String(tool === "eraser"));
    const slider = $("#brush-size");
    if (maxSize) slider.max = String(maxSize);
    slider.value = String(size);
    $("#brush-size-value").textContent = `${size} px`;
    $("#mask-undo").disabled = !canUndo;
    $("#mask-clear").disabled = !hasMask;
    view.dataset.masked = String(hasMask);
  }

  // 2. The source image: upload, drop, pick from this session, or "Edit this"
  $("#edit-file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) setSource(file, file.name);
    event.target.value = "";
  });
  const stage = $("#edit-stage");
  stage.addEventListener("dragover", (event) => {
    event.preventDefault();
    stage.classList.add("dragging");
  });
  stage.addEventListener("dragleave", () => stage.classList.remove("dragging"));
  stage.addEventListener("drop", (event) => {
    event.preventDefault();
    stage.classList.remove("dragging");
    const file = [...(event.dataTransfer?.files ?? [])].find((item) => item.type.startsWith("image/"));
    if (file) setSource(file, file.name);
  });
  library.subscribe((items) => {
    const picker = $("#edit-library");
    picker.hidden = items.length === 0;
    picker.replaceChildren(...items.slice(0, 12).map((item, index) =>
      h("button", { type: "button", class: "thumb", "aria-label": `Use image ${index + 1} of this session: ${item.prompt}`,
        title: item.prompt, onclick: () => setSource(item.blob, item.name) }, h("img", { src: item.url, alt: "" }))));
  });

  async function setSource(blob, name) {
    clearError(errorSlot);
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch {
      showError(errorSlot, { status: 400, param: "image", message: `${name} is not an image this browser can open.` });
      return;
    }
    source = { blob, name: name || "image.png", bitmap };
    editor.load(bitmap);
    view.hidden = false;
    $("#edit-drop").hidden = true;
    $("#edit-source-name").textContent = `${source.name} · ${bitmap.width}×${bitmap.height}`;
    fillSizes(bitmap);
    updateCanvas();
  }

  // 3. Canvas size and placement (a larger size extends the canvas)
  $("#edit-placement-grid").append(...PLACEMENTS.map(([value, glyph, label]) =>
    h("label", { class: "placement-cell", title: label },
      h("input", { type: "radio", name: "placement", value, checked: value === "center" }),
      h("span", { "aria-hidden": "true" }, glyph), h("span", { class: "visually-hidden" }, label))));
  $("#edit-placement-grid").addEventListener("change", updateCanvas);
  wireCustomSize(sizeSelect, customSize, updateCanvas);
  fillSizes(null);

  function fillSizes(image) {
    const options = [h("option", { value: "auto" }, image ? `Same as image (${image.width}×${image.height})` : "Same as image")];
    if (image) {
      const { width: w, height: h2 } = image;
      const grow = [[1.5, 1], [1, 1.5], [2, 1], [1, 2], [1.5, 1.5], [2, 2]]
        .map(([x, y]) => `${up16(w * x)}x${up16(h2 * y)}`)
        .filter((text, i, all) => all.indexOf(text) === i && isExtension(text, image));
      options.push(h("optgroup", { label: "Extend the canvas" }, grow.map((text) => h("option", { value: text }, `${text.replace("x", "×")}`))));
    }
    options.push(h("optgroup", { label: "Standard sizes" }, SIZES.map((text) =>
      h("option", { value: text }, `${text.replace("x", "×")}${image && isExtension(text, image) ? " (extends)" : ""}`))));
    options.push(h("option", { value: "custom" }, "Custom…"));
    sizeSelect.replaceChildren(...options);
    customSize.hidden = true;
  }

  function isExtension(text, image) {
    const size = parseSize(text);
    return Boolean(size && image) && size.width >= image.width && size.height >= image.height
      && (size.width > image.width || size.height > image.height);
  }

  function placement() {
    return form.querySelector("input[name=placement]:checked")?.value ?? "center";
  }

  function updateCanvas() {
    if (!source) return;
    const size = sizeValue(sizeSelect, customSize);
    const extending = isExtension(size, source.bitmap);
    $("#edit-placement").hidden = !extending;
    const target = extending ? parseSize(size) : source.bitmap;
    editor.setCanvas(target.width, target.height, placement());
  }

  // 4. Reference images
  $("#edit-refs").addEventListener("change", (event) => {
    for (const file of event.target.files) {
      if (references.length >= MAX_REFERENCES) break;
      references.push({ blob: file, name: file.name, url: URL.createObjectURL(file) });
    }
    event.target.value = "";
    renderReferences();
  });

  function renderReferences() {
    $("#edit-ref-list").replaceChildren(...references.map((reference, index) =>
      h("li", { class: "ref" }, h("img", { src: reference.url, alt: "" }), h("span", { class: "ref-name" }, reference.name),
        h("button", { type: "button", class: "icon-button", "aria-label": `Remove reference ${reference.name}`,
          onclick: () => {
            URL.revokeObjectURL(reference.url);
            references.splice(index, 1);
            renderReferences();
          } }, "×"))));
  }

  // 5. Send
  stop.addEventListener("click", () => controller?.abort());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (controller || coolingDown(submit)) return; // requestSubmit (Ctrl+Enter) ignores a disabled button
    clearError(errorSlot);
    const data = new FormData(form);
    const prompt = String(data.get("prompt")).trim();
    if (!source) {
      showError(errorSlot, { status: 400, param: "image", message: "Choose an image to edit first: upload one or press “Edit this” on a result." });
      return;
    }
    if (!prompt) {
      showError(errorSlot, { status: 400, param: "prompt", message: "Describe the change you want in the prompt." });
      $("#edit-prompt").focus();
      return;
    }
    const size = sizeValue(sizeSelect, customSize) || "auto";
    const body = await requestForm({ prompt, size, data });
    const model = data.get("model") || undefined;
    const n = Math.max(1, Math.min(10, Number(data.get("n")) || 1));
    const shownSize = size === "auto" ? `${source.bitmap.width}x${source.bitmap.height}` : size;
    const card = createRun($("#edit-results"), {
      kind: "Edited", prompt, model, size: shownSize, format: data.get("output_format"),
      variants: [{ label: "" }], n, prices: pricesFor(models.byId(model)), actions,
    });
    controller = new AbortController();
    setBusy(true);
    let stopped = false;
    try {
      await card.run(0, streamImages("v1/images/edits", { form: body, signal: controller.signal }));
    } catch (error) {
      stopped = error.name === "AbortError";
      card.fail(0, stopped ? "Stopped" : "Failed");
      showError(errorSlot, error, { button: submit, onAuth: openKeyDialog });
    }
    card.finish(stopped);
    controller = null;
    setBusy(false);
  });

  /** The multipart body: the original bytes where possible, so the edit keeps the image's credentials. */
  async function requestForm({ prompt, size, data }) {
    const body = new FormData();
    const masked = editor.hasMask();
    let first = source.blob;
    let mask = null;
    if (editor.extending && masked) {
      first = await editor.paddedImageBlob(); // transparent border + painted mask, both at the new size
      mask = await editor.maskBlob();
    } else if (editor.extending) {
      body.set("placement", placement()); // gazo extends the original itself; its credentials stay linked
    } else if (masked) {
      mask = await editor.maskBlob();
    }
    const field = references.length ? "image[]" : "image";
    body.append(field, first, first === source.blob ? source.name : "extended.png");
    references.forEach((reference) => body.append("image[]", reference.blob, reference.name));
    if (mask) body.append("mask", mask, "mask.png");
    body.set("prompt", prompt);
    if (data.get("model")) body.set("model", data.get("model"));
    body.set("size", size);
    for (const name of ["quality", "output_format", "n", "partial_images"]) body.set(name, String(data.get(name)));
    return body;
  }

  function setBusy(busy) {
    submit.disabled = busy || coolingDown(submit);
    submit.textContent = busy ? "Editing…" : "Apply edit";
    stop.hidden = !busy;
    form.setAttribute("aria-busy", String(busy));
  }

  return { edit: (item) => setSource(item.blob, item.name) };
}
