"""The full default rules (sky cells included) at survey scale: ``generate --bundle``.

Roman's Level 3 is the sky-cell products (visit, pass and full per cell, their
multiband sets), so this is the rule set that matters at scale, unlike
``bench_generate_scale.py`` which leaves the sky-cell rules out. Each size is a
synthetic pool with footprints (``synth-pool``, mixed survey, seed 0, Parquet) run
through ``roman-asn generate POOL --bundle FILE.jsonl`` as a whole process: wall
time, peak resident memory (main process and the whole process tree), CPU time,
associations (bundle records) and bundle size; up to 1M rows also with one file per
association into a folder on tmpfs. Above 1M rows the pool is 1M-row blocks with
their own programs (30 programs at 10M) run with ``--chunked --bundle FILE.parquet``
(a JSON-lines bundle would be about 7 GB per 1M rows).

Sizes: 100k, 300k, 1M, 3M, 10M rows (``--quick``: 10k). Every run is under a
memory guard (``--max-rss-gb``, default 12) that stops it rather than starve a
shared machine; a stopped run is reported as such.

Run alone: ``python benchmarks/bench_full_rules.py [--quick] [--sizes 100k,300k]
[--record] [--max-rss-gb 12]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _harness import (
    MAX_RSS_GB,
    WORK_DIR,
    Section,
    add_size_options,
    count_lines,
    human_rows,
    many_programs_pool,
    measure,
    parse_args,
    roman_asn,
    synth_file,
    write_results,
)

NAME = "full_rules"
SIZES = [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000]
QUICK_SIZES = [10_000]
TIMEOUT_S = 3600
TMPFS = Path("/dev/shm")
CHUNKED_ABOVE = 1_000_000  # larger: 1M-row blocks of own programs, --chunked, Parquet bundle
# files on tmpfs up to this size: each takes a 4 KB page (1M rows: 5M files, 20 GB)
FILES_UP_TO = 300_000


def _records(bundle: Path) -> int:
    if bundle.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(bundle).metadata.num_rows
    return count_lines(bundle)


def _files_on_tmpfs(pool, rows: int, max_rss_gb: float) -> dict:
    """The same run writing one file per association into a folder on tmpfs (RAM)."""
    if not TMPFS.is_dir():
        return {}
    folder = Path(tempfile.mkdtemp(prefix="roman-asn-bench-files-", dir=TMPFS))
    try:
        command = [roman_asn(), "generate", str(pool), "--no-progress", "-o", str(folder)]
        run_ = measure(command, timeout=TIMEOUT_S, max_rss_mb=max_rss_gb * 1024)
        if not run_.ok:
            return {"files on tmpfs s": run_.failure()}
        return {"files on tmpfs s": run_.wall_s, "files peak RSS MB": run_.peak_rss_mb}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(
    sizes: list[int] | None = None,
    quick: bool = False,
    max_rss_gb: float = MAX_RSS_GB,
    files_up_to: int = FILES_UP_TO,
) -> Section:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    section = Section(
        name=NAME,
        title="Full default rules (sky cells included), generate --bundle, whole process",
        columns=[
            "rows",
            "wall s",
            "peak RSS MB",
            "all processes MB",
            "cpu s",
            "associations",
            "bundle MB",
            "files on tmpfs s",
            "files peak RSS MB",
        ],
    )
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    for rows in sizes:
        big = rows > CHUNKED_ABOVE
        pool = many_programs_pool(rows) if big else synth_file(rows, "parquet")
        # a JSON-lines bundle is ~7 GB per 1M rows: above that, Parquet (zstd)
        bundle = WORK_DIR / f"full_rules_{human_rows(rows)}.{'parquet' if big else 'jsonl'}"
        bundle.unlink(missing_ok=True)
        command = [roman_asn(), "generate", str(pool), "--no-progress", "--bundle", str(bundle)]
        command += ["--chunked"] if big else []
        run_ = measure(command, timeout=TIMEOUT_S, max_rss_mb=max_rss_gb * 1024)
        entry = {
            "rows": rows,
            "wall s": run_.wall_s,
            "peak RSS MB": run_.peak_rss_mb,
            "all processes MB": run_.tree_peak_mb,
            "cpu s": run_.cpu_s,
        }
        if run_.ok and bundle.exists():
            entry["associations"] = _records(bundle)
            entry["bundle MB"] = bundle.stat().st_size / 1e6
        else:
            entry["error"] = run_.failure()
            section.notes.append(f"{human_rows(rows)} rows: {run_.failure()}")
        bundle.unlink(missing_ok=True)
        if files_up_to and rows <= files_up_to and run_.ok:
            entry.update(_files_on_tmpfs(pool, rows, max_rss_gb))
        section.rows.append(entry)
        print(
            f"  full rules {rows:>11,} rows: {run_.wall_s:.1f} s, {run_.peak_rss_mb:,.0f} MB, "
            f"{entry.get('associations', 0):,} associations {entry.get('error', '')}",
            file=sys.stderr,
        )
    section.notes += [
        "Pools: synth-pool --survey mixed --seed 0, Parquet, with footprints; "
        "`roman-asn generate POOL --bundle FILE.jsonl` (default rules, sky cells included); "
        "above 1M rows: 1M-row blocks with their own programs (30 programs at 10M), "
        "`--chunked --bundle FILE.parquet`; "
        "files on tmpfs: `roman-asn generate POOL -o DIR` with DIR on /dev/shm.",
        "peak RSS MB: the main process (ru_maxrss); all processes MB: the process tree "
        "sampled every 0.5 s.",
    ]
    return section


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser)
    parser.add_argument("--max-rss-gb", type=float, default=MAX_RSS_GB)
    parser.add_argument(
        "--files-up-to",
        type=int,
        default=FILES_UP_TO,
        help="also write one file per association to tmpfs for sizes up to this (0: never)",
    )
    args = parse_args(parser, argv, NAME)
    section = run(args.sizes, args.quick, args.max_rss_gb, args.files_up_to)
    paths = write_results(NAME + ("_quick" if args.quick else ""), "Full default rules", [section])
    print(section.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
