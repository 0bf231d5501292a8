"""Usage and costs in the shape of OpenAI's usage API, and the summary `gazo usage` prints.

``usage_images`` answers ``GET /v1/organization/usage/images`` and ``costs`` answers
``GET /v1/organization/costs``: a ``page`` of time ``bucket`` objects, each with ``results`` grouped
by what ``group_by`` names (OpenAI's field names: ``api_key_id``, ``model``, ``size``, ``source``;
``project_id`` and ``user_id`` exist for compatibility and are always null in gazo). Buckets start at
``start_time`` and are ``bucket_width`` wide; ``page`` is the cursor OpenAI returns as ``next_page``.
Only admin keys may read; an admin key that belongs to an organisation sees that organisation's
usage, an admin key without one (or open mode on loopback) sees everything. Costs group by
``line_item`` as the model name; ``api_key_id`` and ``model`` are gazo extensions there.

Batch lines are gazo's own extension on both endpoints: ``group_by=batch_id`` adds ``batch_id`` to
each result (null for interactive requests; the field is absent unless grouped, so OpenAI's shape is
unchanged otherwise), and ``batch_ids`` keeps only those batches' lines. Their costs are what they
were charged, at ``billing.batch_price_factor`` of the price.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gazo.billing.prices import micros_to_usd
from gazo.errors import InvalidRequest, PermissionDenied
from gazo.store.usage import UsageTotals, aggregate

if TYPE_CHECKING:
    from gazo.billing.meter import Caller
    from gazo.store.database import Database

__all__ = ["SummaryRow", "costs", "summary", "usage_images"]

_WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
# (default, maximum) buckets per page, per OpenAI's reference.
_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
_USAGE_GROUPS = {
    "api_key_id": "key_id",
    "model": "model",
    "size": "size",
    "source": "operation",
    "batch_id": "batch_id",
}
_COST_GROUPS = {"line_item": "model", "api_key_id": "key_id", "model": "model", "batch_id": "batch_id"}
#: Groups gazo adds to a result only when asked for (OpenAI's own fields are always there).
_EXTENSIONS = ("batch_id",)
#: The filter parameters and the usage column each keeps values of.
_FILTERS = {
    "api_key_ids": "key_id",
    "models": "model",
    "sizes": "size",
    "sources": "operation",
    "batch_ids": "batch_id",
}
_ALWAYS_NULL = ("project_id", "user_id")
# Unix seconds both databases can hold: Python's datetime stops at 9999-12-31T23:59:59Z, before PostgreSQL.
_LAST_SECOND = 253_402_300_799
_MAX_LIST = 100  # values in one list parameter (`group_by`, each filter)
_MAX_VALUE = 256  # characters in one filter value
_CURSOR = re.compile(r"page_([0-9]{1,12})")


def usage_images(
    database: Database,
    caller: Caller,
    *,
    start_time: int,
    end_time: int | None = None,
    bucket_width: str = "1d",
    group_by: Sequence[str] = (),
    limit: int | None = None,
    page: str | None = None,
    api_key_ids: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    sizes: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    batch_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    filters = _filters(
        api_key_ids=api_key_ids, models=models, sizes=sizes, sources=sources, batch_ids=batch_ids
    )
    filters["operation"] = [source.removeprefix("image.") for source in sources] if sources else None

    def result(totals: UsageTotals, groups: Sequence[str]) -> dict[str, Any]:
        fields: dict[str, Any] = {"images": totals.images, "num_model_requests": totals.succeeded}
        for name in ("source", "size", "project_id", "user_id", "api_key_id", "model"):
            value = totals.group.get(_USAGE_GROUPS.get(name, "")) if name in groups else None
            fields[name] = f"image.{value}" if name == "source" and value else value
        return {"object": "organization.usage.images.result", **fields, **_extensions(totals, groups)}

    return _page(
        database,
        caller,
        start_time,
        end_time,
        bucket_width,
        group_by,
        limit,
        page,
        filters,
        _USAGE_GROUPS,
        result,
    )


def costs(
    database: Database,
    caller: Caller,
    *,
    start_time: int,
    end_time: int | None = None,
    bucket_width: str = "1d",
    group_by: Sequence[str] = (),
    limit: int | None = None,
    page: str | None = None,
    api_key_ids: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    batch_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    if bucket_width != "1d":
        raise InvalidRequest("`bucket_width` must be 1d for costs", param="bucket_width")
    filters = _filters(api_key_ids=api_key_ids, models=models, batch_ids=batch_ids)

    def result(totals: UsageTotals, groups: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "organization.costs.result",
            "amount": {"value": micros_to_usd(totals.cost_micros), "currency": "usd"},
            "line_item": totals.group.get("model") if "line_item" in groups else None,
            "project_id": None,
        }
        for name in ("api_key_id", "model"):
            if name in groups:
                body[name] = totals.group.get(_COST_GROUPS[name])
        return {**body, **_extensions(totals, groups)}

    return _page(
        database,
        caller,
        start_time,
        end_time,
        bucket_width,
        group_by,
        limit,
        page,
        filters,
        _COST_GROUPS,
        result,
    )


def _page(
    database: Database,
    caller: Caller,
    start_time: int,
    end_time: int | None,
    bucket_width: str,
    group_by: Sequence[str],
    limit: int | None,
    page: str | None,
    filters: dict[str, Sequence[str] | None],
    allowed_groups: dict[str, str],
    result: Any,
) -> dict[str, Any]:
    if not caller.is_admin:
        raise PermissionDenied("Reading usage needs an admin key (`gazo keys create --admin`).")
    width = _WIDTHS.get(bucket_width)
    if width is None:
        raise InvalidRequest(
            f"`bucket_width` must be one of 1m, 1h, 1d, got {_shown(bucket_width)}", param="bucket_width"
        )
    _check_list("group_by", group_by)
    for name in group_by:
        if name not in allowed_groups and name not in _ALWAYS_NULL:
            allowed = ", ".join([*allowed_groups, *_ALWAYS_NULL])
            raise InvalidRequest(f"`group_by` must be among {allowed}, got {_shown(name)}", param="group_by")
    default_limit, max_limit = _LIMITS[bucket_width]
    limit = default_limit if limit is None else limit
    if not 1 <= limit <= max_limit:
        raise InvalidRequest(f"`limit` must be 1-{max_limit} for {bucket_width} buckets", param="limit")
    _check_time("start_time", start_time)
    end = min(int(time.time()), _LAST_SECOND) if end_time is None else _check_time("end_time", end_time)
    if end <= start_time:
        raise InvalidRequest("`start_time` must be before `end_time`", param="start_time")
    first = _cursor(page, start_time, end, width) if page else start_time
    total_buckets = max(0, -(-(end - first) // width))
    count = min(limit, total_buckets)
    page_end = min(end, first + count * width)
    kept: dict[str, Sequence[str]] = {name: list(values) for name, values in filters.items() if values}
    if caller.org_id:
        kept["org_id"] = [caller.org_id]
    columns = [allowed_groups[name] for name in group_by if name in allowed_groups]
    with database.reading() as session:
        totals = aggregate(
            session=session,
            start=_utc(first),
            end=_utc(page_end),
            bucket_seconds=width,
            group_by=list(dict.fromkeys(columns)),
            filters=kept,
        )
    buckets: list[dict[str, Any]] = [
        {
            "object": "bucket",
            "start_time": first + i * width,
            "end_time": first + (i + 1) * width,
            "results": [],
        }
        for i in range(count)
    ]
    for item in totals:
        buckets[item.bucket]["results"].append(result(item, group_by))
    more = total_buckets > count
    return {
        "object": "page",
        "data": buckets,
        "has_more": more,
        "next_page": f"page_{first + count * width}" if more else None,
    }


def _filters(**wire: Sequence[str] | None) -> dict[str, Sequence[str] | None]:
    """Filter parameters (named as on the wire, see :data:`_FILTERS`), checked, by the column they keep."""
    for name, values in wire.items():
        _check_list(name, values or ())
    return {_FILTERS[name]: values for name, values in wire.items()}


def _extensions(totals: UsageTotals, groups: Sequence[str]) -> dict[str, Any]:
    """gazo's own result fields, present only when grouped by (null: the interactive requests)."""
    return {name: totals.group.get(name) for name in _EXTENSIONS if name in groups}


