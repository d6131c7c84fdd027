"""The association catalog: first ingest against ``generate --bundle``, a day's ingest
into catalogs of growing size, and query latency.

For each catalog size N a synthetic survey pool (mixed, seed 0, with footprints,
default rules: sky cells included) of N + one day of rows is sorted by
``start_time``; the first N rows are the catalog, the next DAY_ROWS (about 14k
detector files, one day of WFI data) the day. Measured, each as a whole process:

- ``roman-asn generate BASE --bundle`` and ``roman-asn catalog ingest CAT BASE``
  (the first ingest; the issue asks for at most 3x generate);
- ``roman-asn catalog ingest CAT DAY --changes FILE`` (a daily ingest end to end, its
  change list written by the same process), then ``roman-asn catalog changes CAT
  --json`` as a reader would ask for it afterwards (checked to be the same list);
- ``catalog find`` and ``catalog cell`` latency inside one process (interpreter
  start-up excluded): the median of 20 calls on files and cells of the catalog.

``--postgres URL`` also loads each catalog into that PostgreSQL server (a database
per size) and measures the same there.

Run alone: ``python benchmarks/bench_catalog.py [--quick] [--sizes 100k,300k,1M]
[--postgres postgresql://...] [--no-sqlite] [--record]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
from _harness import (
    WORK_DIR,
    Section,
    add_size_options,
    human_rows,
    measure,
    parse_args,
    python,
    roman_asn,
    synth_file,
    write_results,
)

NAME = "catalog"
SIZES = [100_000, 300_000, 1_000_000]
QUICK_SIZES = [10_000]
DAY_ROWS = 14_004  # 778 exposures x 18 detectors
QUICK_DAY_ROWS = 1_800
TIMEOUT_S = 7200

LATENCY = r"""
import json, statistics, sys, time
import polars as pl
from roman_asn.catalog import Catalog
location, pool = sys.argv[1], sys.argv[2]
names = pl.read_parquet(pool, columns=["filename"])["filename"]
files = names.gather(list(range(0, len(names), max(1, len(names) // 20)))[:20]).to_list()
with Catalog.open(location) as catalog:
    cells = sorted({e["skycell"] for f in files[:5] for e in catalog.find(f) if e["skycell"]})
    def median_ms(call, values):
        times = []
        for v in values:
            t = time.perf_counter(); call(v); times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000
    catalog.find(files[0])  # warm the connection
    out = {"find ms": median_ms(catalog.find, files),
           "cell ms": median_ms(catalog.cell, (cells * 20)[:20]) if cells else None}
print(json.dumps(out))
"""


def _split(rows: int, day_rows: int) -> tuple:
    pool = synth_file(rows + day_rows, "parquet")
    base = WORK_DIR / f"catalog_base_{human_rows(rows)}.parquet"
    day = WORK_DIR / f"catalog_day_{human_rows(rows)}.parquet"
    if not base.exists() or not day.exists():
        table = pl.read_parquet(pool).sort(["start_time", "filename"])
        table.head(rows).write_parquet(base)
        table.slice(rows, day_rows).write_parquet(day)
    return base, day


def _latency(location: str, pool) -> dict:
    done = subprocess.run(
        [python(), "-c", LATENCY, location, str(pool)], capture_output=True, text=True
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout)


def run(
    sizes=None,
    quick: bool = False,
    postgres: str | None = None,
    sqlite: bool = True,
    keep: bool = False,
) -> Section:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    day_rows = QUICK_DAY_ROWS if quick else DAY_ROWS
    section = Section(
        name=NAME,
        title="Catalog: first ingest, a day's ingest, queries (SQLite unless stated)",
        columns=[
            "catalog rows",
            "backend",
            "generate --bundle s",
            "first ingest s",
            "ratio",
            "first ingest MB",
            "day rows",
            "day total s",
            "day ingest MB",
            "changes s",
            "same list",
            "find ms",
            "cell ms",
            "associations",
        ],
    )
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    for rows in sizes:
        base, day = _split(rows, day_rows)
        bundle = WORK_DIR / f"catalog_{human_rows(rows)}.jsonl"
        generated = measure(
            [roman_asn(), "generate", str(base), "--no-progress", "--bundle", str(bundle)],
            timeout=TIMEOUT_S,
        )
        bundle.unlink(missing_ok=True)
        locations = [("sqlite", str(WORK_DIR / f"catalog_{human_rows(rows)}.db"))] if sqlite else []
        if postgres:
            locations.append(("postgresql", _pg_database(postgres, f"bench_{human_rows(rows)}")))
        for backend, location in locations:
            if backend == "sqlite":  # (the PostgreSQL database was made afresh above)
                _remove(backend, location, postgres)
            try:
                _measure_backend(section, rows, backend, location, base, day, day_rows, generated)
            finally:
                if not keep:  # a 1M-row catalog is 11 GB: three sizes filled a 64 GB disk
                    _remove(backend, location, postgres)
    section.notes += [
        "Pools: synth-pool --survey mixed --seed 0 (Parquet, footprints), sorted by "
        "start_time: the first N rows are the catalog, the next rows the day.",
        "day total: the day's `catalog ingest DAY --changes FILE`, a whole process "
        "(interpreter start-up included), change list written; changes: `catalog changes "
        "--json` afterwards, its own process; same list: the two lists are the same bytes.",
        "find / cell: median of 20 calls in one process, start-up excluded.",
    ]
    return section


def _remove(backend: str, location: str, server: str | None) -> None:
    """Delete a benchmark catalog (SQLite files, or the PostgreSQL database)."""
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(location + suffix).unlink(missing_ok=True)
        return
    import sqlalchemy as sa

    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"DROP DATABASE IF EXISTS {location.rsplit('/', 1)[1]} WITH (FORCE)"
        )
    admin.dispose()


def _measure_backend(section, rows, backend, location, base, day, day_rows, generated) -> None:
    """First ingest, the day, the change list and the queries on one backend."""
    first = measure(
        [roman_asn(), "catalog", "ingest", location, str(base), "--json"],
        timeout=TIMEOUT_S,
    )
    entry = {
        "catalog rows": rows,
        "backend": backend,
        "generate --bundle s": generated.wall_s,
        "first ingest s": first.wall_s,
        "ratio": first.wall_s / generated.wall_s if generated.wall_s else None,
        "first ingest MB": first.peak_rss_mb,
        "day rows": day_rows,
    }
    if not first.ok:
        entry["error"] = first.failure()
        section.rows.append(entry)
        return
    entry["associations"] = json.loads(first.stdout)["new"]
    change_file = Path(base).with_name(f"{Path(base).stem}_{backend}_changes.json")
    daily = measure(
        [roman_asn(), "catalog", "ingest", location, str(day), "--json"]
        + ["--changes", str(change_file)],
        timeout=TIMEOUT_S,
    )
    changes = measure([roman_asn(), "catalog", "changes", location, "--json"])
    entry.update(
        {
            "day total s": daily.wall_s,
            "day ingest MB": daily.peak_rss_mb,
            "changes s": changes.wall_s,
            **_latency(location, base),
        }
    )
    failed = [step.failure() for step in (daily, changes) if not step.ok]
    if daily.ok and changes.ok:
        # the ingest's own change list is the one a reader gets afterwards
        entry["same list"] = "yes" if change_file.read_text() == changes.stdout else "NO"
    change_file.unlink(missing_ok=True)
    if failed:
        entry["error"] = "; ".join(failed)
    if daily.ok:
        counts = json.loads(daily.stdout)
        section.notes.append(
            f"{human_rows(rows)} {backend}: the day made {counts['new']:,} new, "
            f"{counts['changed']:,} changed, {counts['retired']:,} retired associations"
        )
    section.rows.append(entry)
    print(f"  {entry}", file=sys.stderr)


def _pg_database(server: str, name: str) -> str:
    import sqlalchemy as sa

    name = name.lower()  # PostgreSQL folds unquoted names: bench_1M is bench_1m

    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser)
    parser.add_argument("--postgres", default=None, help="postgresql:// URL of a test server")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--keep", action="store_true", help="keep the catalogs (benchmarks/.scratch, databases)"
    )
    args = parse_args(parser, argv, NAME)
    section = run(args.sizes, args.quick, args.postgres, sqlite=not args.no_sqlite, keep=args.keep)
    paths = write_results(NAME + ("_quick" if args.quick else ""), "Association catalog", [section])
    print(section.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
