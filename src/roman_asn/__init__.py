"""roman-asn: associations for the Nancy Grace Roman Space Telescope Wide Field Instrument."""

from roman_asn._version import __version__
from roman_asn.association import Association, Member, Product, load_asn
from roman_asn.errors import AssociationError, PoolError, RomanAsnError
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool, read_pool, write_pool
from roman_asn.rules.loader import load_rules
from roman_asn.run import run

__all__ = [
    "Association",
    "AssociationError",
    "GenerateOptions",
    "GenerationResult",
    "Member",
    "Pool",
    "PoolError",
    "Product",
    "RomanAsnError",
    "__version__",
    "generate",
    "load_asn",
    "load_rules",
    "read_pool",
    "run",
    "write_pool",
]
