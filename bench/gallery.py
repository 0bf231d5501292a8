"""Make the README's gallery with the built-in engine itself: small WebP files in docs/gallery/.

    python bench/gallery.py [--out docs/gallery]

Every example is rendered at its real size through `BuiltinBackend` (the same path `gazo serve`
takes), then scaled down for the README; `docs/gallery/README.md` lists the prompts and seeds.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from gazo.backends.base import BackendContext
from gazo.backends.builtin import BuiltinBackend
from gazo.imaging import keep_unmasked
from gazo.jobs import Background, EditJob, GenerateJob, Size


@dataclass(frozen=True)
class Example:
    name: str
    prompt: str
    size: str = "1024x1024"
    background: Background = "opaque"
    seed: int = 1


EXAMPLES = (
    Example(
        "poster",
        'A poster of a red fox and two blue birds in a snowy forest, "WINTER SALE" at the top',
        seed=3,
    ),
    Example("japanese", "夕焼けの海に白いクジラ、「夏休み」の文字", "1024x1536", seed=2),
    Example("banner", 'Neon banner that says "OPEN 24/7", a hot coffee on the left', "1536x1024", seed=4),
    Example("sticker", "a cute kitty sticker", background="transparent", seed=1),
    Example("party", 'happy birthday party with cake and balloons, "Happy Birthday Mia!"', seed=5),
)
EDIT_BASE = Example("edit", "a dog in a green meadow", "768x768", seed=2)
EDIT_PROMPT = "a cat"
THUMBNAIL = 512


def _backend() -> BuiltinBackend:
    context = BackendContext(cache_dir=Path(tempfile.mkdtemp(prefix="gazo-gallery-")))
    backend = BuiltinBackend("builtin", "builtin", BuiltinBackend.Options(), context)
    backend.load(None)
    return backend


def _generate(backend: BuiltinBackend, example: Example) -> Image.Image:
    job = GenerateJob(
        prompt=example.prompt,
        model="builtin",
        size=Size.parse(example.size),
        quality="medium",
        background=example.background,
        seed=example.seed,
    )
    return backend.generate(job, lambda *_: None)[0]


def _edit_pair(backend: BuiltinBackend) -> Image.Image:
    """Before and after a masked edit: the dog's square filled with a cat, every outside pixel kept."""
    base = _generate(backend, EDIT_BASE).convert("RGB")
    mask = Image.new("L", base.size, 0)
    margin = round(base.width * 0.1)
    ImageDraw.Draw(mask).rectangle((margin, margin, base.width - margin, base.height - margin), fill=255)
    job = EditJob(
        prompt=EDIT_PROMPT,
        model="builtin",
        size=Size(*base.size),
        quality="medium",
        seed=1,
        images=(base,),
        mask=mask,
    )
    edited = keep_unmasked(base, backend.edit(job, lambda *_: None)[0], mask)
    pair = Image.new("RGB", (base.width * 2 + 16, base.height), (255, 255, 255))
    pair.paste(base, (0, 0))
    pair.paste(edited, (base.width + 16, 0))
    return pair


def _save(image: Image.Image, path: Path) -> int:
    image = image.copy()
    image.thumbnail((THUMBNAIL * 2 if image.width > image.height * 1.6 else THUMBNAIL, THUMBNAIL))
    image.save(path, "WEBP", quality=78, method=6)
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/gallery"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    backend = _backend()
    rows, total = [], 0
    for example in EXAMPLES:
        image = _generate(backend, example)
        total += _save(image, out / f"{example.name}.webp")
        subjects = ", ".join(image.info["gazo.subjects"]) or "none"
        extra = f", background {example.background}" if example.background != "opaque" else ""
        rows.append(
            f"| ![{example.name}]({example.name}.webp) | `{example.prompt}` | {example.size}, seed "
            f"{example.seed}{extra} | {subjects} |"
        )
    total += _save(_edit_pair(backend), out / "edit.webp")
    rows.append(
        f"| ![edit](edit.webp) | `{EDIT_BASE.prompt}`, then an edit with the middle masked: "
        f"`{EDIT_PROMPT}` | {EDIT_BASE.size}, seed {EDIT_BASE.seed} | cat |"
    )
    (out / "README.md").write_text(
        "# Gallery of the built-in engine\n\nMade by `python bench/gallery.py` with gazo's built-in engine "
        "(no diffusion model), scaled down to at most 512 px high.\n\n| image | prompt | size, seed | icons "
        "chosen |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(f"{len(rows)} images, {total / 1024:.0f} KiB in {out}")


if __name__ == "__main__":
    main()
