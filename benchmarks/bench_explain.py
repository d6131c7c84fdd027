"""``roman-asn explain`` on survey pools: one row of a 100k- and a 1M-row pool.

Each pool comes from ``roman-asn synth-pool`` (mixed survey, seed 0; Parquet) and
is explained with the default rules (sky-cell rules on), one row at a time, each
in a fresh process, for four kinds of row: a Level 2-only row (grism), an HLWAS
imaging row (sky cells, multiband), a GBTDS imaging row (stacked sky cells,
discovered pass and full ids) and a calibration row (an orphan). ``explain s`` is
the work after the imports (reading the pool included); ``process s`` the whole
command. At 100k rows the old way (one run over the whole pool) is timed too and
its answer compared with the scoped one.

Run alone: ``python benchmarks/bench_explain.py [--quick] [--sizes 100k,1M] [--record]``
(``--quick``: 5k rows).
"""

from __future__ import annotations

import sys

import polars as pl
from _harness import BENCH_DIR, Section, human_rows, measure, python, synth_file

NAME = "explain"
SIZES = [100_000, 1_000_000]
QUICK_SIZES = [5_000]
WHOLE_UP_TO = 100_000  # the old whole-pool computation is timed up to this size
TIMEOUT_S = 900
MAX_RSS_MB = 8192


def pick_rows(path) -> dict[str, int]:
    """The middle row of each kind in the pool (kinds it lacks are left out)."""
    table = pl.read_parquet(path, columns=["category", "exp_type"]).with_row_index("row")
    kinds = {
        "Level 2 only (grism)": (pl.col("exp_type") == "WFI_GRISM"),
        "HLWAS image (sky cells)": (pl.col("category") == "HLWAS")
        & (pl.col("exp_type") == "WFI_IMAGE"),
        "GBTDS image": (pl.col("category") == "GBTDS") & (pl.col("exp_type") == "WFI_IMAGE"),
        "calibration (orphan)": (pl.col("category") == "CAL"),
    }
    found = {kind: table.filter(where)["row"] for kind, where in kinds.items()}
    return {kind: int(rows[len(rows) // 2]) for kind, rows in found.items() if len(rows)}


def run(sizes: list[int] | None = None, quick: bool = False) -> Section:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    section = Section(
        name=NAME,
        title="explain one row (default rules, sky cells on)",
        columns=[
            "rows",
            "row kind",
            "mode",
            "explain s",
            "process s",
            "CPU s",
            "peak RSS MB",
            "joined",
            "same answer",
        ],
    )
    for rows in sizes:
        path = synth_file(rows, "parquet")
        for kind, row in pick_rows(path).items():
            answers = {}
            for mode in ("scoped", "whole") if rows <= WHOLE_UP_TO else ("scoped",):
                command = [python(), str(BENCH_DIR / "_tasks.py"), "explain", str(path), str(row)]
                run_ = measure([*command, mode], timeout=TIMEOUT_S, max_rss_mb=MAX_RSS_MB)
                entry = {
                    "rows": human_rows(rows),
                    "row kind": f"{kind} #{row}",
                    "mode": mode,
                    "process s": run_.wall_s,
                    "CPU s": run_.cpu_s,
                    "peak RSS MB": run_.peak_rss_mb,
                }
                if run_.ok:
                    result = run_.json_line()
                    answers[mode] = result["digest"]
                    entry.update({"explain s": result["seconds"], "joined": result["joined"]})
                    if result["notes"]:
                        section.notes.append(f"#{row} at {human_rows(rows)}: {result['notes']}")
                else:
                    section.notes.append(f"{kind} at {human_rows(rows)}: {run_.failure()}")
                section.rows.append(entry)
                print(
                    f"  explain {human_rows(rows)} {kind} ({mode}): "
                    f"{entry.get('explain s', float('nan')):.2f} s",
                    file=sys.stderr,
                )
            if len(answers) == 2:
                section.rows[-1]["same answer"] = section.rows[-2]["same answer"] = (
                    "yes" if answers["scoped"] == answers["whole"] else "NO"
                )
    section.notes.append(
        "Pools: `roman-asn synth-pool --survey mixed --seed 0` (Parquet), 18 detector rows "
        "per exposure. explain s: wall time after the imports (the sky map's loading "
        "included); process s and CPU s: the whole process (CPU s counts both cores)."
    )
    return section


if __name__ == "__main__":
    from _harness import main_for

    main_for(run, NAME, "explain one row")
