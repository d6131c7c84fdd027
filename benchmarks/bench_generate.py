"""Benchmark ``roman-asn generate``: synthetic detector-level pools
(``roman_asn.synth.synth_pool``, mixed survey, seed 1) of 10k, 100k and 1M rows ->
every association, files written. Reports read / generate / write separately, for
the default rules without and with the sky-cell rules, and the bare file-creation
floor of the output folder (an os.open/os.write/os.close loop, no rename) so the
table shows how close the writer is to what the file system allows. Each run is a
fresh subprocess (peak RSS from the child's getrusage). Writes generate.{md,json}
to the results folder (``benchmarks/results`` only with ``--record``; runs of other
labels/sizes already there are kept). ``--quick``: 2k rows only.

    .venv/bin/python benchmarks/bench_generate.py --out-dir /dev/shm/bench --label tmpfs
    .venv/bin/python benchmarks/bench_generate.py --out-dir /tmp/bench --label disk

``/dev/shm`` is tmpfs (memory): it measures our code. A disk folder adds the
file system's cost per file creation, which on shared VMs varies widely.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import add_record_option, machine, parse_args, results_dir

QUICK_SIZES = [2_000]
FLOOR_FILES = 20_000
QUICK_FLOOR_FILES = 2_000

CHILD = r"""
import json, resource, sys, time
from roman_asn.generator.engine import generate
from roman_asn.rules.loader import load_rules, without_skycells
from roman_asn.generator.writer import write_associations
from roman_asn.pool import read_pool

pool_path, out_dir, skycells = sys.argv[1], sys.argv[2], sys.argv[3] == "on"
rules = load_rules() if skycells else without_skycells(load_rules())
t0 = time.perf_counter()
pool = read_pool(pool_path)
t1 = time.perf_counter()
result = generate(pool, rules)
t2 = time.perf_counter()
paths = write_associations(result, out_dir)
t3 = time.perf_counter()
print(json.dumps({
    "read_s": t1 - t0, "generate_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0,
    "associations": result.associations.height, "orphans": result.orphans.height,
    "files": len(paths), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def file_floor(folder: Path, count: int, size: int = 1500) -> float:
    """Seconds per file of a bare create/write/close loop in ``folder`` (the floor)."""
    target = folder / "floor"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    data = b"x" * size
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    started = time.perf_counter()
    for i in range(count):
        fd = os.open(f"{target}/r00001-a3{i:07d}_image_001_asn.json", flags, 0o644)
        os.write(fd, data)
        os.close(fd)
    seconds = time.perf_counter() - started
    shutil.rmtree(target, ignore_errors=True)
    return seconds / count


def make_pool(rows: int, path: Path) -> None:
    from roman_asn.synth import synth_pool

    synth_pool(max(1, round(rows / 18)), seed=1).table.drop("pool_row").write_parquet(path)


def run(size: int, skycells: str, pool_path: Path, out_root: Path) -> dict:
    out_dir = out_root / f"out_{size}_{skycells}"
    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(pool_path), str(out_dir), skycells],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    written = sum(1 for e in os.scandir(out_dir) if not e.name.startswith("."))
    shutil.rmtree(out_dir, ignore_errors=True)
    figures.update(
        rows=size,
        skycells=skycells,
        wall_s=wall,
        files_on_disk=written,
        write_us_per_file=1e6 * figures["write_s"] / max(1, figures["files"]),
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="2k rows only")
    add_record_option(parser)
    parser.add_argument("--out-dir", type=Path, default=None, help="where files are written")
    parser.add_argument("--label", default="disk", help="name of this output folder kind")
    parser.add_argument(
        "--skycells", choices=["off", "on", "both"], default="both", help="sky-cell rules"
    )
    parser.add_argument(
        "--skycells-max", type=int, default=100_000, help="largest size run with sky-cell rules"
    )
    args = parse_args(parser, None, "generate")
    if args.quick:
        args.sizes = QUICK_SIZES
    modes = ["off", "on"] if args.skycells == "both" else [args.skycells]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        work = Path(tmp)
        out_root = args.out_dir or work
        out_root.mkdir(parents=True, exist_ok=True)
        floor_us = 1e6 * file_floor(out_root, QUICK_FLOOR_FILES if args.quick else FLOOR_FILES)
        print(f"file-creation floor in {out_root}: {floor_us:.1f} us/file", flush=True)
        for size in args.sizes:
            pool_path = work / f"pool_{size}.parquet"
            make_pool(size, pool_path)
            for mode in modes:
                if mode == "on" and size > args.skycells_max:
                    continue
                figures = run(size, mode, pool_path, out_root)
                figures.update(label=args.label, floor_us_per_file=floor_us)
                results.append(figures)
                print(
                    f"{size:>9,} rows, sky cells {mode}: {figures['total_s']:7.2f} s "
                    f"(read {figures['read_s']:.2f}, generate {figures['generate_s']:.2f}, "
                    f"write {figures['write_s']:.2f} = {figures['write_us_per_file']:.1f} "
                    f"us/file), {figures['associations']:,} files, "
                    f"peak RSS {figures['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
            pool_path.unlink()
    write_results(results)


def write_results(results: list[dict]) -> None:
    folder = results_dir()
    json_path = folder / "generate.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {"runs": []}
    new = {(x["label"], x["rows"], x.get("skycells", "off")) for x in results}
    runs = [
        r for r in previous["runs"] if (r["label"], r["rows"], r.get("skycells", "off")) not in new
    ]
    runs = [r for r in runs if "floor_us_per_file" in r]  # drop runs of the old script
    runs = sorted(runs + results, key=lambda r: (r["label"], r["skycells"], r["rows"]))
    info = machine()
    json_path.write_text(json.dumps({"machine": info, "runs": runs}, indent=2) + "\n")
    lines = [
        "# roman-asn generate benchmark",
        "",
        f"Machine: {info['cpu']}, {info['cores_usable']} of {info['cores']} cores usable, "
        f"{info['memory_gb']} GB ({info['memory_available_gb']} GB available), load "
        f"average at the end {info['load_average']}, Python {info['python']}. "
        "Pools: `roman_asn.synth.synth_pool(rows / 18, seed=1)` "
        "(mixed survey, detector level), default rules without / with the sky-cell rules, "
        "every file written (one writer thread). `floor` is a bare os.open/os.write/os.close "
        "loop in the same folder (no rename); the writer also renames each file (atomic). "
        "Run: `.venv/bin/python benchmarks/bench_generate.py --out-dir /dev/shm/b "
        "--label tmpfs` (and a disk folder with `--label disk`).",
        "",
        "| output | sky cells | rows | associations | read s | generate s | write s "
        "| write us/file | floor us/file | total s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['label']} | {r['skycells']} | {r['rows']:,} | {r['associations']:,} | "
            f"{r['read_s']:.2f} | {r['generate_s']:.2f} | {r['write_s']:.2f} | "
            f"{r['write_us_per_file']:.1f} | {r['floor_us_per_file']:.1f} | "
            f"{r['total_s']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    (folder / "generate.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {json_path} and {folder / 'generate.md'}")


if __name__ == "__main__":
    main()
