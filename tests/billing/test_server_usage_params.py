"""Every parameter of the usage and costs endpoints is range-checked: out-of-range values get OpenAI's
400 naming the parameter, never a 500, through the real server on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.billing.servers import create_key
from tests.support.server import GazoServer

USAGE = "/v1/organization/usage/images"
COSTS = "/v1/organization/costs"
START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
LAST = 253_402_300_799  # 9999-12-31T23:59:59Z
DAY = 86400

BOTH_REFUSE = [
    ({"start_time": -99999999999}, "start_time"),
    ({"start_time": -1}, "start_time"),
    ({"start_time": LAST + 1}, "start_time"),
    ({"start_time": 10**30}, "start_time"),
    ({"start_time": 10**400}, "start_time"),
    ({"start_time": "1e3"}, "start_time"),
    ({"start_time": "soon"}, "start_time"),
    ({"end_time": -5}, "end_time"),
    ({"end_time": 99999999999999}, "end_time"),
    ({"end_time": START}, "start_time"),  # empty window
    ({"page": "page_99999999999999"}, "page"),
    ({"page": "page_999999999999999999999999999999"}, "page"),
    ({"page": f"page_{START - DAY}"}, "page"),  # before start_time
    ({"page": f"page_{START + 5}"}, "page"),  # not on a bucket edge
    ({"page": f"page_{START + 3 * DAY}"}, "page"),  # at end_time: nothing left to page
    ({"page": "page_-86400"}, "page"),
    ({"page": "page_+86400"}, "page"),
    ({"page": "page_\u0661\u0662"}, "page"),  # Arabic-Indic digits: int() would take them
    ({"page": "page_1\x00"}, "page"),
    ({"page": "nonsense"}, "page"),
    ({"limit": 0}, "limit"),
    ({"limit": -1}, "limit"),
    ({"limit": 10**20}, "limit"),
    ({"bucket_width": "2d"}, "bucket_width"),
    ({"bucket_width": "1d\x00"}, "bucket_width"),
    ({"group_by": "colour"}, "group_by"),
    ({"group_by": "model\x00"}, "group_by"),
    ({"group_by": ["model"] * 101}, "group_by"),
    ({"batch_ids": "batch_1\x00"}, "batch_ids"),  # gazo's extension, on both
    ({"batch_ids": "b" * 257}, "batch_ids"),
]
USAGE_REFUSES = [
    ({"models": "gpt-image-1\x00"}, "models"),
    ({"api_key_ids": [f"key_{i}" for i in range(101)]}, "api_key_ids"),
    ({"sizes": "1" * 300}, "sizes"),
    ({"sources": ""}, "sources"),
    ({"group_by": "line_item"}, "group_by"),
]
COSTS_REFUSE = [({"bucket_width": "1h"}, "bucket_width"), ({"group_by": "size"}, "group_by")]


@pytest.fixture(scope="module", params=["sqlite_server", "pg_server"])
def admin(request: pytest.FixtureRequest) -> tuple[GazoServer, dict[str, str]]:
    server: GazoServer = request.getfixturevalue(request.param)
    key = create_key(server, "usage-params-admin", "--admin")
    return server, {"Authorization": f"Bearer {key.secret}"}


def _get(admin: tuple[GazoServer, dict[str, str]], path: str, params: dict[str, object]) -> httpx.Response:
    server, headers = admin
    query = {"start_time": START, "end_time": START + 3 * DAY, **params}
    return httpx.get(f"{server.base_url}{path}", params=query, headers=headers, timeout=30)


def _assert_refused(response: httpx.Response, param: str) -> None:
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"]) == ("invalid_request_error", param), error
    assert f"`{param}`" in error["message"] or f"'{param}'" in error["message"], error
    assert len(error["message"]) < 300, error


@pytest.mark.parametrize(("params", "param"), BOTH_REFUSE + USAGE_REFUSES)
def test_usage_refuses_out_of_range_parameters_with_a_400_naming_them(
    admin: tuple[GazoServer, dict[str, str]], params: dict[str, object], param: str
) -> None:
    _assert_refused(_get(admin, USAGE, params), param)


@pytest.mark.parametrize(("params", "param"), BOTH_REFUSE + COSTS_REFUSE)
def test_costs_refuses_out_of_range_parameters_with_a_400_naming_them(
    admin: tuple[GazoServer, dict[str, str]], params: dict[str, object], param: str
) -> None:
    _assert_refused(_get(admin, COSTS, params), param)


@pytest.mark.parametrize("path", [USAGE, COSTS])
def test_the_whole_range_pages_to_its_last_bucket(
    admin: tuple[GazoServer, dict[str, str]], path: str
) -> None:
    first = _get(admin, path, {"start_time": 0, "end_time": LAST, "limit": 2})
    assert first.status_code == 200, first.text
    assert first.json()["has_more"] and first.json()["next_page"] == f"page_{2 * DAY}"
    edge = LAST + 1 - DAY  # the last whole day before the end of the range
    last = _get(admin, path, {"start_time": 0, "end_time": LAST, "page": f"page_{edge}"})
    assert last.status_code == 200, last.text
    assert [b["start_time"] for b in last.json()["data"]] == [edge] and not last.json()["has_more"]


def test_filters_with_any_other_characters_are_fine(admin: tuple[GazoServer, dict[str, str]]) -> None:
    params = {"models": ["modèle ✓", "a'b\"c;--"], "sizes": "1024x1024", "group_by": ["model", "source"]}
    answer = _get(admin, USAGE, params)
    assert answer.status_code == 200, answer.text
    assert [b["results"] for b in answer.json()["data"]] == [[], [], []]
    for path in (USAGE, COSTS):  # gazo's batch extension takes the same kind of list
        answer = _get(admin, path, {"batch_ids": ["batch_ö'1", "batch_2"], "group_by": "batch_id"})
        assert answer.status_code == 200, answer.text
        assert [b["results"] for b in answer.json()["data"]] == [[], [], []]
