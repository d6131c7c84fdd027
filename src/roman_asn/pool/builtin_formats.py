"""The pool formats roman-asn knows: legacy pipe-delimited, plain CSV, ECSV, Parquet.

Registration order is identification order: Parquet by its magic bytes (or
suffix), ECSV by its first line (or suffix), then delimited text, legacy when its
header line holds ``|``, plain CSV otherwise.
"""

from __future__ import annotations

from roman_asn.pool import writer
from roman_asn.pool.batches import parquet_batches, text_batches, whole_batches
from roman_asn.pool.formats import PoolFormat, register_format
from roman_asn.pool.reader import read_ecsv_source, read_parquet_source, read_text_source
from roman_asn.pool.text_table import first_content_line

PARQUET_SUFFIXES = (".parquet", ".pq")


def _is_parquet(head: bytes, suffix: str) -> bool:
    return head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES


def _is_ecsv(head: bytes, suffix: str) -> bool:
    return suffix == ".ecsv" or head.lstrip().startswith(b"# %ECSV")


def _is_legacy(head: bytes, suffix: str) -> bool:
    return "|" in first_content_line(head.replace(b"\r", b"\n"))


register_format(
    PoolFormat(
        "parquet",
        _is_parquet,
        read_parquet_source,
        parquet_batches,
        writer.write_parquet,
        PARQUET_SUFFIXES,
        "Apache Parquet (candidates as a list of (id, type) structs)",
    )
)
register_format(
    PoolFormat(
        "ecsv",
        _is_ecsv,
        read_ecsv_source,
        whole_batches,
        writer.write_ecsv_pool,
        (".ecsv",),
        "astropy's Enhanced CSV",
    )
)
register_format(
    PoolFormat(
        "legacy",
        _is_legacy,
        read_text_source,
        text_batches,
        writer.write_legacy,
        (".csv", ".txt"),
        "JWST/romancal pipe-delimited pool",
    )
)
register_format(
    PoolFormat(
        "csv",
        lambda head, suffix: True,
        read_text_source,
        text_batches,
        writer.write_csv,
        (),
        "comma-separated values with a header line",
    )
)
