"""The two faces every text is set in: Noto Sans CJK JP Bold, with Noto Sans for the letters it lacks.

Noto Sans CJK JP lacks many Latin-Extended letters (Ł, ş, ő, İ…), so text is split into runs by each
face's character map, since Pillow has no font fallback of its own. Both are OFL fonts installed from
PyPI (`noto-cjk-sans-jp-bold`, `fontpkg-noto-sans`), so no system fonts are needed.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont


def _font_paths() -> tuple[Path, Path]:
    import fontpkg_noto_sans
    import noto_cjk_sans_jp_bold

    latin = next((Path(fontpkg_noto_sans.ROOT) / "files").glob("NotoSans[[]*"))
    return Path(noto_cjk_sans_jp_bold.FONT_PATH), latin


class Fonts:
    """The two faces and their character maps, read once."""

    def __init__(self) -> None:
        self.paths = _font_paths()
        self.cmaps = [set(TTFont(path, lazy=True).getBestCmap()) for path in self.paths]

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one Fonts per process or backend, sizes are few
    def font(self, face: int, size: int) -> ImageFont.FreeTypeFont:
        font = ImageFont.truetype(str(self.paths[face]), size)
        if face == 1:
            font.set_variation_by_name("Bold")
        return font

    def runs(self, text: str) -> list[tuple[str, int]]:
        """Split `text` into runs set in the first face that has each character."""
        runs: list[tuple[str, int]] = []
        for char in text:
            face = 0 if ord(char) in self.cmaps[0] or ord(char) not in self.cmaps[1] else 1
            if runs and runs[-1][1] == face:
                runs[-1] = (runs[-1][0] + char, face)
            else:
                runs.append((char, face))
        return runs

    def width(self, text: str, size: int) -> float:
        return sum(self.font(face, size).getlength(run) for run, face in self.runs(text))

    def missing(self, text: str) -> str:
        """The characters of `text` that neither face can draw (they would come out as boxes)."""
        absent = (c for c in text if not c.isspace() and all(ord(c) not in cmap for cmap in self.cmaps))
        return "".join(dict.fromkeys(absent))


@functools.cache
def shared_fonts() -> Fonts:
    """One `Fonts` per process for callers that only check coverage or set occasional text."""
    return Fonts()
