"""What every benchmark shares: measuring a subprocess, the machine, result files.

Each measurement runs one command in its own process and waits for it with
``os.wait4``, which returns that child's resource usage: wall time from the
parent's clock, peak resident memory (``ru_maxrss``, the largest of the child
and the descendants it waited for) and CPU time.

Results go to ``benchmarks/.scratch/results/`` (gitignored). Only ``--record``
writes ``benchmarks/results/``, the committed evidence behind the documented
figures, so trying a benchmark never overwrites it. Every benchmark prints the
machine and its load when it starts (:func:`announce`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"  # committed: written only with --record
SCRATCH_DIR = BENCH_DIR / ".scratch"  # gitignored
WORK_DIR = SCRATCH_DIR / "work"  # pools and outputs
RECORD_ENV = "ROMAN_ASN_BENCH_RECORD"  # set by --record; inherited by child benchmarks
N_DETECTORS = 18
MAX_RSS_GB = 12.0  # default memory guard of the big runs on a shared machine


@dataclass
class Run:
    """One finished subprocess."""

    command: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    stdout: str
    stderr: str
    timed_out: bool = False
    over_memory_mb: float | None = None
    tree_peak_mb: float = 0.0  # sampled every 0.5 s: all processes of the command together

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.over_memory_mb

    def json_line(self) -> dict:
        """The last stdout line that is a JSON object (what ``_tasks.py`` prints)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        return {}

    def failure(self) -> str:
        if self.over_memory_mb:
            return f"stopped at {self.over_memory_mb:,.0f} MB resident (memory guard)"
        if self.timed_out:
            return f"timed out after {self.wall_s:.0f} s"
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
        return f"exit status {self.returncode}: " + " | ".join(tail)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants now (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack += [int(c) for c in children]
        except (OSError, ValueError):
            continue
    return total / 1024


def measure(
    command: list[str],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    max_rss_mb: float | None = None,
    stdin: Path | None = None,
) -> Run:
    """Run ``command`` to completion; wall time, peak RSS and CPU time of that process.

    ``max_rss_mb``: stop the command (and its children) when together they hold more
    memory than this, so a run too big for a shared machine fails instead of
    starving everything else; the failure says so. ``stdin``: a file fed to the command.
    """
    with (
        tempfile.TemporaryFile("w+") as out,
        open(stdin or os.devnull, "rb") as feed,
    ):
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=feed,
            stdout=out,
            # in memory, not a file: a command failing on a full disk still says why
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so a timeout can stop the command and its children
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        said: list[str] = []
        listener = threading.Thread(target=lambda: said.append(process.stderr.read()))
        listener.start()
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, stop) if timeout else None
        if timer:
            timer.start()
        over_memory = threading.Event()
        finished = threading.Event()
        tree_peak = [0.0]

        def guard() -> None:  # samples the whole process tree (Dask workers included)
            while not finished.wait(0.5):
                tree_peak[0] = max(tree_peak[0], tree_rss_mb(process.pid))
                if max_rss_mb and tree_peak[0] > max_rss_mb:
                    over_memory.set()
                    stop()
                    return

        threading.Thread(target=guard, daemon=True).start()
        # wait4 (not Popen.wait) returns this child's own resource usage
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        finished.set()
        if timer:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        listener.join()
        process.stderr.close()
        out.seek(0)
        stdout, stderr = out.read(), "".join(said)
    return Run(
        command=[str(c) for c in command],
        returncode=process.returncode,
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        cpu_s=usage.ru_utime + usage.ru_stime,
        stdout=stdout,
        stderr=stderr,
        timed_out=expired.is_set() and not over_memory.is_set(),
        over_memory_mb=max_rss_mb if over_memory.is_set() else None,
        tree_peak_mb=tree_peak[0],
    )


def python() -> str:
    """The interpreter running the benchmarks (the project venv under ``make bench``)."""
    return sys.executable


def roman_asn() -> str:
    """The ``roman-asn`` entry point next to this interpreter."""
    script = Path(sys.executable).parent / "roman-asn"
    return str(script) if script.exists() else "roman-asn"


