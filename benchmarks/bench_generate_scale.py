"""The association generator at scale: ``roman-asn generate`` on 10k to 10M rows.

Each size is a synthetic pool (``synth-pool``, mixed survey, seed 0, Parquet; three
programs) run through ``roman-asn generate`` as a whole process, in several modes:

- ``files disk`` / ``files tmpfs``: one JSON file per association, into a folder on
  the disk (``--out-dir``, default ``benchmarks/.scratch/work``) or in ``/dev/shm``;
- ``bundle``: ``--bundle FILE.jsonl`` (one file);
- ``chunked bundle``: ``--chunked --bundle`` (pool split by program on disk first);
- ``dask 2 bundle``: ``--workers 2 --bundle`` (a local two-worker Dask cluster).

For each: wall time, rows/s, peak resident memory (of the main process, and of all
its processes together, sampled), CPU time, associations. The scaling exponent is
a log-log fit of time against rows per mode (1 = linear). The 10M size runs only
``chunked bundle``, on a pool of ten 1M-row blocks with their own programs (30
programs; ``_tasks.py synth_programs``), since peak memory follows the largest
program and the three-program pool's largest has 6M rows; it runs under a memory
guard (``--max-rss-gb``, default 12) that stops it rather than starve the machine.
A last table times the file-creation floor: a bare ``os.open/write/close`` loop
per file, on the disk and on tmpfs.

Run alone: ``python benchmarks/bench_generate_scale.py [--quick] [--sizes 10k,100k]
[--modes bundle,files-tmpfs] [--out-dir DIR]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

from _harness import (
    MAX_RSS_GB,
    WORK_DIR,
    Section,
    add_size_options,
    count_lines,
    human_rows,
    loglog_exponent,
    many_programs_pool,
    measure,
    parse_args,
    roman_asn,
    synth_file,
    write_results,
)

NAME = "generate_scale"
SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
QUICK_SIZES = [10_000]
MODES = ["files-disk", "files-tmpfs", "bundle", "chunked-bundle", "dask2-bundle"]
BIG_MODES = ["chunked-bundle"]  # above BIG rows
BIG = 2_000_000
TMPFS = Path("/dev/shm")
TIMEOUT_S = 3600
FLOOR_FILES = 20_000
QUICK_FLOOR_FILES = 2_000


def generator_missing() -> str | None:
    """Why the benchmark cannot run, or None when it can."""
    try:
        found = importlib.util.find_spec("roman_asn.generator") is not None
    except ImportError:
        found = False
    if not found:
        return (
            "roman_asn.generator is not importable in this environment (the generator is "
            "not on this branch yet); `roman-asn generate` cannot be measured."
        )
    return None


def count_associations(directory: os.PathLike[str]) -> int:
    with os.scandir(directory) as entries:
        return sum(1 for entry in entries if entry.name.endswith("_asn.json"))


def filesystem(path: Path) -> str:
    """The file system type holding ``path`` (longest mount point that contains it)."""
    path = path.resolve()
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, point, fstype, *_ = line.split()
            if (path == Path(point) or Path(point) in path.parents) and len(point) > len(best):
                best, kind = point, fstype
    except OSError:
        pass
    return kind


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def run_mode(pool: Path, rows: int, mode: str, out_dir: Path, max_rss_mb: float) -> dict:
    label = human_rows(rows)
    # the rule set of the scale targets: Level 2 and Level 3 without the sky-cell rules,
    # which multiply the output about tenfold (bench_generate.py measures them)
    command = [roman_asn(), "generate", str(pool), "--no-progress", "--no-skycells"]
    if mode.startswith("files"):
        target = (TMPFS if mode == "files-tmpfs" else out_dir) / f"roman_asn_generate_{label}"
        remove(target)
        command += ["-o", str(target)]
    else:
        target = out_dir / f"roman_asn_generate_{label}.jsonl"
        command += ["--bundle", str(target)]
        if mode.startswith("chunked"):
            command.append("--chunked")
        if mode.startswith("dask2"):
            command += ["--workers", "2"]
    run_ = measure(command, timeout=TIMEOUT_S, max_rss_mb=max_rss_mb)
    entry = {
        "rows": rows,
        "mode": mode,
        "output on": filesystem(target.parent),
        "wall s": run_.wall_s,
        "rows/s": rows / run_.wall_s,
        "peak RSS MB": run_.peak_rss_mb,
        "all processes MB": run_.tree_peak_mb,
        "cpu s": run_.cpu_s,
        "associations": None,
    }
    if run_.ok:
        exists = target.exists()
        if mode.startswith("files"):
            entry["associations"] = count_associations(target) if exists else 0
        else:
            entry["associations"] = count_lines(target) if exists else 0
    else:
        entry["error"] = run_.failure()
    started = time.perf_counter()
    remove(target)
    entry["cleanup s"] = time.perf_counter() - started
    return entry


def file_floor(folder: Path, count: int = FLOOR_FILES) -> dict:
    """µs per file of a bare open/write/close loop (what any writer pays per file)."""
    target = folder / "roman_asn_file_floor"
    remove(target)
    target.mkdir(parents=True)
    data = b"x" * 1500  # about one Level 2 association
    started = time.perf_counter()
    for i in range(count):
        fd = os.open(f"{target}/{i:07d}_asn.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
    seconds = time.perf_counter() - started
    remove(target)
    return {
        "folder": str(folder),
        "file system": filesystem(folder),
        "files": count,
        "us per file": seconds / count * 1e6,
    }


def run(
    sizes: list[int] | None = None,
    quick: bool = False,
    modes: list[str] | None = None,
    out_dir: Path | None = None,
    max_rss_gb: float = MAX_RSS_GB,
) -> list[Section]:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    out_dir = Path(out_dir or WORK_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    section = Section(
        name=NAME,
        title="Association generator scaling (roman-asn generate, whole process)",
        columns=[
            "rows",
            "mode",
            "output on",
            "wall s",
            "rows/s",
            "peak RSS MB",
            "all processes MB",
            "cpu s",
            "associations",
        ],
    )
    floor = Section(
        name=NAME + "_file_floor",
        title="File creation floor (bare os.open/write/close of 1.5 kB files)",
        columns=["folder", "file system", "files", "us per file"],
    )
    reason = generator_missing()
    if reason:
        section.skipped = floor.skipped = reason
        print(f"  skipped: {reason}", file=sys.stderr)
        return [section, floor]
    for rows in sizes:
        big = rows > BIG
        pool = many_programs_pool(rows) if big else synth_file(rows, "parquet")
        for mode in modes or (BIG_MODES if big else MODES):
            if mode == "files-tmpfs" and not TMPFS.is_dir():
                continue
            entry = run_mode(pool, rows, mode, out_dir, max_rss_gb * 1024)
            entry["pool"] = "30 programs" if big else "3 programs"
            section.rows.append(entry)
            print(
                f"  generate {rows:>11,} rows {mode:>15}: {entry['wall s']:.1f} s, "
                f"{entry['peak RSS MB']:,.0f} MB ({entry['all processes MB']:,.0f} MB all), "
                f"{entry['associations'] or 0:,} associations {entry.get('error', '')}",
                file=sys.stderr,
            )
            if "error" in entry:
                section.notes.append(f"{human_rows(rows)} rows, {mode}: {entry['error']}")
    for mode in dict.fromkeys(r["mode"] for r in section.rows):
        done = [r for r in section.rows if r["mode"] == mode and "error" not in r]
        exponent = loglog_exponent([r["rows"] for r in done], [r["wall s"] for r in done])
        if exponent is not None:
            section.notes.append(f"Scaling exponent, {mode}: {exponent:.2f} (log-log fit).")
    section.notes += [
        "Pools: synth-pool --survey mixed --seed 0, Parquet (programs 1, 2, 9: 60% HLWAS, "
        f"40% GBTDS, 2% calibration); above {human_rows(BIG)} rows, 1M-row blocks with "
        "their own programs (`_tasks.py synth_programs`).",
        "peak RSS MB: the main process (ru_maxrss); all processes MB: the whole process "
        "tree sampled every 0.5 s (Dask workers included).",
        "Wall time includes interpreter start-up (about 0.4 s) and, for --chunked, "
        "splitting the pool into per-program Parquet pieces.",
    ]
    for folder in (out_dir, TMPFS):
        if folder.is_dir():
            floor.rows.append(file_floor(folder, QUICK_FLOOR_FILES if quick else FLOOR_FILES))
    floor.notes.append(
        "µs per file equals seconds per million files: the least any writer of one file "
        "per association pays on that file system."
    )
    return [section, floor]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Association generator scaling")
    add_size_options(parser)
    parser.add_argument("--modes", default=None, help=f"comma-separated, of {','.join(MODES)}")
    parser.add_argument("--out-dir", type=Path, default=None, help="where outputs are written")
    parser.add_argument("--max-rss-gb", type=float, default=MAX_RSS_GB)
    args = parse_args(parser, argv, NAME)
    modes = [m.strip() for m in args.modes.split(",")] if args.modes else None
    unknown = sorted(set(modes or []) - set(MODES))
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}")
    sections = run(args.sizes, args.quick, modes, args.out_dir, args.max_rss_gb)
    stem = NAME + ("_quick" if args.quick else "")
    paths = write_results(stem, "Association generator scaling", sections)
    for section in sections:
        print(section.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
