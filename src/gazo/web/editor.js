// The mask painter: an image on a (possibly larger) canvas, a brush and an eraser, undo.
// The mask is kept at the image's own size (white = edit here) and turned into OpenAI's mask
// format on export: a PNG of the canvas size whose fully transparent pixels mark the edit.

const OVERLAY = "rgba(124, 92, 255, 0.55)";
const UNDO_LIMIT = 20;

function canvas(width, height) {
  const element = document.createElement("canvas");
  element.width = width;
  element.height = height;
  return element;
}

function toBlob(element) {
  return new Promise((resolve) => element.toBlob(resolve, "image/png"));
}

/** Where an image of `inner` size sits in `outer`, by the same rule as gazo's `extend_canvas`. */
export function placementOffset(outer, inner, placement) {
  const freeX = outer.width - inner.width;
  const freeY = outer.height - inner.height;
  const x = placement.includes("left") ? 0 : placement.includes("right") ? freeX : Math.floor(freeX / 2);
  const y = placement.startsWith("top") ? 0 : placement.startsWith("bottom") ? freeY : Math.floor(freeY / 2);
  return { x, y };
}

export class MaskEditor {
  constructor(view, { onChange = () => {} } = {}) {
    this.view = view;
    this.ctx = view.getContext("2d");
    this.onChange = onChange;
    this.tool = "brush";
    this.size = 40;
    this.image = null;
    this.undoStack = [];
    this.cursor = null;
    this.painting = false;
    this.keyStroke = false;
    this.listen();
  }

  /** Show `image` (anything drawImage takes, with width/height) on a canvas of its own size, mask cleared. */
  load(image) {
    this.image = image;
    this.mask = canvas(image.width, image.height);
    this.maskCtx = this.mask.getContext("2d", { willReadFrequently: true });
    this.overlay = canvas(image.width, image.height);
    this.undoStack = [];
    this.painted = false;
    const side = Math.min(image.width, image.height);
    this.maxSize = Math.max(16, Math.round(side / 2));
    this.size = Math.max(4, Math.round(side / 10));
    this.setCanvas(image.width, image.height, "center");
    this.changed();
  }

  /** Put the image on a `width`×`height` canvas at `placement` (a larger canvas extends the image). */
  setCanvas(width, height, placement) {
    if (!this.image) return;
    this.view.width = Math.max(width, this.image.width);
    this.view.height = Math.max(height, this.image.height);
    this.offset = placementOffset(this.view, this.image, placement);
    this.view.style.setProperty("--ratio", String(this.view.width / this.view.height));
    const visible = this.cursor?.visible ?? false;
    this.cursor = { x: this.offset.x + this.image.width / 2, y: this.offset.y + this.image.height / 2, visible };
    this.render();
  }

  get extending() {
    return Boolean(this.image) && (this.view.width > this.image.width || this.view.height > this.image.height);
  }

  hasMask() {
    return Boolean(this.image) && this.painted;
  }

  setTool(tool) {
    this.tool = tool;
    this.changed();
  }

  setSize(size) {
    this.size = Math.max(2, Math.min(this.maxSize ?? 160, Math.round(size)));
    this.render();
    this.changed();
  }

  undo() {
    const previous = this.undoStack.pop();
    if (!previous) return;
    this.maskCtx.putImageData(previous.pixels, 0, 0);
    this.painted = previous.painted;
    this.refreshOverlay();
    this.changed();
  }

  clear() {
    if (!this.painted) return;
    this.beginStroke();
    this.maskCtx.clearRect(0, 0, this.mask.width, this.mask.height);
    this.painted = false;
    this.refreshOverlay();
    this.changed();
  }

  /** The mask for the request: canvas-sized PNG, alpha 0 where painted and (when extending) on the new border. */
  async maskBlob() {
    const { width, height } = this.view;
    const out = canvas(width, height);
    const ctx = out.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000";
    ctx.fillRect(this.offset.x, this.offset.y, this.image.width, this.image.height);
    ctx.globalCompositeOperation = "destination-out";
    ctx.drawImage(this.mask, this.offset.x, this.offset.y);
    const pixels = ctx.getImageData(0, 0, width, height);
    for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = pixels.data[i] < 128 ? 0 : 255;
    ctx.putImageData(pixels, 0, 0);
    return toBlob(out);
  }

  /** The image on the canvas, transparent where the canvas extends it (those pixels are filled in). */
  async paddedImageBlob() {
    const out = canvas(this.view.width, this.view.height);
    out.getContext("2d").drawImage(this.image, this.offset.x, this.offset.y);
    return toBlob(out);
  }

  // --- drawing -------------------------------------------------------------------------------

  beginStroke() {
    const pixels = this.maskCtx.getImageData(0, 0, this.mask.width, this.mask.height);
    this.undoStack.push({ pixels, painted: this.painted });
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
  }

