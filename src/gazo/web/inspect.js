// The Content Credentials inspector: any image → /v1/provenance/verify → state, model, edit history tree.

import { getJson } from "./api.js";
import { $, clearError, h, showError } from "./ui.js";

const STATES = {
  Trusted: { tone: "good", icon: "✓", text: "Signed by a known signer, and intact." },
  Valid: { tone: "warn", icon: "!", text: "Intact, but signed by a signer this server does not know." },
  Invalid: { tone: "bad", icon: "✕", text: "The credentials are broken: the file or its history was changed after signing." },
  None: { tone: "none", icon: "–", text: "No Content Credentials in this file." },
};

const ACTIONS = {
  "c2pa.created": "Created", "c2pa.edited": "Edited", "c2pa.opened": "Opened", "c2pa.placed": "Placed",
  "c2pa.resized": "Resized", "c2pa.cropped": "Cropped", "c2pa.converted": "Converted", "c2pa.color_adjustments": "Colours adjusted",
};

const SOURCES = {
  trainedAlgorithmicMedia: "AI-generated",
  compositeWithTrainedAlgorithmicMedia: "Edited with AI",
  algorithmicMedia: "Algorithmic",
  digitalCapture: "Camera capture",
};

function badge(state) {
  const info = STATES[state] ?? STATES.None;
  return h("span", { class: `state state-${info.tone}`, dataset: { state } },
    h("span", { class: "state-icon", "aria-hidden": "true" }, info.icon), state === "None" ? "No credentials" : state);
}

function sourceType(uri) {
  const key = (uri || "").split("/").pop();
  return SOURCES[key] ?? key ?? null;
}

function facts(report) {
  const rows = [
    ["Model", report.model],
    ["Signed by", report.signer?.subject],
    ["Issuer", report.signer?.issuer],
    ["Signed at", report.signed_at],
    ["Made with", report.claim_generator],
    ["Format", report.format],
  ].filter(([, value]) => value);
  return h("dl", { class: "facts" }, rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function actionList(actions) {
  if (!actions?.length) return null;
  return h("ol", { class: "actions-list" }, actions.map((action) => h("li", {},
    h("strong", {}, ACTIONS[action.action] ?? action.action),
    action.digital_source_type ? h("span", { class: "tag" }, sourceType(action.digital_source_type)) : null,
    action.software_agent ? h("span", { class: "muted" }, ` by ${action.software_agent}`) : null,
    action.description ? h("span", { class: "muted" }, ` — ${action.description}`) : null)));
}

function failures(list) {
  if (!list?.length) return null;
  return h("ul", { class: "failures" }, list.map((failure) =>
    h("li", {}, h("code", {}, failure.code), failure.explanation ? ` ${failure.explanation}` : "")));
}

/** How an ingredient took part, by its C2PA relationship. */
const ROLES = Object.freeze({ parentOf: "opened from", componentOf: "placed into it", inputTo: "used as a reference" });

/** One node of the edit history: this file or an ingredient, with its own ingredients nested below. */
function node(report, relationship) {
  const title = report.title || "Untitled";
  const role = ROLES[relationship] ?? (relationship ? "opened from" : "this file");
  const children = report.ingredients ?? [];
  return h("li", { class: "history-node", role: "treeitem", "aria-expanded": children.length ? "true" : null,
    "aria-label": `${title}: ${report.state}` },
    h("div", { class: "history-card" },
      h("div", { class: "history-head" }, badge(report.state), h("span", { class: "history-title" }, title), h("span", { class: "muted" }, role)),
      report.model ? h("p", { class: "history-line" }, `Model: ${report.model}`) : null,
      actionList(report.actions),
      failures(report.failures)),
    children.length ? h("ul", { role: "group" }, children.map((child) => node(child, child.relationship || "parentOf"))) : null);
}

export function renderReport(report, { name, url }) {
  const info = STATES[report.state] ?? STATES.None;
  return h("article", { class: `card report report-${info.tone}`, "aria-label": `Content Credentials of ${name}` },
    h("header", { class: "report-head" },
      url ? h("img", { class: "report-thumb checker", src: url, alt: `The inspected image, ${name}` }) : null,
      h("div", {}, h("p", { class: "eyebrow" }, name), h("div", { class: "report-state" }, badge(report.state)), h("p", { class: "lead" }, info.text))),
    report.state === "None" ? null : facts(report),
    report.state === "None" ? null : h("section", { class: "history" },
      h("h2", {}, "Edit history"),
      h("ul", { class: "tree", role: "tree", "aria-label": "Edit history" }, node(report, null))),
    failures(report.failures) ? h("section", {}, h("h2", {}, "Problems found"), failures(report.failures)) : null);
}

export function setupInspector({ openKeyDialog }) {
  const input = $("#verify-file");
  const drop = $("#verify-drop");
  const errorSlot = $("#verify-error");
  const result = $("#verify-result");

  input.addEventListener("change", () => {
    const [file] = input.files;
    if (file) inspect(file, file.name);
    input.value = "";
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    const [file] = event.dataTransfer?.files ?? [];
    if (file) inspect(file, file.name);
  });

  async function inspect(blob, name) {
    clearError(errorSlot);
    result.setAttribute("aria-busy", "true");
    const form = new FormData();
    form.append("image", blob, name || "image");
    try {
      const report = await getJson("v1/provenance/verify", { form });
      const url = blob.type.startsWith("image/") ? URL.createObjectURL(blob) : null;
      result.replaceChildren(renderReport(report, { name: name || "image", url }));
    } catch (error) {
      showError(errorSlot, error, { onAuth: openKeyDialog });
    } finally {
      result.setAttribute("aria-busy", "false");
    }
  }
  return { inspect };
}
