"""The association tools on survey-sized folders: ``diff``, ``validate``, ``update-path``.

For each size (pool rows; 100k rows give about 106k association files) a synthetic
pool (``synth-pool``, mixed survey, seed 0) goes through ``roman-asn generate
--no-skycells`` into a folder in ``/dev/shm`` (tmpfs, so the figures measure our
code rather than the disk), which is copied; in the copy one product is renamed, one
member removed and one file deleted. Then, each a whole process:

- ``diff LEFT COPY`` of the two folders (3 differences, exit 1);
- ``diff - LEFT`` with LEFT's files listed on stdin (equal, exit 0);
- ``validate -q LEFT`` (every file against the strict schema);
- ``update-path -q COPY --path /data/run1`` (every file read, checked, rewritten
  in place).

Run alone: ``python benchmarks/bench_asn_tools.py [--quick] [--sizes 100k] [--record]``
(``--quick``: 2k rows). The folders are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _harness import (
    WORK_DIR,
    Section,
    human_rows,
    measure,
    roman_asn,
    synth_file,
)

NAME = "asn_tools"
SIZES = [100_000]
QUICK_SIZES = [2_000]
TIMEOUT_S = 1800
MAX_RSS_MB = 6144
TMPFS = Path("/dev/shm")


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=4) + "\n", "utf-8")


def make_folders(rows: int, root: Path) -> tuple[Path, Path, int]:
    """LEFT (generated) and COPY (LEFT with three differences); the file count."""
    pool = synth_file(rows, "parquet")
    left, copy = root / "left", root / "copy"
    command = [roman_asn(), "generate", str(pool), "--no-skycells", "--no-progress"]
    run_ = measure([*command, "-o", str(left)], timeout=TIMEOUT_S, max_rss_mb=MAX_RSS_MB)
    if not run_.ok:
        raise RuntimeError(f"generate failed: {run_.failure()}")
    shutil.copytree(left, copy)
    files = sorted(p for p in copy.iterdir() if p.name.endswith("_asn.json"))
    renamed, trimmed, deleted = files[len(files) // 4], files[len(files) // 2], files[-1]

    def rename(data: dict) -> None:
        data["products"][0]["name"] += "_renamed"

    def trim(data: dict) -> None:
        data["products"][0]["members"].append({"expname": "extra.asdf", "exptype": "science"})

    _edit(renamed, rename)
    _edit(trimmed, trim)
    deleted.unlink()
    return left, copy, len(files)


def run(sizes: list[int] | None = None, quick: bool = False) -> Section:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    section = Section(
        name=NAME,
        title="Association tools on folders (whole process, files on tmpfs)",
        columns=["rows", "files", "command", "exit", "wall s", "cpu s", "peak RSS MB"],
    )
    base = TMPFS if TMPFS.is_dir() else WORK_DIR
    base.mkdir(parents=True, exist_ok=True)
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="roman_asn_bench_tools_", dir=base) as tmp:
            root = Path(tmp)
            left, copy, files = make_folders(rows, root)
            listing = root / "left.txt"
            listing.write_text("".join(f"{p}\n" for p in sorted(left.iterdir())), "utf-8")
            tool = roman_asn()
            commands = [
                ("diff LEFT COPY", [tool, "diff", str(left), str(copy)], None),
                ("diff - LEFT (stdin)", [tool, "diff", "-", str(left)], listing),
                ("validate -q LEFT", [tool, "validate", "-q", str(left)], None),
                (
                    "update-path -q COPY",
                    [tool, "update-path", "-q", str(copy), "--path", "/data/run1"],
                    None,
                ),
            ]
            for label, command, stdin in commands:
                run_ = measure(command, timeout=TIMEOUT_S, max_rss_mb=MAX_RSS_MB, stdin=stdin)
                entry = {
                    "rows": human_rows(rows),
                    "files": files,
                    "command": label,
                    "exit": run_.returncode,
                    "wall s": run_.wall_s,
                    "cpu s": run_.cpu_s,
                    "peak RSS MB": run_.peak_rss_mb,
                }
                if run_.timed_out or run_.over_memory_mb or run_.returncode not in (0, 1):
                    entry["error"] = run_.failure()
                    section.notes.append(f"{label} at {human_rows(rows)} rows: {run_.failure()}")
                section.rows.append(entry)
                print(
                    f"  {label:22s} {files:>9,} files: {run_.wall_s:6.1f} s "
                    f"(exit {run_.returncode}), {run_.peak_rss_mb:,.0f} MB",
                    file=sys.stderr,
                )
    section.notes += [
        "Folders from `roman-asn generate --no-skycells` on `synth-pool --survey mixed "
        "--seed 0` pools, in /dev/shm; COPY differs from LEFT by a renamed product, an "
        "added member and a deleted file (so `diff LEFT COPY` exits 1 with 3 differences).",
        "Wall time includes interpreter start-up (about 0.5 s).",
        f"Cores usable: {len(os.sched_getaffinity(0))}.",
    ]
    return section


if __name__ == "__main__":
    from _harness import main_for

    main_for(run, NAME, "Association tools on folders")
