"""The fuzz gate: schemathesis drives a real `gazo serve` from its own `/openapi.json`.

Every operation of the document gets generated requests, valid and invalid, through a real key; every
response must be no 5xx, a status the document declares, a declared content type, and a body that
fits the declared schema. Seeds are fixed (`derandomize`), so a failure reproduces.
"""

from __future__ import annotations

import base64
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis import BaseSchema
from schemathesis.core.failures import FailureGroup
from schemathesis.core.media_types import MEDIA_TYPE_STRATEGIES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.keys import create_key
from tests.support.pixels import centre_mask, photo, png_bytes
from tests.support.server import GazoServer

#: Small limits keep every generated request cheap; the routes all stay reachable under them.
CONFIG = """
[server]
max_upload_bytes = 262144
max_mask_bytes = 65536
max_input_images = 4
max_input_pixels = 1000000
request_timeout_s = 60
"""
#: Generated examples per operation and mode, after the coverage phase's fixed cases: about 2,300
#: requests over 30 operations, and the whole test (server start included) under a minute on 2 cores.
MAX_EXAMPLES = {"positive": 60, "negative": 25}
#: Not `positive_data_acceptance`: the document cannot carry every rule (sizes a model renders, control
#: characters, usage windows), so a schema-valid request may rightly get a 400. Not
#: `negative_data_rejection`: in a query everything is text, so `sizes=false` it counts as "not a
#: string" is a valid string here. Every status a refusal can have must be declared all the same.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Tally:
    """Sends cases and keeps what came back: counts for the summary, the first failure of each kind."""

    base_url: str
    auth: dict[str, str]
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_phase: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, str] = field(default_factory=dict)
    unsatisfiable: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def send(self, case: schemathesis.Case, phase: str) -> None:
        response = case.call(base_url=self.base_url, headers=self.auth, timeout=60)
        self.requests += 1
        self.statuses[response.status_code] += 1
        self.by_phase[f"{case.operation.label} {phase}"][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as found:
            for failure in found.exceptions:
                kind = f"{case.operation.label} ({phase}) -> {response.status_code}: {failure.title}"
                self.failures.setdefault(kind, f"{kind}\n{found.message}")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GazoServer, str]]:
    """The built-in default model (no `[[models]]`), an admin key so the usage routes answer."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    config = data_dir / "gazo.toml"
    config.write_text(CONFIG)
    key = create_key(data_dir, "fuzz", "--admin", "--rpm", "100000", "--ipm", "100000")
    with GazoServer(data_dir, config=config) as server:
        yield server, key


def image_files(signed: bytes) -> dict[str, st.SearchStrategy[bytes]]:
    """Real files for the multipart parts the document types as images, and some that only look so."""
    picture = photo(64, 64)
    mask, _ = centre_mask(64, 64, (16, 16, 48, 48))
    small = photo(17, 9, seed=1)
    pngs = [png_bytes(picture), png_bytes(mask), png_bytes(small), signed]
    broken = st.sampled_from([pngs[0][:40], b"\x89PNG\r\n\x1a\n", b"GIF89a", b""]) | st.binary(max_size=64)
    return {
        "image/png": st.sampled_from(pngs) | broken,
        "image/jpeg": st.sampled_from([png_bytes(picture, "JPEG"), png_bytes(small, "JPEG")]) | broken,
        "image/webp": st.sampled_from([png_bytes(picture, "WEBP")]) | broken,
    }


@pytest.fixture
def image_media_types(fuzzed: tuple[GazoServer, str]) -> Iterator[None]:
    """Register the image strategies with schemathesis for this test only (its registry is global)."""
    server, key = fuzzed
    made = httpx.post(
        f"{server.base_url}/v1/images/generations",
        json={"prompt": "a red kite", "quality": "low", "output_format": "jpeg", "output_compression": 40},
        headers={"authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert made.status_code == 200, made.text
    signed = _within_upload_cap(base64.b64decode(made.json()["data"][0]["b64_json"]))
    saved = dict(MEDIA_TYPE_STRATEGIES)
    for media_type, strategy in image_files(signed).items():
        schemathesis.openapi.media_type(media_type, strategy)
    yield
    MEDIA_TYPE_STRATEGIES.clear()
    MEDIA_TYPE_STRATEGIES.update(saved)


def _within_upload_cap(data: bytes) -> bytes:
    """The signed image as sent (re-encoding would break its credentials), if it fits the upload cap."""
    return data if len(data) <= 262144 else png_bytes(Image.new("RGB", (8, 8)))


def test_no_operation_answers_5xx_or_outside_its_document(
    fuzzed: tuple[GazoServer, str], image_media_types: None, record_property: Callable[[str, object], None]
) -> None:
    server, key = fuzzed
    auth = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", headers=auth)
    tally = Tally(server.base_url, auth)
    models = httpx.get(f"{server.base_url}/v1/models", headers=auth, timeout=30).json()["data"]
    known = {"model_id": [model["id"] for model in models]}
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11, [operation.label for operation in operations]
    for operation in operations:
        cover_operation(schema, operation, tally)
        for mode, examples in MAX_EXAMPLES.items():
            fuzz_operation(operation, mode, examples, tally, known)
    elapsed = time.monotonic() - started
    summary = (
        f"fuzz gate: {tally.requests} requests over {len(operations)} operations in {elapsed:.1f} s, "
        f"{tally.server_errors} answered 5xx, {len(tally.failures)} failures; no invalid request exists "
        f"for {', '.join(tally.unsatisfiable) or 'none'}; statuses "
        + ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
    )
    print(summary)
    for name, counts in tally.by_phase.items():
        print(name, dict(counts))
    record_property("fuzz_requests", tally.requests)
    record_property("fuzz_5xx", tally.server_errors)
    record_property("fuzz_seconds", round(elapsed, 1))
    assert not tally.failures, summary + "\n\n" + "\n\n".join(tally.failures.values())


def cover_operation(schema: BaseSchema, operation: schemathesis.APIOperation, tally: Tally) -> None:
    """Schemathesis's coverage phase: boundary values, each constraint broken in turn, other methods."""
    generation = schema.config.generation_for(operation=operation, phase="coverage")
    modes = list(schemathesis.GenerationMode)
    for case in schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=generation):
        tally.send(case, "coverage")


def fuzz_operation(
    operation: schemathesis.APIOperation, mode: str, examples: int, tally: Tally, known: dict[str, list[str]]
) -> None:
    """`examples` generated cases of one mode; failures are collected, not raised, so that one run
    reports everything it found. Path parameters also take the `known` values (a random model id finds
    no model)."""
    generation = schemathesis.GenerationMode(mode)
    strategy = operation.as_strategy(generation_mode=generation, headers=tally.auth)
    for parameter in operation.path_parameters:
        for value in known.get(parameter.name, []) if generation.is_positive else []:
            fixed = {parameter.name: value}
            strategy |= operation.as_strategy(
                generation_mode=generation, headers=tally.auth, path_parameters=fixed
            )

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are recorded, not raised
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        tally.send(case, mode)

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
        assert mode == "negative", f"{operation.label}: no valid request could be generated"
        tally.unsatisfiable.append(operation.label)
