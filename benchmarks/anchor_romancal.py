"""Side by side with the anchor: romancal 1.0.3's association generator vs roman-asn.

    python benchmarks/anchor_romancal.py [--sizes 50,100,200,400] [--setup-only]

1. Makes (once) a separate virtual environment ``benchmarks/.romancal-venv`` with
   ``pip install romancal==1.0.3``. romancal is never a dependency of roman-asn.
2. Makes legacy-format pools with ``roman-asn synth-pool --legacy-names`` (mixed
   survey, seed 0; 18 detector rows per exposure, so a size is rounded up to whole
   exposures).
3. Runs romancal's generator, ``python -m romancal.associations.main POOL -p DIR
   --save-orphans orphans.csv``, and roman-asn's, ``roman-asn generate POOL -o DIR``,
   each as a whole process on the same pool (roman-asn only when
   ``roman_asn.generator`` is importable).
4. Compares what each wrote: associations by type, member sets (member names
   without their ``_uncal``/``_cal``/``_rate`` suffix), pool rows in no
   association, and the time ratio; writes ``results/anchor_romancal.{md,json}``.

romancal's generator is superlinear (rows^1.85: 469 s at 666 rows on a loaded 2-core VM), so
the default sizes stay small.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from _harness import (
    BENCH_DIR,
    WORK_DIR,
    Section,
    add_record_option,
    exposures_for,
    loglog_exponent,
    measure,
    parse_args,
    parse_size,
    python,
    roman_asn,
    synth_file,
    write_results,
)
from bench_generate_scale import generator_missing

ROMANCAL_VERSION = "1.0.3"
VENV = BENCH_DIR / ".romancal-venv"
VENV_PYTHON = VENV / "bin" / "python"
SIZES = [50, 100, 200, 400]
TIMEOUT_S = 1800
SUFFIX = re.compile(r"_(uncal|cal|rate|x1d)\.(asdf|fits)$")


def romancal_version() -> str | None:
    if not VENV_PYTHON.exists():
        return None
    probe = subprocess.run(
        [str(VENV_PYTHON), "-c", "import romancal; print(romancal.__version__)"],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_venv() -> str:
    """The romancal version in benchmarks/.romancal-venv, installing it if needed."""
    version = romancal_version()
    if version == ROMANCAL_VERSION:
        return version
    print(f"creating {VENV} with romancal=={ROMANCAL_VERSION} (a few minutes)", file=sys.stderr)
    if not VENV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", f"romancal=={ROMANCAL_VERSION}"],
        check=True,
    )
    version = romancal_version()
    if version != ROMANCAL_VERSION:
        raise SystemExit(f"romancal {ROMANCAL_VERSION} not importable in {VENV} (found {version})")
    return version


def base_name(expname: str) -> str:
    """A member's exposure file without folder and processing suffix."""
    return SUFFIX.sub("", Path(expname).name)


def read_associations(directory: Path) -> list[dict]:
    """Every *_asn.json in ``directory``: file, type, id, products, member set."""
    found = []
    for path in sorted(directory.glob("*_asn.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        members = [
            base_name(member["expname"])
            for product in data.get("products", [])
            for member in product.get("members", [])
        ]
        found.append(
            {
                "file": path.name,
                "asn_type": data.get("asn_type"),
                "asn_id": data.get("asn_id"),
                "products": [p.get("name") for p in data.get("products", [])],
                "members": sorted(set(members)),
            }
        )
    return found


def pool_rows(pool: Path) -> list[str]:
    """The pool's file names (base names), read with roman-asn's reader."""
    from roman_asn.pool import read_pool

    return [base_name(name) for name in read_pool(pool).table["filename"].to_list()]


def summarize(associations: list[dict], rows: list[str]) -> dict:
    in_some = set().union(*(a["members"] for a in associations)) if associations else set()
    types = Counter(a["asn_type"] for a in associations)
    return {
        "associations": len(associations),
        "by_type": dict(sorted(types.items())),
        "distinct_member_sets": len({tuple(a["members"]) for a in associations}),
        "rows_left_out": sum(1 for row in rows if row not in in_some),
        "members_not_in_pool": len(in_some - set(rows)),
    }


def by_type_text(by_type: dict) -> str:
    return ", ".join(f"{t} {n}" for t, n in by_type.items()) or "none"


def run_romancal(pool: Path, out: Path) -> tuple[dict, list[dict]]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command = [str(VENV_PYTHON), "-m", "romancal.associations.main", str(pool), "-p", str(out)]
    command += ["--save-orphans", "orphans.csv"]
    run = measure(command, timeout=TIMEOUT_S)
    associations = read_associations(out)
    orphans = out / "orphans.csv"
    reported = None
    if orphans.exists():
        lines = [ln for ln in orphans.read_text().splitlines() if ln.strip()]
        reported = max(0, len(lines) - 1)
    result = {
        "wall_s": run.wall_s,
        "peak_rss_mb": run.peak_rss_mb,
        "cpu_s": run.cpu_s,
        "ok": run.ok,
        "error": None if run.ok else run.failure(),
        "orphans_reported": reported,
        "warnings": sum(1 for ln in run.stderr.splitlines() if "WARNING" in ln),
    }
    return result, associations


def run_roman_asn(pool: Path, out: Path, repeat: int = 1) -> tuple[dict, list[dict]]:
    """``roman-asn generate`` ``repeat`` times (fresh output folder each time); the
    median wall time, since one run takes well under a second and load varies."""
    runs = []
    for _ in range(max(1, repeat)):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        runs.append(
            # romancal 1.0.3 has no sky-cell rules: compare like with like
            measure(
                [roman_asn(), "generate", str(pool), "-o", str(out), "--no-skycells"],
                timeout=TIMEOUT_S,
            )
        )
    run = sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]
    result = {
        "wall_s": run.wall_s,
        "wall_s_all": [r.wall_s for r in runs],
        "peak_rss_mb": run.peak_rss_mb,
        "cpu_s": run.cpu_s,
        "ok": all(r.ok for r in runs),
        "error": next((r.failure() for r in runs if not r.ok), None),
    }
    return result, read_associations(out)