def _check_time(name: str, unix: int) -> int:
    if not 0 <= unix <= _LAST_SECOND:
        raise InvalidRequest(
            f"`{name}` must be Unix seconds from 0 to {_LAST_SECOND} (9999-12-31T23:59:59Z), "
            f"got {_shown(str(unix))}",
            param=name,
        )
    return unix


def _check_list(name: str, values: Sequence[str]) -> None:
    """A list parameter: a bounded number of short values without NUL (PostgreSQL refuses NUL in text)."""
    if len(values) > _MAX_LIST:
        raise InvalidRequest(f"`{name}` takes at most {_MAX_LIST} values, got {len(values)}", param=name)
    for value in values:
        if not value or len(value) > _MAX_VALUE or "\x00" in value:
            raise InvalidRequest(
                f"`{name}` values must be 1-{_MAX_VALUE} characters without NUL, got {_shown(value)}",
                param=name,
            )


def _cursor(page: str, start_time: int, end: int, width: int) -> int:
    """Where a `next_page` of this query starts: from `start_time`, before `end`, on a bucket edge."""
    found = _CURSOR.fullmatch(page)
    first = int(found.group(1)) if found else -1
    if not (start_time <= first < end and (first - start_time) % width == 0):
        raise InvalidRequest(
            f"`page` is not a `next_page` this server returned for this `start_time`, `end_time` and "
            f"`bucket_width`: {_shown(page)}",
            param="page",
        )
    return first


