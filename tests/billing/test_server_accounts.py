"""Keys, usage rows and budgets through the real server and the official SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import openai
import pytest
from openai.types import ImagesResponse

from tests.billing.meters import budget_of, open_reservations, usage_rows
from tests.billing.servers import PRICES, burst, cost_micros, create_key, opened, run_process, usage_by_key
from tests.support.server import GazoServer

SMALL = {"model": "gpt-image-1", "size": "64x64", "quality": "low"}
N = (1, 2, 1, 3, 1)  # images per request, in turn
REPORTED = ("succeeded", "images", "input tokens", "output tokens", "cost $")  # `gazo usage` columns


@pytest.mark.parametrize("server_fixture", ["sqlite_server", "pg_server"])
def test_the_sdk_works_with_a_key_and_gets_401_for_a_wrong_or_revoked_one(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    key = create_key(server, "sdk", run=run_process)  # `python -m gazo keys create`, as an operator would
    client = server.client(api_key=key.secret)
    assert client.images.generate(prompt="a lighthouse", **SMALL).data[0].b64_json
    # The prices it will be charged are published with the model (the playground shows costs from them).
    published = client.models.retrieve("gpt-image-1").model_extra or {}
    assert published["pricing"] == PRICES
    assert published["batch_pricing"] == {
        kind: price / 2 for kind, price in PRICES.items()
    }  # half, by default

    wrong = server.client(api_key=key.secret[:-4] + "AAAA")
    run_process(server, "keys", "revoke", key.id)
    time.sleep(1.1)  # a key found a moment ago is remembered for `billing.auth_cache_s` (1 s)
    for refused_client in (wrong, client):
        with pytest.raises(openai.AuthenticationError) as refused:
            refused_client.images.generate(prompt="a lighthouse", **SMALL)
        body = refused.value.response.json()
        assert refused.value.status_code == 401 and set(body) == {"error"}
        assert body["error"]["code"] == "invalid_api_key" and body["error"]["type"] == "invalid_request_error"
        assert body["error"]["param"] is None and "Incorrect API key" in body["error"]["message"]
        assert key.secret not in body["error"]["message"]


@pytest.mark.parametrize(("server_fixture", "count"), [("sqlite_server", 60), ("pg_server", 200)])
def test_concurrent_requests_from_10_keys_write_one_exact_row_each(
    request: pytest.FixtureRequest, server_fixture: str, count: int
) -> None:
    server: GazoServer = request.getfixturevalue(server_fixture)
    made = [create_key(server, f"burst-{i}", "--budget-usd", "100") for i in range(10)]
    plan = [
        (
            made[i % 10].secret,
            {**SMALL, "prompt": f"lighthouse {i}", "n": N[i % 5], "extra_headers": {"X-Request-Id": f"b{i}"}},
        )
        for i in range(count)
    ]
    results = burst(server, plan)
    assert [type(result) for result in results] == [ImagesResponse] * count
    assert [len(result.data) for result in results] == [arguments["n"] for _, arguments in plan]

    with opened(server) as database:
        ids = {key.id for key in made}
        rows = {row.request_id: row for row in usage_rows(database) if row.key_id in ids}
        assert len(rows) == count
        for i, result in enumerate(results):
            row, usage = rows[f"b{i}"], result.usage
            assert (row.key_id, row.status, row.n, row.size, row.quality) == (
                made[i % 10].id,
                "succeeded",
                N[i % 5],
                "64x64",
                "low",
            )
            assert (row.text_input_tokens, row.image_input_tokens, row.image_output_tokens) == (
                usage.input_tokens_details.text_tokens,
                usage.input_tokens_details.image_tokens,
                usage.output_tokens_details.image_tokens,
            )
            assert row.cost_micros == cost_micros(usage)  # the configured prices times these tokens
        report = usage_by_key(server)
        for k, key in enumerate(made):
            mine = results[k::10]
            spent = sum(cost_micros(result.usage) for result in mine)
            assert budget_of(database, key.id) == (100_000_000, spent, 0)
            assert [report[key.id][column] for column in REPORTED] == [
                str(value)
                for value in (
                    len(mine),
                    sum(len(result.data) for result in mine),
                    sum(result.usage.input_tokens for result in mine),
                    sum(result.usage.output_tokens for result in mine),
                    f"{spent / 1e6:.6f}",
                )
            ]
        assert open_reservations(database) == 0


def test_a_budget_running_out_mid_burst_charges_the_successes_only(sqlite_server: GazoServer) -> None:
    request = {**SMALL, "prompt": "a red kite over a beach"}
    probe = create_key(sqlite_server, "probe")
    one = cost_micros(sqlite_server.client(api_key=probe.secret).images.generate(**request).usage)
    limit = 5 * one + one // 2
    key = create_key(sqlite_server, "budgeted", "--budget-usd", f"{limit / 1e6:.6f}")

    results = burst(sqlite_server, [(key.secret, request)] * 20)

    charged = [result for result in results if isinstance(result, ImagesResponse)]
    refused = [result for result in results if not isinstance(result, ImagesResponse)]
    assert len(charged) == 5 and len(refused) == 15
    assert {(type(error), error.status_code, error.code, error.type) for error in refused} == {
        (openai.RateLimitError, 429, "insufficient_quota", "insufficient_quota")
    }
    with opened(sqlite_server) as database:
        assert budget_of(database, key.id) == (limit, 5 * one, 0)
        rows = [row for row in usage_rows(database) if row.key_id == key.id]
        assert [(row.status, row.cost_micros) for row in rows] == [("succeeded", one)] * 5
        assert open_reservations(database) == 0
