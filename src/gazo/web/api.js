// gazo's public HTTP API, as the playground uses it: auth header, errors, Server-Sent Events, cost.
// Every URL is relative to the page, so the playground also works behind a path prefix.

const KEY_STORAGE = "gazo.apiKey";

/** Prices in USD per 1M tokens (gpt-image-1's), used unless a model entry carries its own `pricing`. */
export const DEFAULT_PRICES = Object.freeze({ text_input: 5, image_input: 10, image_output: 40 });

export const apiKey = {
  get() {
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  },
  set(value) {
    try {
      if (value) localStorage.setItem(KEY_STORAGE, value);
      else localStorage.removeItem(KEY_STORAGE);
    } catch { /* storage disabled: the key lives for this page only */ }
  },
};

/** An error in OpenAI's shape, plus the HTTP status and the seconds to wait before retrying. */
export class ApiError extends Error {
  constructor({ message, type = null, param = null, code = null, status = 0, retryAfter = null }) {
    super(message);
    this.name = "ApiError";
    Object.assign(this, { type, param, code, status, retryAfter });
  }
}

export function apiUrl(path) {
  return new URL(path.replace(/^\//, ""), document.baseURI).href;
}

/** OpenAI's `x-ratelimit-reset-*` durations ("120ms", "59.9s", "1m0s") in seconds, or null. */
export function parseDuration(value) {
  const match = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:([\d.]+)ms)?$/.exec((value || "").trim());
  if (!match || !match[0]) return null;
  const [hours = 0, minutes = 0, seconds = 0, millis = 0] = match.slice(1).map((part) => Number(part ?? 0));
  return hours * 3600 + minutes * 60 + seconds + millis / 1000;
}

/**
 * Whole seconds to wait before retrying: `retry-after-ms`, else `retry-after` (seconds or an HTTP
 * date), else the longest `x-ratelimit-reset-*` (what a proxy that drops `retry-after` leaves).
 */
export function retryAfterSeconds(headers) {
  const exact = Number(headers.get("retry-after-ms") ?? NaN);
  if (Number.isFinite(exact)) return Math.max(0, Math.ceil(exact / 1000));
  const value = headers.get("retry-after");
  if (value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }
  const resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-images"]
    .map((name) => parseDuration(headers.get(name)))
    .filter((seconds) => seconds !== null);
  return resets.length ? Math.ceil(Math.max(...resets)) : null;
}

async function errorFrom(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: a proxy's page */ }
  const error = body?.error ?? {};
  return new ApiError({
    message: error.message || `The server answered ${response.status} ${response.statusText}.`,
    type: error.type ?? null,
    param: error.param ?? null,
    code: error.code ?? null,
    status: response.status,
    retryAfter: retryAfterSeconds(response.headers),
  });
}

/**
 * `fetch` with the API key; throws ApiError for any non-2xx answer or an unreachable server. A `json`
 * or `form` body makes it a POST; `method` sets one for a request without a body (e.g. a cancel).
 */
export async function request(path, { json, form, signal, method = "GET" } = {}) {
  const headers = new Headers();
  const key = apiKey.get();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  const init = { method, headers, signal };
  if (json !== undefined) {
    Object.assign(init, { method: "POST", body: JSON.stringify(json) });
    headers.set("Content-Type", "application/json");
  } else if (form !== undefined) {
    Object.assign(init, { method: "POST", body: form });
  }
  let response;
  try {
    response = await fetch(apiUrl(path), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ message: "Could not reach the gazo server. Is it running?", type: "network_error" });
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const payload = JSON.parse(data.join("\n"));
  if (event === "error" || payload.type === "error") {
    const error = payload.error ?? payload;
    throw new ApiError({ ...error, message: error.message || "The server stopped the stream.", status: 200 });
  }
  return { event, ...payload, type: payload.type ?? event };
}

/** The events of a `text/event-stream` response body, read with fetch's ReadableStream. */
export async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      // CRLF and CR line ends become LF; a CR at the very end waits for the next chunk (it may be CRLF).
      if (value) buffer = (buffer + value).replace(/\r\n|\r(?=.)/gs, "\n");
      if (done) buffer = buffer.replace(/\r$/, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
      if (done) break;
    }
    const last = buffer.trim() && parseEvent(buffer);
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Stream an image request (generation: `json`, edit: `form`). Yields `{kind: "partial" | "final",
 * b64, partialIndex, usage, size, format}`; a server that answers with plain JSON works too.
 */
export async function* streamImages(path, { json, form, signal }) {
  if (json) json.stream = true;
  if (form) form.set("stream", "true");
  const response = await request(path, { json, form, signal });
  if (!(response.headers.get("content-type") || "").includes("text/event-stream")) {
    const body = await response.json();
    for (const [index, item] of (body.data ?? []).entries()) {
      yield { kind: "final", b64: item.b64_json, usage: index === 0 ? body.usage : null, size: body.size, format: body.output_format };
    }
    return;
  }
  for await (const event of readEvents(response)) {
    const kind = event.type.endsWith(".partial_image") ? "partial" : event.type.endsWith(".completed") ? "final" : null;
    if (!kind) continue;
    yield {
      kind,
      b64: event.b64_json,
      partialIndex: event.partial_image_index ?? 0,
      usage: event.usage ?? null,
      size: event.size,
      format: event.output_format,
    };
  }
}

export async function b64ToBlob(b64, format = "png") {
  const response = await fetch(`data:image/${format};base64,${b64}`);
  return response.blob();
}

/** Sum two `usage` objects of OpenAI's shape (either may be null). */
export function addUsage(a, b) {
  if (!a) return b ? structuredClone(b) : null;
  if (!b) return a;
  const sum = (x = 0, y = 0) => x + y;
  return {
    input_tokens: sum(a.input_tokens, b.input_tokens),
    input_tokens_details: {
      text_tokens: sum(a.input_tokens_details?.text_tokens, b.input_tokens_details?.text_tokens),
      image_tokens: sum(a.input_tokens_details?.image_tokens, b.input_tokens_details?.image_tokens),
    },
    output_tokens: sum(a.output_tokens, b.output_tokens),
    total_tokens: sum(a.total_tokens, b.total_tokens),
  };
}

/** Tokens by kind and the price in USD; `prices` are USD per 1M tokens. */
export function costOf(usage, prices = DEFAULT_PRICES) {
  const text = usage?.input_tokens_details?.text_tokens ?? usage?.input_tokens ?? 0;
  const imageIn = usage?.input_tokens_details?.image_tokens ?? 0;
  const out = usage?.output_tokens ?? 0;
  const usd = (text * prices.text_input + imageIn * prices.image_input + out * prices.image_output) / 1e6;
  return { text, imageIn, out, total: usage?.total_tokens ?? text + imageIn + out, usd };
}

/** A model entry's own prices when the server publishes them, else the defaults. */
export function pricesFor(model) {
  const pricing = model?.pricing;
  if (!pricing) return DEFAULT_PRICES;
  const pick = (key) => (Number.isFinite(pricing[key]) ? pricing[key] : DEFAULT_PRICES[key]);
  return { text_input: pick("text_input"), image_input: pick("image_input"), image_output: pick("image_output") };
}