STARTUP_COMMANDS = {
    "python -c pass": lambda: [python(), "-c", "pass"],
    "import the generate path": lambda: [
        python(),
        "-c",
        "import roman_asn.cli.generate, roman_asn.generator.engine, "
        "roman_asn.generator.writer, roman_asn.generator.summary, roman_asn.pool",
    ],
    "roman-asn generate --help": lambda: [roman_asn(), "generate", "--help"],
}


def startup_section(repeat: int) -> Section:
    """Cold start: what a whole-process run pays before it reads the pool."""
    section = Section(
        name="startup",
        title="roman-asn start-up (median of runs)",
        columns=["command", "median s", "min s", "runs"],
    )
    for label, make in STARTUP_COMMANDS.items():
        walls = sorted(measure(make()).wall_s for _ in range(max(1, repeat)))
        section.rows.append(
            {
                "command": label,
                "median s": walls[len(walls) // 2],
                "min s": walls[0],
                "runs": len(walls),
            }
        )
    section.notes.append(
        "`python -X importtime -m roman_asn generate POOL` shows the rest: polars and numpy "
        "are most of it; astropy, asdf, dask and the sky-cell code are not imported on "
        "this path."
    )
    return section


def compare(romancal: list[dict], ours: list[dict]) -> dict:
    theirs_sets = {tuple(a["members"]) for a in romancal}
    our_sets = {tuple(a["members"]) for a in ours}

    def types_of(associations: list[dict], sets: set) -> dict:
        found = Counter(a["asn_type"] for a in associations if tuple(a["members"]) in sets)
        return dict(sorted(found.items()))

    return {
        "member_sets_in_both": len(theirs_sets & our_sets),
        "only_romancal": len(theirs_sets - our_sets),
        "only_roman_asn": len(our_sets - theirs_sets),
        "only_romancal_by_type": types_of(romancal, theirs_sets - our_sets),
        "only_roman_asn_by_type": types_of(ours, our_sets - theirs_sets),
        "in_both_by_type_romancal": types_of(romancal, theirs_sets & our_sets),
        "in_both_by_type_roman_asn": types_of(ours, theirs_sets & our_sets),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [parse_size(p) for p in text.split(",") if p.strip()],
        default=SIZES,
        help="pool sizes in rows (default 50,100,200,400; rounded up to whole exposures)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--survey", default="mixed", choices=["hlwas", "gbtds", "mixed"])
    parser.add_argument("--setup-only", action="store_true", help="make the venv and stop")
    parser.add_argument("--skip-romancal", action="store_true", help="run only roman-asn")
    parser.add_argument(
        "--repeat", type=int, default=3, help="roman-asn runs per size (median; default 3)"
    )
    add_record_option(parser)
    args = parse_args(parser, argv, "anchor_romancal")

    version = ensure_venv()
    if args.setup_only:
        print(f"romancal {version} ready in {VENV}")
        return 0
    missing = generator_missing()
    work = WORK_DIR / "anchor"
    theirs = Section(
        name="romancal",
        title=f"romancal {version} generator (python -m romancal.associations.main)",
        columns=[
            "rows",
            "exposures",
            "wall s",
            "peak RSS MB",
            "associations",
            "by type",
            "distinct member sets",
            "rows left out",
            "orphans it reports",
        ],
    )
    ours = Section(
        name="roman_asn",
        title="roman-asn generate",
        columns=["rows", "wall s", "peak RSS MB", "associations", "by type", "rows left out"],
        skipped=missing,
    )
    both = Section(
        name="comparison",
        title="Side by side",
        columns=[
            "rows",
            "romancal s",
            "roman-asn s",
            "time ratio",
            "member sets in both",
            "only romancal",
            "only roman-asn",
            "only romancal, by type",
            "only roman-asn, by type",
        ],
        skipped=missing,
    )
    details: dict[str, dict] = {}
    for size in args.sizes:
        exposures = exposures_for(size)
        pool = synth_file(size, "csv", seed=args.seed, survey=args.survey, legacy=True)
        rows = pool_rows(pool)
        record: dict = {"pool": pool.name, "rows": len(rows), "exposures": exposures}
        if not args.skip_romancal:
            print(f"romancal on {len(rows)} rows ...", file=sys.stderr, flush=True)
            result, associations = run_romancal(pool, work / f"romancal_{len(rows)}")
            summary = summarize(associations, rows)
            record["romancal"] = {**result, **summary, "associations_written": associations}
            theirs.rows.append(
                {
                    "rows": len(rows),
                    "exposures": exposures,
                    "wall s": result["wall_s"],
                    "peak RSS MB": result["peak_rss_mb"],
                    "associations": summary["associations"],
                    "by type": by_type_text(summary["by_type"]),
                    "distinct member sets": summary["distinct_member_sets"],
                    "rows left out": summary["rows_left_out"],
                    "orphans it reports": result["orphans_reported"],
                }
            )
            if result["error"]:
                theirs.notes.append(f"{len(rows)} rows: {result['error']}")
            print(f"  {result['wall_s']:.1f} s, {summary}", file=sys.stderr)
        if not missing:
            print(f"roman-asn on {len(rows)} rows ...", file=sys.stderr, flush=True)
            result, associations = run_roman_asn(
                pool, work / f"roman_asn_{len(rows)}", repeat=args.repeat
            )
            summary = summarize(associations, rows)
            record["roman_asn"] = {**result, **summary, "associations_written": associations}
            ours.rows.append(
                {
                    "rows": len(rows),
                    "wall s": result["wall_s"],
                    "peak RSS MB": result["peak_rss_mb"],
                    "associations": summary["associations"],
                    "by type": by_type_text(summary["by_type"]),
                    "rows left out": summary["rows_left_out"],
                }
            )
            if result["error"]:
                ours.notes.append(f"{len(rows)} rows: {result['error']}")
            if "romancal" in record:
                comparison = compare(record["romancal"]["associations_written"], associations)
                record["comparison"] = comparison
                ratio = record["romancal"]["wall_s"] / max(result["wall_s"], 1e-9)
                both.rows.append(
                    {
                        "rows": len(rows),
                        "romancal s": record["romancal"]["wall_s"],
                        "roman-asn s": result["wall_s"],
                        "time ratio": ratio,
                        "member sets in both": comparison["member_sets_in_both"],
                        "only romancal": comparison["only_romancal"],
                        "only roman-asn": comparison["only_roman_asn"],
                        "only romancal, by type": by_type_text(comparison["only_romancal_by_type"]),
                        "only roman-asn, by type": by_type_text(
                            comparison["only_roman_asn_by_type"]
                        ),
                    }
                )
        details[str(len(rows))] = record

    if theirs.rows:
        exponent = loglog_exponent(
            [r["rows"] for r in theirs.rows], [r["wall s"] for r in theirs.rows]
        )
        if exponent is not None:
            theirs.notes.append(f"Scaling exponent (log-log fit of wall time): {exponent:.2f}.")
        theirs.notes += [
            "Pools: `roman-asn synth-pool --legacy-names --survey "
            f"{args.survey} --seed {args.seed}` (legacy pipe format, 42 columns).",
            "Member sets compare exposure file names without `_uncal`/`_cal`/`_rate`; "
            "'rows left out' counts pool rows in no association written.",
            "'orphans it reports' is romancal's own --save-orphans table.",
        ]
    else:
        theirs.skipped = "--skip-romancal"
    if missing:
        ours.notes.append("Re-run this script once the generator is present.")
    sections = [theirs, ours, both]
    if not missing:
        sections.append(startup_section(max(3, args.repeat)))
    if both.rows:
        both.notes.append(
            "time ratio: romancal's wall time over roman-asn's (median of --repeat runs), "
            "each a whole process on the same pool, output to disk."
        )
    paths = write_results(
        "anchor_romancal",
        f"Anchor: romancal {version} vs roman-asn on synthetic pools",
        sections,
        extra={"runs": details},
    )
    print(paths[1].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
