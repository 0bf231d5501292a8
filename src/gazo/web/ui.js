// Small DOM helpers shared by the panels: element builder, formatting, error messages.

/** `h("button", {class: "x", onclick}, "text", child)`; attributes starting with "on" become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "style") setStyle(element, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Declarations set through the CSSOM: the Content-Security-Policy refuses inline `style` attributes. */
function setStyle(element, declarations) {
  for (const declaration of declarations.split(";")) {
    const [property, ...value] = declaration.split(":");
    if (property.trim()) element.style.setProperty(property.trim(), value.join(":").trim());
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function formatUsd(usd) {
  if (usd === 0) return "$0.00";
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(usd < 1 ? 3 : 2)}`;
}

export const formatInt = (n) => new Intl.NumberFormat("en").format(n);

export function formatSeconds(ms) {
  return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

/** Words a person can act on, for an ApiError (or anything thrown). Null for a deliberate stop. */
export function describeError(error) {
  if (error?.name === "AbortError") return null;
  const { status = 0, code, message, param, retryAfter } = error ?? {};
  if (code === "moderation_blocked") {
    return { kind: "moderation", title: "Blocked by content moderation", detail: message, param,
      hint: "Nothing was made from this request. Change the prompt or the image and try again." };
  }
  if (code === "insufficient_quota") {
    return { kind: "quota", title: "Budget used up", detail: message,
      hint: "This API key has spent its budget. Ask an administrator to raise it, or use another key." };
  }
  if (status === 429 || status === 503) {
    const rate = code === "rate_limit_exceeded";
    return { kind: "retry", title: rate ? "Rate limit reached" : "The server is busy", detail: message, retryAfter,
      hint: retryAfter == null ? "Wait a little, then try again." : null };
  }
  if (status === 401) {
    return { kind: "auth", title: "API key missing or not accepted", detail: message,
      hint: "Set a valid key with the API key button at the top of the page." };
  }
  if (status === 403) return { kind: "auth", title: "Not allowed with this key", detail: message };
  if (status === 0 && error?.type === "network_error") {
    return { kind: "network", title: "Server unreachable", detail: message };
  }
  if (status === 413) return { kind: "invalid", title: "File too large", detail: message, param };
  if (status >= 400 && status < 500) return { kind: "invalid", title: "Request not accepted", detail: message, param };
  return { kind: "server", title: "Something went wrong on the server", detail: message ?? String(error) };
}

/**
 * Show `error` in `slot` (an element with role=alert semantics). Rate limits count down and keep
 * `button` disabled until the retry time. Returns the element, or null when nothing was shown.
 */
export function showError(slot, error, { button, onAuth } = {}) {
  clearError(slot);
  const info = describeError(error);
  if (!info) return null;
  const countdown = h("p", { class: "alert-retry" });
  const box = h("div", { class: `alert alert-${info.kind}`, role: "alert", dataset: { code: error?.code ?? "" } },
    h("p", { class: "alert-title" }, info.title),
    info.detail ? h("p", { class: "alert-detail" }, info.detail) : null,
    info.hint ? h("p", { class: "alert-hint" }, info.hint) : null,
    info.retryAfter != null ? countdown : null,
    info.kind === "auth" && onAuth ? h("button", { type: "button", class: "button small", onclick: onAuth }, "Set API key") : null,
  );
  slot.append(box);
  if (info.param) markInvalid(slot.closest("form"), info.param);
  if (info.retryAfter != null) startCountdown(countdown, info.retryAfter, button, slot);
  return box;
}

export function clearError(slot) {
  slot.replaceChildren();
  clearInterval(slot._timer);
  slot.closest("form")?.querySelectorAll("[aria-invalid]").forEach((field) => field.removeAttribute("aria-invalid"));
}

function markInvalid(form, param) {
  const field = form?.querySelector(`[name="${CSS.escape(param)}_custom"]:not([hidden])`)
    ?? form?.querySelector(`[name="${CSS.escape(param)}"]:not([hidden])`);
  if (!field) return;
  field.setAttribute("aria-invalid", "true");
}

/** True while a rate limit's retry time has not passed for `button`'s requests. */
export function coolingDown(button) {
  return Number(button?.dataset.waitUntil || 0) > Date.now();
}

function startCountdown(element, seconds, button, slot) {
  const until = Date.now() + seconds * 1000;
  if (button) button.dataset.waitUntil = String(until);
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left > 0) {
      element.textContent = `You can try again in ${left} s.`;
      if (button) button.disabled = true;
    } else {
      element.textContent = "You can try again now.";
      if (button) {
        delete button.dataset.waitUntil;
        button.disabled = false;
      }
      clearInterval(slot._timer);
    }
  };
  tick();
  slot._timer = setInterval(tick, 500);
}

/** Sizes offered in the selects; any WxH can be typed with "Custom…". */
export const SIZES = ["256x256", "512x512", "768x768", "1024x1024", "1536x1024", "1024x1536", "768x512", "512x768"];

/** The value of a size select, or its custom text box when "custom" is picked. */
export function sizeValue(select, custom) {
  return select.value === "custom" ? custom.value.trim().toLowerCase() : select.value;
}

export function wireCustomSize(select, custom, onChange = () => {}) {
  select.addEventListener("change", () => {
    custom.hidden = select.value !== "custom";
    if (!custom.hidden) custom.focus();
    onChange();
  });
  custom.addEventListener("input", onChange);
}
