"""Settings precedence: defaults < TOML < GAZO_* environment < explicit overrides; unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gazo.settings import BUILTIN_MODEL_NAME, Settings


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gazo.toml"
    config.write_text('[server]\nport = 9001\nhost = "0.0.0.0"\n[engine]\nqueue_size = 3\n')
    assert Settings.load(config).server.port == 9001
    monkeypatch.setenv("GAZO_SERVER__PORT", "9002")
    settings = Settings.load(config)
    assert (settings.server.port, settings.server.host, settings.engine.queue_size) == (9002, "0.0.0.0", 3)
    assert Settings.load(config, data_dir=tmp_path / "d").data_dir == (tmp_path / "d").resolve()


def test_models_from_toml_and_builtin_default(tmp_path: Path) -> None:
    assert [spec.name for spec in Settings.load(data_dir=tmp_path).served_models()] == [BUILTIN_MODEL_NAME]
    config = tmp_path / "gazo.toml"
    config.write_text(
        '[[models]]\nname = "sdxl"\nsource = "stabilityai/sdxl"\naliases = ["gpt-image-1"]\n'
        "[models.options]\nsteps = { low = 4 }\n"
    )
    (spec,) = Settings.load(config).served_models()
    assert (spec.name, spec.backend, spec.aliases, spec.options) == (
        "sdxl",
        "diffusers",
        ["gpt-image-1"],
        {"steps": {"low": 4}},
    )


def test_unknown_keys_and_bad_values_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "gazo.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(ValidationError):
        Settings.load(config)
    with pytest.raises(FileNotFoundError):
        Settings.load(tmp_path / "missing.toml")
    with pytest.raises(ValidationError):
        Settings.load(server={"port": 70000})


def test_errors_survive_pickling_with_their_details() -> None:
    import pickle

    from gazo.errors import ModelNotFound, Overloaded

    overloaded = pickle.loads(pickle.dumps(Overloaded("busy", retry_after_s=3)))
    assert (overloaded.status, overloaded.headers, overloaded.message) == (429, {"retry-after": "3"}, "busy")
    missing = pickle.loads(pickle.dumps(ModelNotFound("x")))
    assert missing.param == "model" and missing.code == "model_not_found"


@pytest.mark.parametrize(
    ("written", "seconds"), [('"5m"', 300.0), ('"90s"', 90.0), ('"1.5h"', 5400.0), ("42", 42.0)]
)
def test_keep_alive_takes_durations_as_operators_write_them(
    tmp_path: Path, written: str, seconds: float
) -> None:
    config = tmp_path / "gazo.toml"
    config.write_text(f'[[models]]\nname = "m"\nbackend = "tiny"\nsource = "x"\nkeep_alive = {written}\n')
    assert Settings.load(config).models[0].keep_alive == seconds


@pytest.mark.parametrize("written", ['"soon"', '"-5m"', '"nan"', '"infs"', "inf", "-1"])
def test_a_keep_alive_that_is_no_duration_is_refused_with_what_it_expects(
    tmp_path: Path, written: str
) -> None:
    config = tmp_path / "gazo.toml"
    config.write_text(f'[[models]]\nname = "m"\nbackend = "tiny"\nsource = "x"\nkeep_alive = {written}\n')
    with pytest.raises(ValidationError, match="keep_alive"):
        Settings.load(config)
