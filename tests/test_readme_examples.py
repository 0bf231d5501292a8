"""The README's examples of the other client surfaces (Responses, Azure, DALL-E) run as written against a
real server: each block after `<!-- example: NAME -->` is executed with the server's address and a key
put in for the README's placeholders, in a folder holding the `photo.png` they open."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.keys import create_key
from tests.support.pixels import photo
from tests.support.server import GazoServer

README = Path(__file__).resolve().parents[1] / "README.md"
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[a-z-]+) -->\n```python\n(?P<code>.*?)```", re.DOTALL)


def examples() -> dict[str, str]:
    return {found.group("name"): found.group("code") for found in _EXAMPLE.finditer(README.read_text())}


def test_the_readme_has_its_examples() -> None:
    assert {"responses", "azure", "dalle"} <= set(examples())


@pytest.mark.parametrize("name", ["responses", "azure", "dalle"])
def test_a_readme_example_runs_as_written(
    name: str, auth_server: GazoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(auth_server.data_dir, f"readme-{name}")
    code = examples()[name].replace("http://127.0.0.1:8000", auth_server.base_url)
    code = code.replace('"gz-..."', repr(key))
    photo(256, 256).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code, f"README.md example {name}", "exec"), namespace)
    CHECKS[name](namespace, tmp_path)


def _responses(names: dict[str, Any], folder: Path) -> None:
    assert Image.open(folder / "lighthouse.png").size == (1024, 1024)
    call = next(item for item in names["second"].output if item.type == "image_generation_call")
    assert call.action == "edit" and call.result


def _azure(names: dict[str, Any], folder: Path) -> None:
    assert names["result"].data[0].b64_json and names["edited"].data[0].b64_json


def _dalle(names: dict[str, Any], folder: Path) -> None:
    assert names["png"].startswith(b"\x89PNG")
    assert names["result"].data[0].revised_prompt.startswith("a red kite, natural style")
    assert len(names["variations"].data) == 2


CHECKS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "responses": _responses,
    "azure": _azure,
    "dalle": _dalle,
}
