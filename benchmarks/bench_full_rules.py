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

A second table times the bundle writer alone on one pool's associations (200k rows,
``--parts-rows``; ``--quick``: 10k): one part (written straight) against the same
associations in 4 and 16 parts (``--quick``: 4) split by a hash of the file name
(sorted runs merged on closing), JSON lines and Parquet, each write its own process;
it checks that every bundle has the bytes of the one-part bundle.

A third table (``--workers-only``, results ``full_rules_workers.{md,json}``) runs one
pool of programs (``--workers-rows``, default 3M rows: 9 programs; ``--quick``: 20k)
with ``--chunked --bundle FILE.parquet`` serially and on a local Dask cluster of 1
and 2 workers (``--workers N``), and checks every bundle has the serial one's bytes.

Run alone: ``python benchmarks/bench_full_rules.py [--quick] [--sizes 100k,300k]
[--parts-rows 200k] [--parts-only] [--workers-only] [--record] [--max-rss-gb 12]``
(``--parts-only``: results ``full_rules_parts.{md,json}``).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from _harness import (
    BENCH_DIR,
    MAX_RSS_GB,
    WORK_DIR,
    Section,
    add_size_options,
    count_lines,
    human_rows,
    many_programs_pool,
    measure,
    parse_args,
    parse_size,
    python,
    roman_asn,
    synth_file,
    write_results,
)

NAME = "full_rules"
SIZES = [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000]
QUICK_SIZES = [10_000]
TIMEOUT_S = 3600
PARTS_ROWS = 200_000
QUICK_PARTS_ROWS = 10_000
PARTS = (1, 4, 16)
QUICK_PARTS = (1, 4)
TMPFS = Path("/dev/shm")
CHUNKED_ABOVE = 1_000_000  # larger: 1M-row blocks of own programs, --chunked, Parquet bundle
# files on tmpfs up to this size: each takes a 4 KB page (1M rows: 5M files, 20 GB)
FILES_UP_TO = 300_000


def _records(bundle: Path) -> int:
    if bundle.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(bundle).metadata.num_rows
    return count_lines(bundle)


def _process_figures(run_) -> dict:
    """Wall time, memory and CPU of one measured command, as every table reports them."""
    return {
        "wall s": run_.wall_s,
        "peak RSS MB": run_.peak_rss_mb,
        "all processes MB": run_.tree_peak_mb,
        "cpu s": run_.cpu_s,
    }


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
    parts_rows: int | None = None,
) -> list[Section]:
    rows = parts_rows or (QUICK_PARTS_ROWS if quick else PARTS_ROWS)
    parts = QUICK_PARTS if quick else PARTS
    return [
        run_sizes(sizes, quick, max_rss_gb, files_up_to),
        run_parts(rows, max_rss_gb, parts),
    ]


