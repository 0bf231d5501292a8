"""`gazo keys create | list | revoke`: API keys, their limits and monthly budgets."""

from __future__ import annotations

from pathlib import Path

import click

from gazo.billing.prices import micros_to_usd, usd_to_micros
from gazo.cli.db import open_database
from gazo.cli.options import settings_options
from gazo.cli.tables import print_table
from gazo.store import budgets
from gazo.store import keys as key_store


@click.group()
def keys() -> None:
    """API keys (`Authorization: Bearer gz-...`)."""


@keys.command()
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--org", "org_name", help="Organisation the key belongs to (created if new).")
@click.option("--budget-usd", type=click.FloatRange(min=0), help="Monthly budget; unset = unlimited.")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute (default: billing.default_rpm).")
@click.option("--ipm", type=click.IntRange(min=1), help="Images per minute (default: billing.default_ipm).")
@click.option("--admin", is_flag=True, help="May read usage and costs of its organisation (or all).")
@settings_options
def create(
    name: str,
    org_name: str | None,
    budget_usd: float | None,
    rpm: int | None,
    ipm: int | None,
    admin: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Create a key and print it: this is the only time it is shown."""
    database = open_database(config_file, data_dir)
    try:
        with database.transaction() as session:
            info, secret = key_store.create_key(
                session=session,
                name=name,
                org_name=org_name,
                is_admin=admin,
                rpm=rpm,
                ipm=ipm,
                budget_micros=usd_to_micros(budget_usd) if budget_usd is not None else None,
            )
    finally:
        database.dispose()
    click.echo(secret)
    click.echo(f"created {info.id} ({name}); store the key now, gazo keeps only its hash", err=True)


@keys.command("list")
@click.option("--active", is_flag=True, help="Leave out revoked keys.")
@settings_options
def list_keys(active: bool, data_dir: Path | None, config_file: Path | None) -> None:
    """List keys with their limits, budget and this month's spend."""
    database = open_database(config_file, data_dir)
    try:
        with database.reading() as session:
            rows = key_store.list_keys(session=session, include_revoked=not active)
    finally:
        database.dispose()
    columns = ("id", "name", "key", "org", "admin", "rpm", "ipm", "budget $", "spent $", "created", "revoked")
    print_table(
        columns,
        [
            (
                key.id,
                key.name,
                f"{key.prefix}…",
                key.org_name,
                "yes" if key.is_admin else "",
                key.rpm,
                key.ipm,
                f"{micros_to_usd(key.budget_micros):.2f}" if key.budget_micros is not None else "",
                f"{micros_to_usd(key.spent_micros):.4f}" if key.spent_micros is not None else "",
                key.created_at.strftime("%Y-%m-%d %H:%M"),
                key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
            )
            for key in rows
        ],
        keep=("id", "name", "key", "created"),
        empty="no keys yet; create one with `gazo keys create --name NAME` (the server runs open until then)",
    )


@keys.command()
@click.argument("key")
@settings_options
def revoke(key: str, data_dir: Path | None, config_file: Path | None) -> None:
    """Revoke KEY (its id, the prefix `keys list` shows, or its name); it fails from the next request."""
    database = open_database(config_file, data_dir)
    try:
        with database.transaction() as session:
            info = key_store.revoke_key(session=session, key=key)
    except key_store.KeyNotFound as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()
    click.echo(f"revoked {info.id} ({info.name})")


@keys.command()
@click.argument("key")
@click.option("--usd", type=click.FloatRange(min=0), required=True, help="New monthly budget in USD.")
@settings_options
def budget(key: str, usd: float, data_dir: Path | None, config_file: Path | None) -> None:
    """Set the monthly budget of KEY (id, prefix or name)."""
    database = open_database(config_file, data_dir)
    try:
        with database.transaction() as session:
            record = key_store.find_key(session=session, key=key)
            budgets.set_budget(session=session, key_id=record.id, limit_micros=usd_to_micros(usd))
    except key_store.KeyNotFound as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()
    click.echo(f"{record.id} ({record.name}): ${usd:.2f} a month")