def exposures_for(rows: int) -> int:
    """Exposures giving at least ``rows`` detector rows (18 per exposure)."""
    return max(1, -(-rows // N_DETECTORS))


def synth_file(
    rows: int, suffix: str, *, seed: int = 0, survey: str = "mixed", legacy: bool = False
) -> Path:
    """A synthetic pool of about ``rows`` rows, made once and reused (same bytes every time)."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    exposures = exposures_for(rows)
    tag = "legacy" if legacy else "canonical"
    path = WORK_DIR / f"synth_{survey}_{exposures}x18_s{seed}_{tag}.{suffix}"
    if not path.exists():
        command = [roman_asn(), "synth-pool", "-o", str(path), "--exposures", str(exposures)]
        command += ["--seed", str(seed), "--survey", survey, "-q"]
        if legacy:
            command.append("--legacy-names")
        run = measure(command)
        if not run.ok:
            raise RuntimeError(f"synth-pool failed: {run.failure()}")
    return path


def count_lines(path: Path) -> int:
    """Lines of a (large) file, read in 16 MB blocks."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))


def loglog_exponent(sizes: list[float], seconds: list[float]) -> float | None:
    """Slope of log(time) against log(size): 1 is linear, 2 quadratic."""
    points = [(s, t) for s, t in zip(sizes, seconds, strict=True) if s > 0 and t > 0]
    if len(points) < 2:
        return None
    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def recording() -> bool:
    """Whether results go to the committed ``benchmarks/results/`` (``--record``)."""
    return os.environ.get(RECORD_ENV) == "1"


def set_recording(record: bool) -> None:
    if record:
        os.environ[RECORD_ENV] = "1"


def results_dir() -> Path:
    """``benchmarks/results`` with ``--record``, else the gitignored scratch folder."""
    folder = RESULTS_DIR if recording() else SCRATCH_DIR / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _meminfo_gb(*keys: str) -> dict[str, float | None]:
    found: dict[str, float | None] = dict.fromkeys(keys)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in found:
                found[key] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return found


def announce(name: str) -> dict:
    """Print the machine and its load now (stderr) and return them."""
    info = machine()
    where = "benchmarks/results (--record)" if recording() else f"{SCRATCH_DIR}/results"
    print(
        f"[{name}] {info['cpu']}; {info['cores_usable']} of {info['cores']} cores usable; "
        f"memory {info['memory_gb']} GB, {info['memory_available_gb']} GB available; "
        f"load average {' '.join(str(x) for x in info['load_average'])} (1/5/15 min); "
        f"commit {info['git_commit']}; results to {where}",
        file=sys.stderr,
        flush=True,
    )
    return info


def machine() -> dict:
    """Where the figures came from, and how busy it was."""
    memory = _meminfo_gb("MemTotal", "MemAvailable")
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("roman-asn", "polars", "numpy", "pyarrow", "astropy", "dask"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": memory["MemTotal"],
        "memory_available_gb": memory["MemAvailable"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit,
    }


@dataclass
class Section:
    """One benchmark's results: a table of rows plus notes, or why it was skipped."""

    name: str
    title: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def to_markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        if self.skipped:
            lines += [f"Skipped: {self.skipped}", ""]
            return "\n".join(lines)
        if self.rows:
            columns = self.columns or list(self.rows[0])
            lines.append("| " + " | ".join(columns) + " |")
            lines.append("|" + "|".join("---" for _ in columns) + "|")
            for row in self.rows:
                lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
            lines.append("")
        lines += [f"- {note}" for note in self.notes]
        if self.notes:
            lines.append("")
        return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}" if value < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_results(
    stem: str, title: str, sections: list[Section], extra: dict | None = None
) -> tuple[Path, Path]:
    """``<stem>.json`` and ``.md`` with the machine header in :func:`results_dir`;
    written atomically."""
    folder = results_dir()
    info = machine()
    payload = {"machine": info, "sections": [asdict(s) for s in sections], **(extra or {})}
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v)
    header = [
        f"# {title}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
        f"{info['memory_gb']} GB memory ({info['memory_available_gb']} GB available at the "
        f"end), {info['os']}; load average at the end {info['load_average']}.",
        f"Python {info['python']}; {packages}; commit {info['git_commit']}; {info['date']}.",
        "",
        "Each figure is one run of a separate process: wall time from the parent, peak "
        "resident memory (ru_maxrss) of that process; rows/s from the time the work took "
        "inside the process (without interpreter start-up) where stated.",
        "",
    ]
    text = "\n".join(header) + "\n" + "\n".join(s.to_markdown() for s in sections)
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    _atomic_write(json_path, json.dumps(payload, indent=2) + "\n")
    _atomic_write(md_path, text.rstrip() + "\n")
    return json_path, md_path


def _atomic_write(path: Path, text: str) -> None:
    from roman_asn.atomic import atomic_write_text

    atomic_write_text(path, text)


def human_rows(rows: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return f"{rows:,}"


def parse_size(text: str) -> int:
    """``100000``, ``100k``, ``1M``, ``1_000_000`` -> rows."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    return int(float(number) * scale)


def add_record_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the committed benchmarks/results/ (default: benchmarks/.scratch/results/)",
    )


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None, name: str):
    """Parse, apply ``--record``, and announce the machine and its load."""
    args = parser.parse_args(argv)
    set_recording(getattr(args, "record", False))
    announce(name)
    return args


def add_size_options(parser: argparse.ArgumentParser) -> None:
    add_record_option(parser)
    parser.add_argument("--quick", action="store_true", help="small sizes only (seconds)")
    parser.add_argument(
        "--sizes",
        type=lambda text: [parse_size(part) for part in text.split(",") if part.strip()],
        default=None,
        help="comma-separated row counts, e.g. 10k,100k,1M (overrides each benchmark's sizes)",
    )


def main_for(run, stem: str, title: str, argv: list[str] | None = None) -> None:
    """Command line of a single benchmark script: run it, write results/<stem>.{md,json}."""
    parser = argparse.ArgumentParser(description=title)
    add_size_options(parser)
    args = parse_args(parser, argv, stem)
    section = run(sizes=args.sizes, quick=args.quick)
    paths = write_results(stem + ("_quick" if args.quick else ""), title, [section])
    print(section.to_markdown())
    print("wrote " + ", ".join(str(p) for p in paths))


PROGRAM_BLOCK_ROWS = 1_000_000  # rows per block of own programs in many_programs_pool


def many_programs_pool(rows: int) -> Path:
    """``rows`` rows in 1M-row blocks with their own programs (made once, reused)."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"synth_programs_{exposures_for(rows)}x18.parquet"
    if not path.exists():
        task = str(Path(__file__).with_name("_tasks.py"))
        run_ = measure(
            [python(), task, "synth_programs", str(rows), str(path), str(PROGRAM_BLOCK_ROWS)]
        )
        if not run_.ok:
            raise RuntimeError(f"synth_programs failed: {run_.failure()}")
    return path
