// Result cards shared by Generate and Edit: tiles that show live previews then the final image,
// the session's library of finished images, and the running cost of the session.

import { addUsage, b64ToBlob, costOf } from "./api.js";
import { $, formatInt, formatSeconds, formatUsd, h } from "./ui.js";

/** Every finished image of this session, newest first (the Edit panel picks from it). */
export const library = {
  items: [],
  listeners: new Set(),
  add(item) {
    this.items.unshift(item);
    this.listeners.forEach((listener) => listener(this.items));
  },
  subscribe(listener) {
    this.listeners.add(listener);
    listener(this.items);
  },
};

const session = { usd: 0, requests: 0 };

function countRequest(usd) {
  session.usd += usd;
  session.requests += 1;
  const pill = $("#session-cost");
  if (pill) pill.textContent = `${formatUsd(session.usd)} · ${session.requests} request${session.requests === 1 ? "" : "s"}`;
}

function stamp() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
}

/** One image slot: a spinner, then previews, then the final image with its actions. */
function createTile({ label, size, actions }) {
  const [width, height] = (size || "1x1").split("x").map(Number);
  const image = h("img", { alt: "", decoding: "async" });
  const badge = h("span", { class: "badge" }, "Queued");
  const frame = h("div", { class: "frame checker", style: `aspect-ratio: ${width || 1} / ${height || 1}` },
    image, h("span", { class: "spinner", "aria-hidden": "true" }), badge);
  const buttons = h("div", { class: "tile-actions" });
  const caption = h("figcaption", {}, h("span", { class: "tile-label" }, label), buttons);
  const element = h("figure", { class: "tile", dataset: { state: "pending" } }, frame, caption);
  let objectUrl = null;

  const show = (blob) => {
    const previous = objectUrl;
    objectUrl = URL.createObjectURL(blob);
    image.src = objectUrl;
    if (previous) image.decode().catch(() => {}).finally(() => URL.revokeObjectURL(previous));
  };
  return {
    element,
    rendering() {
      if (element.dataset.state === "pending") badge.textContent = "Rendering…";
    },
    partial(blob, index) {
      element.dataset.state = "partial";
      show(blob);
      image.alt = `${label}: preview ${index + 1}`;
      badge.textContent = `Preview ${index + 1}`;
    },
    final(blob, { name, prompt, size: finalSize }) {
      element.dataset.state = "final";
      show(blob);
      image.alt = `${label}: final image`;
      badge.textContent = "Done";
      const item = { blob, url: objectUrl, name, prompt, size: finalSize };
      buttons.replaceChildren(
        h("a", { class: "button small", href: objectUrl, download: name, "aria-label": `Download: ${label}` }, "Download"),
        h("button", { type: "button", class: "button small", onclick: () => actions.edit(item), "aria-label": `Edit this: ${label}` }, "Edit this"),
        h("button", { type: "button", class: "button small", onclick: () => actions.inspect(item), "aria-label": `Credentials: ${label}` }, "Credentials"),
      );
      library.add(item);
    },
    failed(message) {
      if (element.dataset.state === "final") return;
      element.dataset.state = "failed";
      badge.textContent = message;
    },
  };
}

/**
 * A card for one click of Generate or Apply edit: `variants` requests (e.g. styles compared side by
 * side), each of `n` images. Returns `run(index, events)` to feed each request's stream into its tiles.
 */
export function createRun(container, { kind, prompt, model, size, format, variants, n, prices, actions }) {
  container.querySelector(".empty-state")?.remove();
  const started = performance.now();
  const status = h("span", { class: "run-status" }, "Sending…");
  const usageLine = h("p", { class: "run-usage" });
  const grid = h("div", { class: "tiles", style: `--cols: ${Math.min(variants.length > 1 ? variants.length : n, 4)}` });
  const tiles = variants.map(() => []);
  for (let image = 0; image < n; image += 1) {
    variants.forEach((variant, v) => {
      const label = [variant.label, n > 1 ? `#${image + 1}` : null].filter(Boolean).join(" · ") || "Image";
      const tile = createTile({ label, size: size === "auto" ? null : size, actions });
      tiles[v].push(tile);
      grid.append(tile.element);
    });
  }
  const card = h("article", { class: "card run", "aria-label": `${kind}: ${prompt}` },
    h("header", { class: "run-head" },
      h("div", {}, h("p", { class: "eyebrow" }, `${kind} · ${model || "default model"} · ${size}`), h("h2", { class: "run-prompt" }, prompt)),
      status),
    grid, usageLine);
  container.prepend(card);
  container.setAttribute("aria-busy", "true");
  if (matchMedia("(max-width: 900px)").matches) card.scrollIntoView({ block: "start", behavior: "smooth" });

  let usage = null;
  const update = () => {
    if (!usage) return;
    const cost = costOf(usage, prices);
    usageLine.replaceChildren(
      h("span", { class: "cost" }, formatUsd(cost.usd)),
      h("span", {}, `${formatInt(cost.total)} tokens`),
      h("span", { class: "muted" }, `text in ${formatInt(cost.text)} · image in ${formatInt(cost.imageIn)} · image out ${formatInt(cost.out)}`),
    );
  };

  async function run(index, events) {
    const slots = tiles[index];
    const next = slots.map(() => 0);
    const done = slots.map(() => false);
    let requestUsage = null;
    status.textContent = "Rendering…";
    slots.forEach((tile) => tile.rendering());
    for await (const event of events) {
      const blob = await b64ToBlob(event.b64, event.format || format);
      if (event.kind === "partial") {
        // Partials of several images may interleave: the first unfinished image expecting this index.
        let slot = slots.findIndex((_, i) => !done[i] && next[i] === event.partialIndex);
        if (slot < 0) slot = done.indexOf(false);
        if (slot < 0) continue;
        next[slot] = event.partialIndex + 1;
        slots[slot].partial(blob, event.partialIndex);
      } else {
        const slot = done.indexOf(false);
        if (slot < 0) continue;
        done[slot] = true;
        const extension = (event.format || format) === "jpeg" ? "jpg" : event.format || format;
        slots[slot].final(blob, { name: `gazo-${stamp()}-${index + 1}-${slot + 1}.${extension}`, prompt, size: event.size });
        requestUsage = addUsage(requestUsage, event.usage);
      }
    }
    if (requestUsage) {
      usage = addUsage(usage, requestUsage);
      countRequest(costOf(requestUsage, prices).usd);
      update();
    }
  }

  return {
    card,
    run,
    fail(index, message) {
      tiles[index].forEach((tile) => tile.failed(message));
    },
    finish(stopped = false) {
      container.setAttribute("aria-busy", "false");
      const elapsed = formatSeconds(performance.now() - started);
      status.textContent = stopped ? `Stopped after ${elapsed}` : `Done in ${elapsed}`;
      card.dataset.done = "true";
    },
  };
}
