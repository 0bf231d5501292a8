"""Domain values: what a request's fingerprint covers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gazo.jobs import ImageRequest, Upload

EDIT = ImageRequest(
    prompt="a lighthouse",
    images=(Upload(b"first image", "a.png", "image/png"), Upload(b"second", "b.png", "image/png")),
    mask=Upload(b"mask", "mask.png", "image/png"),
)


def test_equal_requests_have_one_fingerprint() -> None:
    copy = replace(
        EDIT, images=tuple(Upload(bytearray(u.data), u.filename, u.content_type) for u in EDIT.images)
    )
    assert copy.fingerprint() == EDIT.fingerprint() and len(EDIT.fingerprint()) == 32


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "a lighthouse!"},
        {"model": "gpt-image-1"},
        {"n": 2},
        {"size": "1024x1024"},
        {"quality": "high"},
        {"background": "transparent"},
        {"output_format": "webp"},
        {"output_compression": 90},
        {"moderation": "low"},
        {"partial_images": 1},
        {"seed": 7},
        {"safety_identifier": "user-1"},
        {"text": ("OPEN",)},
        {"input_fidelity": "high"},
        {"placement": "left"},
        {"mask": None},
        {"mask": Upload(b"mask!", "mask.png", "image/png")},
        {"images": tuple(reversed(EDIT.images))},
        {"images": EDIT.images[:1]},
        {"images": (Upload(b"first image!", "a.png", "image/png"), EDIT.images[1])},
    ],
)
def test_every_field_that_shapes_the_output_changes_the_fingerprint(change: dict[str, object]) -> None:
    assert replace(EDIT, **change).fingerprint() != EDIT.fingerprint()  # type: ignore[arg-type]


def test_a_generation_and_an_edit_differ() -> None:
    assert replace(EDIT, images=(), mask=None).fingerprint() != replace(EDIT, mask=None).fingerprint()