def _shown(value: str) -> str:
    """A client's value quoted in an error message, cut short."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


#: `gazo usage --by`: the column, and the label of its null (a keyless request, an interactive one).
_SUMMARY_GROUPS = {
    "key": ("key_id", "(open mode)"),
    "model": ("model", "(none)"),
    "batch": ("batch_id", "(interactive)"),
}


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One line of `gazo usage`."""

    group: str
    requests: int
    succeeded: int
    images: int
    input_tokens: int
    output_tokens: int
    cost_micros: int


def summary(
    database: Database, *, since: datetime, until: datetime | None = None, by: str = "key"
) -> list[SummaryRow]:
    """Usage since a time, one row per key, model, batch or UTC day (most expensive first, days in order)."""
    if by not in _SUMMARY_GROUPS and by != "day":
        raise ValueError(f"`by` must be key, model, batch or day, got {by!r}")
    until = until or datetime.now(UTC)
    with database.reading() as session:
        if by == "day":
            start = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            totals = aggregate(session=session, start=start, end=until, bucket_seconds=86400)
            labels = [(start.timestamp() + t.bucket * 86400, t) for t in totals]
            named = [(datetime.fromtimestamp(s, UTC).date().isoformat(), t) for s, t in labels]
        else:
            column, unnamed = _SUMMARY_GROUPS[by]
            totals = aggregate(session=session, start=since, end=until, group_by=[column])
            named = [(str(t.group[column] or unnamed), t) for t in totals]
            named.sort(key=lambda pair: -pair[1].cost_micros)
    return [
        SummaryRow(
            label,
            t.requests,
            t.succeeded,
            t.images,
            t.text_input_tokens + t.image_input_tokens,
            t.image_output_tokens,
            t.cost_micros,
        )
        for label, t in named
    ]
