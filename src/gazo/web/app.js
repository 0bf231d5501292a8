// gazo playground: tabs, the API key, the model list, and the four panels wired together.

import { apiKey, getJson } from "./api.js";
import { setupBatches } from "./batches.js";
import { setupEdit } from "./edit.js";
import { setupGenerate } from "./generate.js";
import { setupInspector } from "./inspect.js";
import { $, SIZES, h } from "./ui.js";

// 1. Tabs (WAI-ARIA tabs: arrows move, Home/End jump; the hash keeps the panel across reloads)
const tabs = [...document.querySelectorAll("[role=tab]")];

function selectTab(tab, { focus = false } = {}) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(`#${other.getAttribute("aria-controls")}`).hidden = !selected;
  }
  if (focus) tab.focus();
  history.replaceState(null, "", `#${tab.id.replace("tab-", "")}`);
}

tabs.forEach((tab, index) => {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (event) => {
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    selectTab(tabs[(moves[event.key] + tabs.length) % tabs.length], { focus: true });
  });
});
const initial = tabs.find((tab) => `#${tab.id.replace("tab-", "")}` === location.hash);
if (initial) selectTab(initial);

// 2. API key: kept in localStorage only, sent as a bearer token
const dialog = $("#key-dialog");
const keyInput = $("#key-input");

function showKeyState() {
  const set = Boolean(apiKey.get());
  $("#key-label").textContent = set ? "API key set" : "API key";
  $("#key-dot").dataset.set = String(set);
}

function openKeyDialog() {
  keyInput.value = apiKey.get();
  keyInput.type = "password";
  $("#key-reveal").setAttribute("aria-pressed", "false");
  $("#key-reveal").textContent = "Show";
  dialog.showModal();
  keyInput.focus();
}

$("#key-button").addEventListener("click", openKeyDialog);
$("#key-reveal").addEventListener("click", (event) => {
  const reveal = keyInput.type === "password";
  keyInput.type = reveal ? "text" : "password";
  event.currentTarget.setAttribute("aria-pressed", String(reveal));
  event.currentTarget.textContent = reveal ? "Hide" : "Show";
});
dialog.addEventListener("close", () => {
  if (dialog.returnValue === "save") apiKey.set(keyInput.value.trim());
  if (dialog.returnValue === "clear") apiKey.set("");
  keyInput.value = "";
  showKeyState();
  $("#key-button").focus();
});
showKeyState();

// 3. Models and sizes for the selects
const models = {
  list: [],
  byId(id) {
    return this.list.find((model) => model.id === id) ?? this.list.find((model) => !model.alias_of);
  },
};

function fillModelSelect(select) {
  const real = models.list.filter((model) => !model.alias_of);
  const aliases = models.list.filter((model) => model.alias_of);
  select.replaceChildren(
    h("optgroup", { label: "Models" }, real.map((model) => h("option", { value: model.id }, model.id))),
    aliases.length ? h("optgroup", { label: "OpenAI names (aliases)" },
      aliases.map((model) => h("option", { value: model.id }, `${model.id} → ${model.alias_of}`))) : null,
  );
}

function fillGenerateSizes() {
  const select = $("#gen-size");
  select.replaceChildren(h("option", { value: "auto" }, "Auto"),
    ...SIZES.map((size) => h("option", { value: size, selected: size === "256x256" }, size.replace("x", "×"))),
    h("option", { value: "custom" }, "Custom…"));
}

async function loadModels() {
  try {
    models.list = (await getJson("v1/models")).data ?? [];
  } catch (error) {
    models.list = [];
    const note = error.status === 401 ? "Set an API key to list models" : "Models unavailable";
    for (const select of [$("#gen-model"), $("#edit-model"), $("#batch-model")]) select.replaceChildren(h("option", { value: "" }, note));
    return;
  }
  fillModelSelect($("#gen-model"));
  fillModelSelect($("#edit-model"));
  fillModelSelect($("#batch-model"));
  $("#batch-model").prepend(h("option", { value: "", selected: true }, "Server default"));
}

// 4. Panels
fillGenerateSizes();
let editPanel;
let inspector;
const actions = {
  edit(item) {
    selectTab($("#tab-edit"));
    editPanel.edit(item);
    $("#edit-prompt").focus();
  },
  inspect(item) {
    selectTab($("#tab-credentials"));
    inspector.inspect(item.blob, item.name);
  },
};
setupGenerate({ models, actions, openKeyDialog });
editPanel = setupEdit({ models, actions, openKeyDialog });
inspector = setupInspector({ openKeyDialog });
const batches = setupBatches({ openKeyDialog });
dialog.addEventListener("close", () => batches.refresh());
dialog.addEventListener("close", loadModels);
loadModels().then(() => document.body.setAttribute("data-ready", "true"));
