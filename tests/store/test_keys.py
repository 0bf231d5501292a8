"""API keys: shown once, stored as a hash, found by secret, revoked for good."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from gazo.store import budgets, keys
from gazo.store.database import Database
from gazo.store.tables import ApiKey, Budget


def test_a_key_is_stored_only_as_its_hash(database: Database) -> None:
    with database.transaction() as session:
        info, secret = keys.create_key(session=session, name="ci", org_name="acme", rpm=5, ipm=10)
    assert secret.startswith("gz-") and len(secret) == 46
    assert info.prefix == secret[:10] and info.org_name == "acme" and (info.rpm, info.ipm) == (5, 10)
    with database.reading() as session:
        stored = session.scalar(select(ApiKey))
        dump = " ".join(str(value) for value in session.execute(text("SELECT * FROM api_keys")).one())
    assert stored is not None
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in dump and secret[10:] not in dump


def test_find_active_key_and_revoke(database: Database) -> None:
    with database.transaction() as session:
        info, secret = keys.create_key(session=session, name="alice", is_admin=True)
        keys.create_key(session=session, name="bob", org_name="acme")
        keys.create_key(session=session, name="carol", org_name="acme")
    with database.reading() as session:
        found = keys.find_active_key(session=session, secret=secret)
        assert found is not None and found.id == info.id and found.is_admin
        assert keys.find_active_key(session=session, secret=secret + "x") is None
        assert keys.any_active_key(session=session)
    with database.transaction() as session:
        assert keys.revoke_key(session=session, key=info.prefix).revoked_at is not None
    with database.reading() as session:
        assert keys.find_active_key(session=session, secret=secret) is None
        listed = keys.list_keys(session=session)
        active = keys.list_keys(session=session, include_revoked=False)
    assert [key.name for key in listed] == ["alice", "bob", "carol"]
    assert [key.name for key in active] == ["bob", "carol"]
    assert {key.org_id for key in active} == {active[0].org_id}  # one organisation, reused


def test_revoke_needs_exactly_one_match(database: Database) -> None:
    with database.transaction() as session:
        keys.create_key(session=session, name="twin")
        keys.create_key(session=session, name="twin")
    with database.transaction() as session, pytest.raises(keys.KeyNotFound, match="2 keys"):
        keys.revoke_key(session=session, key="twin")
    with database.transaction() as session, pytest.raises(keys.KeyNotFound, match="no key"):
        keys.revoke_key(session=session, key="key_nope")


def test_budget_is_created_with_the_key_and_can_change(database: Database) -> None:
    with database.transaction() as session:
        info, _ = keys.create_key(session=session, name="capped", budget_micros=2_000_000)
    with database.transaction() as session:
        budget = budgets.set_budget(session=session, key_id=info.id, limit_micros=3_000_000)
    with database.reading() as session:
        assert session.scalar(select(Budget.limit_micros).where(Budget.id == budget.id)) == 3_000_000
        (listed,) = keys.list_keys(session=session)
    assert (listed.budget_micros, listed.spent_micros) == (3_000_000, 0)
