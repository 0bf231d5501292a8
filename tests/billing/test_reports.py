"""GET /v1/organization/usage/images and /costs in OpenAI's shape, and the `gazo usage` summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from gazo.billing.reports import summary
from gazo.billing.tokens import TokenUsage
from gazo.errors import InvalidRequest, PermissionDenied
from gazo.store.database import Database
from gazo.store.tables import Usage
from tests.billing.meters import caller_for, make_key, make_meter, reserve

DAY = 86400
START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def _seed(database: Database) -> dict[str, str]:
    """Four requests over two days, two keys, two models; one failed."""
    meter = make_meter(database)
    admin_id, admin = make_key(database, name="admin", is_admin=True)
    user_id, user = make_key(database, name="user")
    plan = [
        (admin, "gpt-image-1", "1024x1024", 2, START + 10, "succeeded"),
        (user, "sdxl", "1536x1024", 1, START + 20, "succeeded"),
        (user, "sdxl", "1536x1024", 1, START + DAY + 5, "succeeded"),
        (user, "sdxl", "1024x1024", 3, START + DAY + 6, "failed"),
    ]
    for i, (secret, model, size, n, at, status) in enumerate(plan):
        reservation = reserve(
            meter, caller_for(meter, secret), request_id=f"r{i}", model=model, size=size, n=n
        )
        if status == "failed":
            meter.release(reservation, status="failed")
        else:
            meter.commit(
                reservation, TokenUsage(text_input_tokens=10, image_output_tokens=272 * n), latency_ms=1
            )
        with database.transaction() as session:
            session.execute(
                update(Usage)
                .where(Usage.id == reservation.id)
                .values(created_at=datetime.fromtimestamp(at, UTC))
            )
    return {"admin": admin, "user": user, "admin_id": admin_id, "user_id": user_id}


def test_usage_images_buckets_and_groups(database: Database) -> None:
    seeded = _seed(database)
    meter = make_meter(database)
    admin = caller_for(meter, seeded["admin"])
    page = meter.usage_buckets(admin, start_time=START, end_time=START + 3 * DAY)
    assert page["object"] == "page" and page["has_more"] is False and page["next_page"] is None
    assert [(b["object"], b["start_time"], b["end_time"]) for b in page["data"]] == [
        ("bucket", START + i * DAY, START + (i + 1) * DAY) for i in range(3)
    ]
    first, second, third = (b["results"] for b in page["data"])
    assert first == [
        {
            "object": "organization.usage.images.result",
            "images": 3,
            "num_model_requests": 2,
            "source": None,
            "size": None,
            "project_id": None,
            "user_id": None,
            "api_key_id": None,
            "model": None,
        }
    ]
    assert (second[0]["images"], second[0]["num_model_requests"], third) == (1, 1, [])

    grouped = meter.usage_buckets(
        admin, start_time=START, end_time=START + DAY, group_by=["model", "size", "api_key_id", "source"]
    )
    results = sorted(grouped["data"][0]["results"], key=lambda r: r["model"])
    assert [(r["model"], r["size"], r["api_key_id"], r["source"], r["images"]) for r in results] == [
        ("gpt-image-1", "1024x1024", seeded["admin_id"], "image.generation", 2),
        ("sdxl", "1536x1024", seeded["user_id"], "image.generation", 1),
    ]
    only = meter.usage_buckets(admin, start_time=START, end_time=START + DAY, models=["sdxl"])
    assert only["data"][0]["results"][0]["images"] == 1


def test_pages_follow_the_cursor(database: Database) -> None:
    seeded = _seed(database)
    meter = make_meter(database)
    admin = caller_for(meter, seeded["admin"])
    page = meter.usage_buckets(admin, start_time=START, end_time=START + 3 * DAY, limit=2)
    assert len(page["data"]) == 2 and page["has_more"] and page["next_page"] == f"page_{START + 2 * DAY}"
    rest = meter.usage_buckets(
        admin, start_time=START, end_time=START + 3 * DAY, limit=2, page=page["next_page"]
    )
    assert [b["start_time"] for b in rest["data"]] == [START + 2 * DAY] and not rest["has_more"]


def test_costs_in_dollars_by_line_item(database: Database) -> None:
    seeded = _seed(database)
    meter = make_meter(database)
    admin = caller_for(meter, seeded["admin"])
    page = meter.costs(admin, start_time=START, end_time=START + 2 * DAY, group_by=["line_item"])
    day_one = sorted(page["data"][0]["results"], key=lambda r: r["line_item"])
    assert day_one == [
        {
            "object": "organization.costs.result",
            "amount": {"value": (50 + 2 * 272 * 40) / 1e6, "currency": "usd"},
            "line_item": "gpt-image-1",
            "project_id": None,
        },
        {
            "object": "organization.costs.result",
            "amount": {"value": (50 + 272 * 40) / 1e6, "currency": "usd"},
            "line_item": "sdxl",
            "project_id": None,
        },
    ]
    total = meter.costs(admin, start_time=START, end_time=START + 2 * DAY)
    assert [b["results"][0]["amount"]["value"] for b in total["data"]] == [0.03274, 0.01093]


def test_only_admins_read_usage_and_bad_parameters_name_themselves(database: Database) -> None:
    seeded = _seed(database)
    meter = make_meter(database)
    with pytest.raises(PermissionDenied):
        meter.usage_buckets(caller_for(meter, seeded["user"]), start_time=START)
    admin = caller_for(meter, seeded["admin"])
    for params, param in [
        ({"bucket_width": "2d"}, "bucket_width"),
        ({"group_by": ["colour"]}, "group_by"),
        ({"limit": 99}, "limit"),
        ({"page": "nonsense"}, "page"),
    ]:
        with pytest.raises(InvalidRequest) as raised:
            meter.usage_buckets(admin, start_time=START, **params)
        assert raised.value.param == param
    with pytest.raises(InvalidRequest):
        meter.costs(admin, start_time=START, bucket_width="1h")


def test_summary_by_key_model_and_day(database: Database) -> None:
    seeded = _seed(database)
    since = datetime.fromtimestamp(START, UTC)
    by_model = {row.group: row for row in summary(database, since=since, by="model")}
    assert (by_model["sdxl"].requests, by_model["sdxl"].succeeded, by_model["sdxl"].images) == (3, 2, 2)
    by_key = [row.group for row in summary(database, since=since, by="key")]
    assert by_key == [seeded["user_id"], seeded["admin_id"]]  # most expensive first: 21860 > 21810
    by_day = summary(database, since=since, by="day")
    assert [(row.group, row.requests) for row in by_day] == [("2026-11-01", 2), ("2026-11-02", 2)]
