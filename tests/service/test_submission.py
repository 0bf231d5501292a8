"""`ImageService.submit`: every refusal before a Submission exists, everything a response needs in it.

A transport formats a Submission and nothing else, so these pin what it carries: the concrete output
fields, the events, a reservation settled exactly once however the Submission ends, and a replay."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from gazo.billing.values import Caller, Reservation
from gazo.errors import GazoError
from gazo.jobs import ImageRequest
from gazo.service import FinalImage, ImageService, Output, RequestContext, Step, Submission

OPERATOR = Caller(key_id=None, org_id=None, is_admin=True, open_mode=True, key_name="test operator")


def releases(service: ImageService, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The status of every reservation the service releases from now on."""
    statuses: list[str] = []
    release = service.meter.release

    def spy(reservation: Reservation, *, status: str, latency_ms: int | None = None) -> object:
        statuses.append(status)
        return release(reservation, status=status, latency_ms=latency_ms)

    monkeypatch.setattr(service.meter, "release", spy)
    return statuses


async def collect(submission: Submission) -> list[object]:
    async with aclosing(submission):
        return [event async for event in submission]


async def test_a_submission_carries_what_a_response_needs(service: ImageService) -> None:
    request = ImageRequest(prompt="a red square", size="64x64", quality="low", n=2, seed=1)
    submission = await service.submit(request, RequestContext(OPERATOR, "req_facts"))
    assert submission.operation == "generation"
    assert submission.model == "fast-steps"
    assert submission.output == Output(background="opaque", output_format="png", quality="low", size="64x64")
    assert submission.created is None  # not a replay
    events = await collect(submission)
    finals = [event for event in events if isinstance(event, FinalImage)]
    assert [final.image_index for final in finals] == [0, 1]
    assert all(final.data.startswith(b"\x89PNG") for final in finals)
    assert any(isinstance(event, Step) for event in events)
    assert finals[0].usage.text_input_tokens > 0 and finals[1].usage.text_input_tokens == 0


async def test_refusals_raise_before_anything_is_reserved(
    service: ImageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses = releases(service, monkeypatch)
    with pytest.raises(GazoError) as refused:
        await service.submit(ImageRequest(prompt="x", size="65x3000"), RequestContext(OPERATOR, "req_bad"))
    assert refused.value.status == 400 and refused.value.param == "size"
    assert statuses == []  # refused by the checks: no reservation was ever made


async def test_closing_an_unread_submission_releases_its_reservation(
    service: ImageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses = releases(service, monkeypatch)
    request = ImageRequest(prompt="x", size="64x64", quality="medium", seed=1)  # 5000 steps
    submission = await service.submit(request, RequestContext(OPERATOR, "req_gone"))
    await submission.aclose()
    await submission.aclose()  # twice is harmless
    assert statuses == ["cancelled"]


async def test_an_idempotent_retry_replays_the_first_images(service: ImageService) -> None:
    request = ImageRequest(prompt="a blue circle", size="64x64", quality="low", seed=3)
    context = RequestContext(OPERATOR, "req_first", idempotency_key="key-1")
    first = await service.create(request, context)
    replay = await service.submit(request, RequestContext(OPERATOR, "req_retry", idempotency_key="key-1"))
    assert replay.created is not None
    assert replay.output == first.output
    events = await collect(replay)
    assert [event.data for event in events if isinstance(event, FinalImage)] == first.images
