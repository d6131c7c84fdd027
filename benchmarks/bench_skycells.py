"""Benchmark: match 100k and 1M WFI detector footprints to sky cells.

Synthetic pointings uniform on the sky, random aperture PA, the 18 WFI detectors
from the SIAF. Run: ``.venv/bin/python benchmarks/bench_skycells.py [N ...] [--quick]
[--record]`` (``--quick``: 10k and 100k). Writes bench_skycells.{md,json} to the
results folder (``benchmarks/results`` only with ``--record``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _harness import add_record_option, machine, parse_args, results_dir

from roman_asn.atomic import atomic_write_text
from roman_asn.skycells import detector_footprints, get_skymap, match_footprints

SIZES = [100_000, 1_000_000]
QUICK_SIZES = [10_000, 100_000]


def run(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n_point = -(-n // 18)
    ra = rng.uniform(0.0, 360.0, n_point)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n_point)))
    pa = rng.uniform(0.0, 360.0, n_point)
    det = np.tile(np.arange(1, 19), n_point)[:n]
    rows = np.repeat(np.arange(n_point), 18)[:n]
    t0 = time.perf_counter()
    fra, fdec = detector_footprints(ra[rows], dec[rows], pa[rows], det)
    t1 = time.perf_counter()
    matches = match_footprints(fra, fdec)
    t2 = time.perf_counter()
    counts = matches.counts()
    return {
        "footprints": n,
        "footprint_seconds": round(t1 - t0, 3),
        "match_seconds": round(t2 - t1, 3),
        "total_seconds": round(t2 - t0, 3),
        "matches": int(len(matches.cells)),
        "cells_per_footprint_mean": round(float(counts.mean()), 2),
        "cells_per_footprint_max": int(counts.max()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", help="footprints per run")
    parser.add_argument("--quick", action="store_true", help="10k and 100k footprints")
    add_record_option(parser)
    args = parse_args(parser, argv, "bench_skycells")
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    t0 = time.perf_counter()
    get_skymap()
    load = time.perf_counter() - t0
    rows = [run(n) for n in sizes]
    info = machine()
    meta = {"machine": info, "skymap_load_seconds": round(load, 3)}
    folder = results_dir()
    atomic_write_text(
        folder / "bench_skycells.json", json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n"
    )
    lines = [
        "# Sky-cell matching benchmark",
        "",
        f"Machine: {info['cpu']}, {info['cores_usable']} of {info['cores']} cores usable, "
        f"{info['memory_gb']} GB ({info['memory_available_gb']} GB available), load average "
        f"at the end {info['load_average']}; commit {info['git_commit']}; {info['date']}.",
        "",
        f"Sky map load (computed, grid cached): {meta['skymap_load_seconds']} s",
        "",
        "| footprints | SIAF footprints (s) | matching (s) | total (s) | cells/footprint |",
        "|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['footprints']:,} | {r['footprint_seconds']} | {r['match_seconds']} | "
            f"{r['total_seconds']} | mean {r['cells_per_footprint_mean']}, "
            f"max {r['cells_per_footprint_max']} |"
        )
    text = "\n".join(lines) + "\n"
    atomic_write_text(folder / "bench_skycells.md", text)
    print(text)
    print(f"wrote {folder / 'bench_skycells.md'}")


if __name__ == "__main__":
    main()
