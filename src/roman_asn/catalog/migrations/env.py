"""Alembic environment: the connection comes from the caller (``config.attributes``)."""

from __future__ import annotations

from alembic import context

from roman_asn.catalog.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    on_version_apply=context.config.attributes.get("on_version_apply"),  # store.upgrade
)
with context.begin_transaction():
    context.run_migrations()