  stroke(from, to) {
    const ctx = this.maskCtx;
    ctx.globalCompositeOperation = this.tool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    ctx.lineWidth = this.size;
    ctx.lineCap = ctx.lineJoin = "round";
    const a = { x: from.x - this.offset.x, y: from.y - this.offset.y };
    const b = { x: to.x - this.offset.x, y: to.y - this.offset.y };
    ctx.beginPath();
    if (a.x === b.x && a.y === b.y) {
      ctx.arc(a.x, a.y, this.size / 2, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    }
    if (this.tool === "brush") this.painted = true;
    else this.painted = this.anyPainted();
    this.refreshOverlay();
  }

  anyPainted() {
    const data = this.maskCtx.getImageData(0, 0, this.mask.width, this.mask.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i]) return true;
    return false;
  }

  refreshOverlay() {
    const ctx = this.overlay.getContext("2d");
    ctx.globalCompositeOperation = "copy";
    ctx.drawImage(this.mask, 0, 0);
    ctx.globalCompositeOperation = "source-in";
    ctx.fillStyle = OVERLAY;
    ctx.fillRect(0, 0, this.overlay.width, this.overlay.height);
    this.render();
  }

  render() {
    if (!this.image) return;
    const { ctx, view, offset } = this;
    ctx.clearRect(0, 0, view.width, view.height);
    ctx.drawImage(this.image, offset.x, offset.y);
    ctx.drawImage(this.overlay, offset.x, offset.y);
    const scale = view.width / (view.getBoundingClientRect().width || view.width);
    if (this.extending) {
      ctx.save();
      ctx.setLineDash([6 * scale, 4 * scale]);
      ctx.lineWidth = 1.5 * scale;
      ctx.strokeStyle = "rgba(124, 92, 255, 0.9)";
      ctx.strokeRect(offset.x, offset.y, this.image.width, this.image.height);
      ctx.restore();
    }
    if (this.cursor?.visible) {
      ctx.beginPath();
      ctx.arc(this.cursor.x, this.cursor.y, this.size / 2, 0, Math.PI * 2);
      ctx.lineWidth = 3 * scale;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.6)";
      ctx.stroke();
      ctx.lineWidth = 1.5 * scale;
      ctx.strokeStyle = this.tool === "eraser" ? "#ffd166" : "#fff";
      ctx.stroke();
    }
  }

  changed() {
    this.onChange({ canUndo: this.undoStack.length > 0, hasMask: this.painted, tool: this.tool, size: this.size, maxSize: this.maxSize });
  }

  // --- input ---------------------------------------------------------------------------------

  point(event) {
    const rect = this.view.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * this.view.width) / rect.width,
      y: ((event.clientY - rect.top) * this.view.height) / rect.height,
    };
  }

  listen() {
    const view = this.view;
    view.addEventListener("pointerdown", (event) => {
      if (!this.image || event.button !== 0) return;
      view.setPointerCapture(event.pointerId);
      view.focus({ preventScroll: true });
      this.painting = true;
      this.last = this.point(event);
      this.cursor = { ...this.last, visible: true };
      this.beginStroke();
      this.stroke(this.last, this.last);
    });
    view.addEventListener("pointermove", (event) => {
      if (!this.image) return;
      const at = this.point(event);
      this.cursor = { ...at, visible: event.pointerType !== "touch" || this.painting };
      if (this.painting) {
        this.stroke(this.last, at);
        this.last = at;
      } else {
        this.render();
      }
    });
    const end = () => {
      if (!this.painting) return;
      this.painting = false;
      this.changed();
    };
    view.addEventListener("pointerup", end);
    view.addEventListener("pointercancel", end);
    view.addEventListener("pointerleave", () => {
      if (this.cursor && !this.painting) this.cursor.visible = false;
      this.render();
    });
    view.addEventListener("keydown", (event) => this.onKey(event));
    view.addEventListener("keyup", (event) => {
      if (event.key === "Shift" && this.keyStroke) {
        this.keyStroke = false;
        this.changed();
      }
    });
    view.addEventListener("focus", () => {
      if (this.cursor) this.cursor.visible = true;
      this.render();
    });
    view.addEventListener("blur", () => {
      if (this.cursor) this.cursor.visible = false;
      this.render();
    });
  }

  onKey(event) {
    if (!this.image) return;
    const step = Math.max(2, this.size / 3) * (event.altKey ? 0.25 : 1);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const key = event.key;
    if (moves[key]) {
      const from = { x: this.cursor.x, y: this.cursor.y };
      this.cursor.x = Math.max(0, Math.min(this.view.width, from.x + moves[key][0]));
      this.cursor.y = Math.max(0, Math.min(this.view.height, from.y + moves[key][1]));
      this.cursor.visible = true;
      if (event.shiftKey) {
        if (!this.keyStroke) this.beginStroke();
        this.keyStroke = true;
        this.stroke(from, this.cursor);
      } else {
        this.render();
      }
    } else if (key === " " || key === "Enter") {
      this.beginStroke();
      this.cursor.visible = true;
      this.stroke(this.cursor, this.cursor);
      this.changed();
    } else if (key === "[" || key === "]") {
      this.setSize(this.size * (key === "[" ? 0.8 : 1.25));
    } else if (key === "b" || key === "e") {
      this.setTool(key === "b" ? "brush" : "eraser");
    } else if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") {
      this.undo();
    } else {
      return;
    }
    event.preventDefault();
  }
}
