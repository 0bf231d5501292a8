"""The tables: organisations, API keys (hashed), usage rows, in-flight reservations, budgets,
sealed responses for idempotent replay.

Money is stored as integer micro-dollars (1e-6 USD) so sums are exact on every database. Times are
UTC, stored naive (``timestamp without time zone`` on PostgreSQL) and handed back timezone-aware.
Prompt text lives only in ``retained_prompts``, which stays empty unless the operator turns
retention on. Image bytes live only in ``idempotent_responses``: the response of a request sent with
an Idempotency-Key, kept 24 h for idempotent replay, encrypted under a key the database does not
hold (see :mod:`gazo.billing.idempotency`), deleted after. Images and responses kept for a client to
fetch again (``response_format=url``, the Responses API's stored responses) live in ``kept_objects``,
sealed under their own unguessable id, which the database does not hold either, and deleted at expiry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Usage statuses. ``reserved`` rows are in flight; the others are settled outcomes.
RESERVED = "reserved"
SUCCEEDED = "succeeded"
ABANDONED = "abandoned"
SETTLED_FAILURES = ("failed", "moderation_blocked", "cancelled", ABANDONED)

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC in the database (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(kind: str) -> str:
    """``kind_`` plus 96 random bits: unique without a round trip, readable in logs and CSVs."""
    return f"{kind}_{uuid.uuid4().hex[:24]}"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """An API key: only the SHA-256 of the secret and a short display prefix are kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    rpm: Mapped[int | None] = mapped_column(Integer)
    ipm: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Budget(Base):
    """A monthly spending cap for one key or one organisation; ``reserved`` is money in flight."""

    __tablename__ = "budgets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"), unique=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), unique=True)
    limit_micros: Mapped[int] = mapped_column(BigInteger)
    spent_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())


class Usage(Base):
    """One row per request: written ``reserved`` before rendering, settled once in place."""

    __tablename__ = "usage"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    model: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(40))
    size: Mapped[str] = mapped_column(String(20))
    quality: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)
    text_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    image_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    image_output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(40))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A one-way hash of what shaped the output: a reused Idempotency-Key with another body is refused.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # The batch this request was a line of (priced at the batch factor); None for interactive requests.
    batch_id: Mapped[str | None] = mapped_column(String(40), index=True)

    __table_args__ = (
        Index("ix_usage_created_at", "created_at"),
        Index("ix_usage_key_id_created_at", "key_id", "created_at"),
        # One live outcome per (key, Idempotency-Key): a failed attempt leaves the index, so a retry
        # of it may run (and be charged) again. COALESCE makes open mode (no key) unique too.
        Index(
            "uq_usage_idempotency",
            func.coalesce(text("key_id"), ""),
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL AND status IN ('reserved', 'succeeded')"),
            postgresql_where=text("idempotency_key IS NOT NULL AND status IN ('reserved', 'succeeded')"),
        ),
    )


class Reservation(Base):
    """Money held for a request in flight, and which process holds it (to release it if that dies)."""

    __tablename__ = "reservations"

    id: Mapped[str] = mapped_column(ForeignKey("usage.id"), primary_key=True)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    key_budget_id: Mapped[str | None] = mapped_column(String(40))
    org_budget_id: Mapped[str | None] = mapped_column(String(40))
    holder_host: Mapped[str] = mapped_column(String(255))
    holder_pid: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RetainedPrompt(Base):
    """Prompt text kept for ``billing.retention_days`` when the operator opts in; purged after."""

    __tablename__ = "retained_prompts"

    usage_id: Mapped[str] = mapped_column(ForeignKey("usage.id"), primary_key=True)
    prompt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class IdempotentResponse(Base):
    """A succeeded request's response, sealed (AES-GCM) under a key only a retry of that very request
    with its Idempotency-Key can derive; replayed to such retries until ``expires_at``, then deleted."""

    __tablename__ = "idempotent_responses"

    usage_id: Mapped[str] = mapped_column(ForeignKey("usage.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class KeptObject(Base):
    """Something a client may fetch again by an id only it was given (an image URL, a stored Response),
    sealed under a key derived from that id; the row is found by a digest of the id, never the id."""

    __tablename__ = "kept_objects"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The API key that made it (only that key may read or delete it), or None: anyone with the id may.
    owner: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class StoredFile(Base):
    """A file of the Files API (`/v1/files`): its bytes live in the data dir, named by `id`."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Owned by the organisation of the key that uploaded it (every key of it may use it), or by that
    #: key alone when it has none; both null in open mode.
    org_id: Mapped[str | None] = mapped_column(String(40), index=True)
    key_id: Mapped[str | None] = mapped_column(String(40), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class Batch(Base):
    """A batch of `/v1/batches`: its status and times as OpenAI reports them; counts come from its lines."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(String(40), index=True)
    key_id: Mapped[str | None] = mapped_column(String(40), index=True)
    endpoint: Mapped[str] = mapped_column(String(40))
    input_file_id: Mapped[str] = mapped_column(String(40))
    completion_window: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    metadata_json: Mapped[str | None] = mapped_column(Text)
    errors_json: Mapped[str | None] = mapped_column(Text)
    output_file_id: Mapped[str | None] = mapped_column(String(40))
    error_file_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    in_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalizing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelling_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BatchLine(Base):
    """One request of a batch: the durable queue. `pending` → `running` (claimed by one process) →
    `succeeded` | `failed`, or `cancelled` / `expired`; a line whose process died goes back to pending.
    Its output line (images and all) is written to the data dir before the row says it is done."""

    __tablename__ = "batch_lines"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    custom_id: Mapped[str] = mapped_column(String(512))
    model: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    holder_host: Mapped[str | None] = mapped_column(String(255))
    holder_pid: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_batch_lines_batch_id_status", "batch_id", "status"),)


metadata = Base.metadata