def run_sizes(
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
        entry = {"rows": rows, **_process_figures(run_)}
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


def run_parts(
    rows: int, max_rss_gb: float = MAX_RSS_GB, counts: tuple[int, ...] = PARTS
) -> Section:
    """The bundle writer alone: one part against 4 and 16 interleaved parts."""
    section = Section(
        name="bundle_parts",
        title=f"Bundle writer, one part against several (full rules, {human_rows(rows)} rows)",
        columns=[
            "format",
            "parts",
            "associations",
            "write s",
            "vs one part",
            "write CPU s",
            "memory before MB",
            "peak during write MB",
            "bundle MB",
            "same bytes",
        ],
    )
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    tasks = str(BENCH_DIR / "_tasks.py")
    table = WORK_DIR / f"full_rules_{human_rows(rows)}_associations.parquet"
    if not table.exists():
        made = measure(
            [python(), tasks, "associations", str(synth_file(rows, "parquet")), str(table)],
            timeout=TIMEOUT_S,
            max_rss_mb=max_rss_gb * 1024,
        )
        if not made.ok:
            section.notes.append(f"generating {human_rows(rows)} rows: {made.failure()}")
            return section
    for suffix in (".jsonl", ".parquet"):
        first = WORK_DIR / f"bundle_parts_1{suffix}"
        one_s = None
        for parts in counts:
            bundle = WORK_DIR / f"bundle_parts_{parts}{suffix}"
            bundle.unlink(missing_ok=True)
            command = [python(), tasks, "bundle_parts", str(table), str(bundle), str(parts)]
            run_ = measure(command, timeout=TIMEOUT_S, max_rss_mb=max_rss_gb * 1024)
            entry: dict = {"format": suffix[1:], "parts": parts}
            if run_.ok:
                done = run_.json_line()
                one_s = done["seconds"] if parts == 1 else one_s
                entry |= {
                    "associations": done["associations"],
                    "write s": done["seconds"],
                    "vs one part": done["seconds"] / one_s if one_s else None,
                    "write CPU s": done["cpu_seconds"],
                    "memory before MB": done["rss_before_write_mb"],
                    "peak during write MB": done["write_peak_mb"],
                    "bundle MB": bundle.stat().st_size / 1e6,
                    "same bytes": "yes" if filecmp.cmp(first, bundle, shallow=False) else "NO",
                }
            else:
                entry["error"] = run_.failure()
                section.notes.append(f"{suffix} {parts} parts: {run_.failure()}")
            section.rows.append(entry)
            print(
                f"  bundle {suffix} {parts:>2} parts: {entry.get('write s', 0):.1f} s, "
                f"{entry.get('peak during write MB', 0):,.0f} MB {entry.get('error', '')}",
                file=sys.stderr,
            )
            if parts > 1:
                bundle.unlink(missing_ok=True)
        first.unlink(missing_ok=True)
    section.notes += [
        "Each write its own process: the association table of "
        f"`synth-pool` {human_rows(rows)} rows (default rules) read from Parquet, split by a "
        "hash of the file name into the parts (every part spans the whole name range), "
        "then `write_bundle(parts, FILE)` timed alone, into benchmarks/.scratch/work.",
        "write CPU s: CPU time of the process (all threads) during the write. "
        "memory before: resident after splitting; peak during write: resident memory "
        "sampled every 20 ms during the write. same bytes: compared with the one-part "
        "bundle.",
    ]
    return section


WORKERS_ROWS = 3_000_000
QUICK_WORKERS_ROWS = 20_000
WORKERS = (0, 1, 2)  # 0: no Dask


def run_workers(
    rows: int, max_rss_gb: float = MAX_RSS_GB, counts: tuple[int, ...] = WORKERS
) -> Section:
    """One pool of programs, serially and on local Dask clusters: time and bytes."""
    section = Section(
        name="workers",
        title=f"Dask workers, full rules, {human_rows(rows)} rows, --chunked --bundle parquet",
        columns=[
            "workers",
            "wall s",
            "vs serial",
            "peak RSS MB",
            "all processes MB",
            "cpu s",
            "associations",
            "same bytes",
        ],
    )
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    pool = many_programs_pool(rows)
    first = WORK_DIR / "full_rules_workers_0.parquet"
    serial_s = None
    for workers in counts:
        bundle = WORK_DIR / f"full_rules_workers_{workers}.parquet"
        bundle.unlink(missing_ok=True)
        command = [
            roman_asn(),
            "generate",
            str(pool),
            "--no-progress",
            "--chunked",
            "--bundle",
            str(bundle),
        ]
        command += ["--workers", str(workers)] if workers else []
        run_ = measure(command, timeout=TIMEOUT_S, max_rss_mb=max_rss_gb * 1024)
        entry: dict = {"workers": workers or "none (serial)"}
        if run_.ok and bundle.exists():
            serial_s = run_.wall_s if not workers else serial_s
            entry |= {
                **_process_figures(run_),
                "vs serial": run_.wall_s / serial_s if serial_s else None,
                "associations": _records(bundle),
                "same bytes": "yes" if filecmp.cmp(first, bundle, shallow=False) else "NO",
            }
        else:
            entry["error"] = run_.failure()
            section.notes.append(f"{workers} workers: {run_.failure()}")
        section.rows.append(entry)
        print(
            f"  workers {workers}: {entry.get('wall s', 0):.1f} s {entry.get('error', '')}",
            file=sys.stderr,
        )
        if workers:
            bundle.unlink(missing_ok=True)
    first.unlink(missing_ok=True)
    section.notes += [
        "Pool: 1M-row blocks with their own programs (3 programs per 1M rows); each run "
        "`roman-asn generate POOL --chunked --bundle FILE.parquet [--workers N]`, a whole "
        "process; cpu s: the process tree's user + system time. same bytes: compared with "
        "the serial bundle.",
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
    parser.add_argument(
        "--parts-rows", type=parse_size, default=None, help="pool rows of the bundle-parts table"
    )
    parser.add_argument("--parts-only", action="store_true", help="only the bundle-parts table")
    parser.add_argument("--workers-only", action="store_true", help="only the Dask table")
    parser.add_argument(
        "--workers-rows", type=parse_size, default=None, help="pool rows of the Dask table"
    )
    args = parse_args(parser, argv, NAME)
    if args.workers_only:
        rows = args.workers_rows or (QUICK_WORKERS_ROWS if args.quick else WORKERS_ROWS)
        sections = [run_workers(rows, args.max_rss_gb)]
    elif args.parts_only:
        rows = args.parts_rows or (QUICK_PARTS_ROWS if args.quick else PARTS_ROWS)
        sections = [run_parts(rows, args.max_rss_gb, QUICK_PARTS if args.quick else PARTS)]
    else:
        sections = run(args.sizes, args.quick, args.max_rss_gb, args.files_up_to, args.parts_rows)
    stem = NAME + ("_parts" if args.parts_only else "") + ("_workers" if args.workers_only else "")
    stem += "_quick" if args.quick else ""
    paths = write_results(stem, "Full default rules", sections)
    for section in sections:
        print(section.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
