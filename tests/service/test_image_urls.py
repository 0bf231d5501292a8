"""Images of `url` responses: kept before the charge, gone at expiry (and purged), unreadable by a wrong
id, sealed at rest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gazo.errors import DatabaseUnavailable
from gazo.jobs import ImageRequest
from gazo.service import ImageService, RequestContext
from gazo.service.checks import STYLE_PROMPTS
from gazo.service.image_urls import keep_images, open_image
from gazo.service.keeping import Keeper
from tests.service.test_submission import OPERATOR, releases
from tests.store.databases import sqlite_database
from tests.support.pixels import photo, png_bytes


def test_a_kept_image_opens_by_its_id_and_extension_only(tmp_path: Path) -> None:
    keeper = Keeper(sqlite_database(tmp_path / "gazo.db"))
    data = png_bytes(photo(32, 32))
    (secret_id,) = keep_images(keeper, [data], output_format="png", model="m", ttl=timedelta(hours=1))
    image = open_image(keeper, secret_id, "png")
    assert image is not None and image.data == data and image.media_type == "image/png"
    assert 3590 <= image.seconds_left() <= 3600
    assert open_image(keeper, secret_id, "webp") is None
    other = secret_id[:-1] + ("A" if secret_id[-1] != "A" else "B")
    assert open_image(keeper, other, "png") is None
    assert open_image(keeper, "img_nope", "png") is None


def test_an_expired_image_is_gone_and_purged(tmp_path: Path) -> None:
    keeper = Keeper(sqlite_database(tmp_path / "gazo.db"))
    (secret_id,) = keep_images(keeper, [b"x"], output_format="png", model="m", ttl=timedelta(seconds=-1))
    assert open_image(keeper, secret_id, "png") is None
    assert keeper.purge_expired() == 1
    assert keeper.purge_expired() == 0


def test_the_database_holds_no_plaintext(tmp_path: Path) -> None:
    database = sqlite_database(tmp_path / "gazo.db")
    marker = b"PLAINTEXT-MARKER-" * 8
    data = png_bytes(photo(16, 16)) + marker
    keep_images(
        Keeper(database), [data], output_format="png", model="secret-model-name", ttl=timedelta(hours=1)
    )
    database.dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("gazo.db*"))
    assert b"\x89PNG" not in stored and marker[:17] not in stored and b"secret-model-name" not in stored


async def test_a_url_response_keeps_each_image_and_reports_the_rendered_prompt(service: ImageService) -> None:
    request = ImageRequest(
        prompt="a dot", size="64x64", quality="low", n=2, style="natural", response_format="url"
    )
    result = await service.create(request, RequestContext(OPERATOR, "req_url"))
    assert result.revised_prompt == "a dot" + STYLE_PROMPTS["natural"]
    assert len(result.kept_as) == 2
    for secret_id, data in zip(result.kept_as, result.images, strict=True):
        kept = service.kept_image(secret_id, "png")
        assert kept is not None and kept.data == data


async def test_a_failure_to_keep_releases_the_reservation_uncharged(
    service: ImageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses = releases(service, monkeypatch)
    commits: list[object] = []
    monkeypatch.setattr(service.meter, "commit", lambda *args, **kwargs: commits.append(args))

    def database_down(**_: object) -> None:
        raise DatabaseUnavailable("The database is unavailable.", retry_after_s=5)

    monkeypatch.setattr(service.keeper, "keep", database_down)
    request = ImageRequest(prompt="a dot", size="64x64", quality="low", response_format="url")
    with pytest.raises(DatabaseUnavailable):
        await service.create(request, RequestContext(OPERATOR, "req_url_down"))
    assert statuses == ["failed"] and commits == []
