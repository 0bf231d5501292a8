"""What signing costs per image, by format and size, next to encoding the same image.

Run: ``PYTHONPATH=src python bench/provenance.py [-n 15] [--thumbnail]``. For each format and size it
prints the median of N runs of: encoding the rendered image (``gazo.imaging.encode_image``, as the request
path does), signing it as a generation, signing it as an edit of a signed input of the same size (the input
is hashed into the manifest), and verifying it; then the bytes the manifest adds and signing's share of
encode + sign. The render itself (model-dependent) comes on top, so the share of a whole request is lower.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import c2pa
import numpy as np
from PIL import Image

from gazo.imaging import encode_image
from gazo.jobs import OutputFormat
from gazo.provenance import Ingredient, Provenance
from gazo.settings import ProvenanceSettings

SIZES = ((256, 256), (1024, 1024), (1536, 1024))
FORMATS: tuple[OutputFormat, ...] = ("png", "jpeg", "webp")


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth gradients plus noise: compresses like a rendered picture, not like a flat test card."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], axis=-1)
    noisy = base + rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(provenance: Provenance, output_format: OutputFormat, size: tuple[int, int], repeats: int) -> str:
    """One table row: timings (ms, medians), the encoded size and what signing adds."""
    mime = f"image/{output_format}"
    image = photo_like(*size)
    encoded = encode_image(image, output_format=output_format, background="opaque")
    other = encode_image(photo_like(*size, seed=1), output_format=output_format, background="opaque")
    edit_input = [
        Ingredient(data=provenance.sign(other, mime=mime, model="bench"), mime=mime, title="image_0")
    ]
    signed = provenance.sign(encoded, mime=mime, model="bench")
    assert provenance.verify(signed).state == "Trusted"
    encode = median_ms(lambda: encode_image(image, output_format=output_format, background="opaque"), repeats)
    sign = median_ms(lambda: provenance.sign(encoded, mime=mime, model="bench"), repeats)
    edit = median_ms(
        lambda: provenance.sign(encoded, mime=mime, model="bench", ingredients=edit_input), repeats
    )
    verify = median_ms(lambda: provenance.verify(signed), repeats)
    cells = [
        output_format,
        f"{size[0]}x{size[1]}",
        f"{len(encoded):,}",
        f"{encode:.1f}",
        f"{sign:.1f}",
        f"{edit:.1f}",
        f"{verify:.1f}",
        f"{len(signed) - len(encoded):,}",
        f"{sign / (encode + sign):.1%}",
    ]
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repeats", type=int, default=15, help="runs per measurement (median)")
    parser.add_argument("--thumbnail", action="store_true", help="embed the 256-px JPEG thumbnail")
    args = parser.parse_args()

    settings = ProvenanceSettings(thumbnail=args.thumbnail)
    provenance = Provenance.from_settings(settings, data_dir=Path(tempfile.mkdtemp()), version="bench")
    print(
        f"c2pa-python {metadata.version('c2pa-python')} (c2pa-rs {c2pa.sdk_version()}), "
        f"{os.cpu_count()} CPUs {platform.machine()}, thumbnail {'on' if args.thumbnail else 'off'}, "
        f"median of {args.repeats}\n"
    )
    print("format | size | bytes | encode ms | sign ms | sign edit ms | verify ms | +bytes | sign share")
    print(" | ".join(["---"] * 9))
    for output_format in FORMATS:
        for size in SIZES:
            print(measure(provenance, output_format, size, args.repeats))


if __name__ == "__main__":
    main()
