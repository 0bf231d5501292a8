"""Persistence: tables, sessions, migrations and the repository functions the billing code calls.

SQLAlchemy and Alembic are imported only inside this package. Repositories are plain functions with
keyword-only arguments that take the session they run in, so the caller decides what one
transaction covers (billing settles a budget and writes a usage row in the same one).
"""
