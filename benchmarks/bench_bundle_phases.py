"""Phases of ``generate --bundle`` in one process: reading, grouping (engine.generate)
and rendering + writing the JSON-lines bundle, with the peak resident memory.

    .venv/bin/python benchmarks/bench_bundle_phases.py [--exposures 55556] [--quick] [--record]

55,556 exposures x 18 detectors is a 1M-row pool (Level 2/3 rules, no sky cells;
about 2.9 GB peak); ``--quick`` is 556 exposures (10k rows). Writes
bundle_phases.json (``bundle_phases_quick.json`` with ``--quick``) to the results
folder (``benchmarks/results`` only with ``--record``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _harness import WORK_DIR, add_record_option, machine, parse_args, results_dir

from roman_asn.generator.bundle import write_bundle
from roman_asn.generator.engine import generate
from roman_asn.pool import read_pool
from roman_asn.rules.loader import load_rules, without_skycells

QUICK_EXPOSURES = 556


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exposures", type=int, default=55_556)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EXPOSURES} exposures")
    add_record_option(parser)
    args = parse_args(parser, None, "bundle_phases")
    if args.quick:
        args.exposures = QUICK_EXPOSURES
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    pool_path = WORK_DIR / f"bundle_phases_{args.exposures}.parquet"
    if not pool_path.exists():
        synth = [str(Path(sys.executable).parent / "roman-asn"), "synth-pool", "-o", str(pool_path)]
        synth += ["--exposures", str(args.exposures), "--seed", "1", "-q"]
        subprocess.run(synth, check=True)
    started = time.perf_counter()
    pool = read_pool(pool_path)
    read = time.perf_counter()
    result = generate(pool, without_skycells(load_rules()))
    grouped = time.perf_counter()
    count = write_bundle(result, WORK_DIR / "bundle_phases.jsonl")
    written = time.perf_counter()
    figures = {
        "rows": pool.table.height,
        "associations": count,
        "read_s": round(read - started, 2),
        "generate_s": round(grouped - read, 2),
        "bundle_s": round(written - grouped, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "machine": machine(),
    }
    (WORK_DIR / "bundle_phases.jsonl").unlink()
    out = results_dir() / ("bundle_phases_quick.json" if args.quick else "bundle_phases.json")
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "machine"}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
