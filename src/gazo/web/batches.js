// The Batches panel: a JSONL file of requests, or a CSV of prompts turned into the same lines as
// `gazo batch lines` (src/gazo/cli/batch_lines.py), uploaded and run as a batch; the key's batches
// with their progress, polled while any runs; cancel; the results and errors files to download.

import { request } from "./api.js";
import { $, clearError, h, showError, SIZES } from "./ui.js";

const GENERATIONS = "/v1/images/generations";
const ENDPOINTS = [GENERATIONS, "/v1/images/edits"];
const FIELD_COLUMNS = ["model", "size", "quality", "n", "background", "output_format"];
const COLUMNS = ["custom_id", "prompt", ...FIELD_COLUMNS];
const FINAL = new Set(["completed", "failed", "expired", "cancelled"]);
const POLL_MS = 2000;

/** A CSV or JSONL file that cannot become a batch; the message names the row or line. */
export class LinesError extends Error {}

/** RFC 4180 records of `text`, each with the line it ends on; blank lines are left out. */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let line = 1;
  const end = () => {
    record.push(field);
    if (record.length > 1 || record[0] !== "") records.push({ cells: record, line });
    record = [];
    field = "";
  };
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (char === '"') quoted = false;
      else { field += char; if (char === "\n") line += 1; }
    } else if (char === '"') quoted = true;
    else if (char === ",") { record.push(field); field = ""; }
    else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i += 1;
      end();
      line += 1;
    } else field += char;
  }
  if (field !== "" || record.length) end();
  return records;
}

/** ASCII letters and digits, dashes between; accents dropped (é → e), at most 40 characters. */
export function slugify(text) {
  const slug = text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return slug.slice(0, 40).replace(/-+$/, "");
}

export function defaultCustomId(row, prompt) {
  const slug = slugify(prompt);
  const number = String(row).padStart(4, "0");
  return slug ? `${number}-${slug}` : number;
}

/** One generation line per row of a CSV with a `prompt` column; `defaults` fill the empty cells. */
export function linesFromCsv(text, defaults = {}) {
  const [head, ...rows] = parseCsv(text.replace(/^\uFEFF/, ""));
  const header = (head?.cells ?? []).map((name) => name.trim().toLowerCase());
  if (!header.includes("prompt")) {
    throw new LinesError(`the CSV needs a header row with a \`prompt\` column (columns found: ${header.filter(Boolean).join(", ") || "none"})`);
  }
  const unknown = header.filter((name) => name && !COLUMNS.includes(name));
  if (unknown.length) throw new LinesError(`unknown column(s) ${unknown.join(", ")}: the columns read are ${COLUMNS.join(", ")}`);
  const base = Object.fromEntries(Object.entries(defaults).filter(([, value]) => value !== null && value !== undefined && value !== ""));
  const seen = new Map();
  const lines = [];
  rows.forEach(({ cells: values, line }, index) => {
    const cells = Object.fromEntries(header.map((name, i) => [name, (values[i] ?? "").trim()]).filter(([name]) => name));
    if (!Object.values(cells).some(Boolean)) return;
    const row = index + 1;
    const where = `row ${row} (line ${line})`;
    if (!cells.prompt) throw new LinesError(`${where} has no prompt: every row needs one`);
    const customId = cells.custom_id || defaultCustomId(row, cells.prompt);
    if (seen.has(customId)) throw new LinesError(`${where} repeats the custom_id '${customId}' of row ${seen.get(customId)}`);
    seen.set(customId, row);
    const body = { prompt: cells.prompt, ...base };
    for (const column of FIELD_COLUMNS) {
      if (!cells[column]) continue;
      if (column === "n" && !(/^\d+$/.test(cells.n) && Number(cells.n) >= 1 && Number(cells.n) <= 10)) {
        throw new LinesError(`${where}: n must be a whole number from 1 to 10, not '${cells.n}'`);
      }
      body[column] = column === "n" ? Number(cells.n) : cells[column];
    }
    lines.push({ custom_id: customId, method: "POST", url: GENERATIONS, body });
  });
  if (!lines.length) throw new LinesError("the CSV has a header but no rows: add one prompt per row");
  return lines;
}

/** The one endpoint of a JSONL file's lines, after checking each is a request with a unique custom_id. */
export function endpointOf(text) {
  const urls = new Set();
  const seen = new Map();
  text.split(/\r?\n/).forEach((raw, index) => {
    const number = index + 1;
    if (!raw.trim()) return;
    let line;
    try { line = JSON.parse(raw); } catch { throw new LinesError(`line ${number} is not JSON`); }
    if (typeof line !== "object" || !line || typeof line.body !== "object" || !line.body) {
      throw new LinesError(`line ${number} is not a request: it needs custom_id, method, url and body`);
    }
    if (typeof line.custom_id !== "string" || !line.custom_id) throw new LinesError(`line ${number} has no custom_id`);
    if (seen.has(line.custom_id)) throw new LinesError(`line ${number} repeats the custom_id '${line.custom_id}' of line ${seen.get(line.custom_id)}`);
    seen.set(line.custom_id, number);
    if (!ENDPOINTS.includes(line.url)) throw new LinesError(`line ${number} posts to ${JSON.stringify(line.url)}: a batch of images posts to ${ENDPOINTS.join(" or ")}`);
    urls.add(line.url);
  });
  if (!seen.size) throw new LinesError("the file has no lines: one JSON request a line");
  if (urls.size > 1) throw new LinesError(`the lines post to both ${[...urls].sort().join(" and ")}: a batch has one endpoint`);
  return [...urls][0];
}

/** Save `blob` as `name` through a temporary link (the key went in the fetch's header, not the URL). */
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function counts(batch) {
  const { completed = 0, failed = 0, total = 0 } = batch.request_counts ?? {};
  return { completed, failed, total };
}

