"""The association catalog: associations that grow as exposures arrive, keep their
names, are versioned, found again by file or sky position, and say what is stale."""

from roman_asn.catalog.catalog import Catalog, RunReport, export
from roman_asn.catalog.store import CatalogError

__all__ = ["Catalog", "CatalogError", "RunReport", "export"]
