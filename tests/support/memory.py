"""A server process's peak memory over one request, and inputs with many pixels in small files."""

from __future__ import annotations

import functools
import io
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests.support.server import GazoServer


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


class PeakRss:
    """Growth of a process's resident memory over a `with` block, at its peak (Linux).

    The kernel's high-water mark (`VmHWM`) is reset at the start where `/proc/<pid>/clear_refs` allows
    it, so every spike counts; `VmRSS` is also polled, which is all there is where the reset is refused.
    """

    def __init__(self, pid: int, interval_s: float = 0.01) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.baseline_kib = self.peak_kib = 0
        self._hwm_reset = False
        self._done = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakRss:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self.baseline_kib = self.peak_kib = _status_kib(self.pid, "VmRSS")
        self._poller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._poller.join()
        if self._hwm_reset:
            self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmHWM"))

    def _poll(self) -> None:
        while not self._done.wait(self.interval_s):
            self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))

    @property
    def growth_bytes(self) -> int:
        return (self.peak_kib - self.baseline_kib) * 1024


@functools.cache
def flat_png(width: int, height: int, seed: int) -> bytes:
    """A `width` x `height` PNG of a flat colour and a few shapes: many pixels, a small file."""
    hue = seed * 47 % 256
    image = Image.new("RGB", (width, height), (hue, 255 - hue, (hue * 3) % 256))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 6, height // 6, width * 2 // 3, height * 2 // 3), fill=(255 - hue, 40, hue))
    draw.rectangle((width // 2, height // 12, width * 11 // 12, height // 2), fill=(20, hue, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def edit_at_peak(server: GazoServer, images: list[bytes], **params: object) -> tuple[Any, int, float]:
    """One `images.edit` through the SDK: (result, the server's peak memory growth in bytes, seconds)."""
    assert server.process is not None
    files = [(f"image_{index}.png", data, "image/png") for index, data in enumerate(images)]
    client = server.client(timeout=600)
    started = time.monotonic()
    with PeakRss(server.process.pid) as rss:
        result = client.images.edit(image=files, **params)  # type: ignore[arg-type]
    return result, rss.growth_bytes, time.monotonic() - started