export function setupBatches({ openKeyDialog }) {
  const form = $("#batch-form");
  const fileInput = $("#batch-file");
  const submit = $("#batch-submit");
  const errorSlot = $("#batch-error");
  const list = $("#batch-list");
  const listError = $("#batch-list-error");
  let timer = null;

  $("#batch-size").append(...SIZES.map((size) => h("option", { value: size }, size.replace("x", "×"))));
  fileInput.addEventListener("change", () => {
    $("#batch-file-name").textContent = fileInput.files[0]?.name ?? "No file chosen";
  });

  async function linesOf(file) {
    const text = await file.text();
    if (!/\.csv$/i.test(file.name)) return { text, endpoint: endpointOf(text) };
    const data = new FormData(form);
    const defaults = Object.fromEntries(["model", "size", "quality", "output_format"].map((name) => [name, data.get(name)]));
    const lines = linesFromCsv(text, defaults);
    return { text: lines.map((line) => JSON.stringify(line) + "\n").join(""), endpoint: GENERATIONS };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(errorSlot);
    const file = fileInput.files[0];
    if (!file) {
      showError(errorSlot, { status: 400, message: "Choose a JSONL file of requests or a CSV of prompts first." });
      return;
    }
    submit.disabled = true;
    submit.textContent = "Uploading…";
    try {
      let lines;
      try {
        lines = await linesOf(file);
      } catch (error) {
        if (!(error instanceof LinesError)) throw error;
        showError(errorSlot, { status: 400, message: `${file.name}: ${error.message}` });
        return;
      }
      const upload = new FormData();
      upload.set("purpose", "batch");
      upload.set("file", new Blob([lines.text], { type: "application/jsonl" }), file.name.replace(/\.\w+$/, "") + ".jsonl");
      const uploaded = await (await request("v1/files", { form: upload })).json();
      await request("v1/batches", {
        json: { input_file_id: uploaded.id, endpoint: lines.endpoint, completion_window: "24h", metadata: { source: file.name } },
      });
      form.reset();
      $("#batch-file-name").textContent = "No file chosen";
      await refresh();
    } catch (error) {
      showError(errorSlot, error, { button: submit, onAuth: openKeyDialog });
    } finally {
      submit.disabled = false;
      submit.textContent = "Create batch";
    }
  });

  async function download(fileId, name, button) {
    button.disabled = true;
    try {
      save(await (await request(`v1/files/${encodeURIComponent(fileId)}/content`)).blob(), name);
    } catch (error) {
      showError(listError, error, { onAuth: openKeyDialog });
    } finally {
      button.disabled = false;
    }
  }

  async function cancel(batch, button) {
    button.disabled = true;
    try {
      await request(`v1/batches/${encodeURIComponent(batch.id)}/cancel`, { method: "POST" });
      await refresh();
    } catch (error) {
      button.disabled = false;
      showError(listError, error, { onAuth: openKeyDialog });
    }
  }

  function row(batch) {
    const { completed, failed, total } = counts(batch);
    const done = completed + failed;
    const actions = h("div", { class: "tile-actions" });
    if (!FINAL.has(batch.status) && batch.status !== "cancelling") {
      actions.append(h("button", { type: "button", class: "button small", "aria-label": `Cancel ${batch.id}`,
        onclick: (event) => cancel(batch, event.currentTarget) }, "Cancel"));
    }
    for (const [fileId, label, suffix] of [[batch.output_file_id, "Download results", "results"], [batch.error_file_id, "Download errors", "errors"]]) {
      if (!fileId) continue;
      actions.append(h("button", { type: "button", class: "button small", "aria-label": `${label}: ${batch.id}`,
        onclick: (event) => download(fileId, `${batch.id}-${suffix}.jsonl`, event.currentTarget) }, label));
    }
    const source = batch.metadata?.source;
    const created = new Date(batch.created_at * 1000).toLocaleString();
    return h("article", { class: "card batch", dataset: { id: batch.id, status: batch.status }, "aria-label": `Batch ${batch.id}` },
      h("header", { class: "run-head" },
        h("div", {}, h("p", { class: "eyebrow" }, `${batch.endpoint} · ${created}`),
          h("h2", { class: "run-prompt" }, source || batch.id), source ? h("p", { class: "hint" }, batch.id) : null),
        h("span", { class: `batch-status status-${batch.status}` }, batch.status.replace("_", " "))),
      h("progress", { max: String(total || 1), value: String(done), "aria-label": `${batch.id}: ${done} of ${total} requests done` }),
      h("p", { class: "batch-counts" }, `${completed} completed · ${failed} failed · ${total} in all`),
      actions);
  }

  async function refresh() {
    clearTimeout(timer);
    let batches;
    try {
      batches = (await (await request("v1/batches?limit=50")).json()).data ?? [];
      clearError(listError);
    } catch (error) {
      showError(listError, error, { onAuth: openKeyDialog });
      return;
    }
    list.replaceChildren(...(batches.length ? batches.map(row)
      : [h("div", { class: "empty-state" }, h("p", {}, "No batches yet. Upload a file of requests to start one."))]));
    list.dataset.loaded = "true";
    if (batches.some((batch) => !FINAL.has(batch.status)) && !$("#panel-batches").hidden) timer = setTimeout(refresh, POLL_MS);
  }

  // Refresh whenever the panel comes into view (by a click, the keyboard or the page's hash).
  new MutationObserver(() => { if (!$("#panel-batches").hidden) refresh(); })
    .observe($("#panel-batches"), { attributes: true, attributeFilter: ["hidden"] });
  if (!$("#panel-batches").hidden) refresh();
  return { refresh };
}
