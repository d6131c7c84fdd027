"""Alembic migrations of the catalog schema (run through :mod:`roman_asn.catalog.store`)."""
