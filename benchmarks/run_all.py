"""Run every benchmark and write one results table: ``make bench``.

    python benchmarks/run_all.py [--quick] [--record] [--sizes 10k,100k] [--only NAME,...]

Writes ``bench.{md,json}`` (``bench_quick.*`` with ``--quick``) with the machine
the figures came from and its load, to ``benchmarks/.scratch/results/``
(gitignored); only ``--record`` writes the committed ``benchmarks/results/``, for
this table and for every benchmark it runs. ``--quick`` (small sizes, about a
minute) is passed to every benchmark.

Benchmarks are the ``bench_*.py`` modules in this folder. A module that defines
``run(sizes=None, quick=False)`` returning a ``_harness.Section`` (or a list of
them) is called in-process, and each of its measurements runs in its own
subprocess. Any other ``bench_*.py`` is run as a script (with ``--quick`` when
given: every script must honour it) and recorded by wall time, peak memory and
the end of its output.
The romancal comparison is separate: ``benchmarks/anchor_romancal.py``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
import time

from _harness import (
    BENCH_DIR,
    Section,
    add_size_options,
    measure,
    parse_args,
    python,
    write_results,
)

# measured first, in this order; other bench_*.py files follow alphabetically
ORDER = ["pool_read", "synth", "generate_scale", "skycells"]


def discover() -> list[str]:
    names = [path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def defines_run(name: str) -> bool:
    """Whether bench_<name>.py has a top-level ``run(sizes=..., quick=...)`` (checked
    without importing it); other ``run`` functions belong to scripts."""
    tree = ast.parse((BENCH_DIR / f"bench_{name}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            names = {a.arg for a in node.args.args + node.args.kwonlyargs}
            return {"sizes", "quick"} <= names
    return False


def run_module(name: str, sizes: list[int] | None, quick: bool) -> list[Section]:
    module = importlib.import_module(f"bench_{name}")
    result = module.run(sizes=sizes, quick=quick)
    return result if isinstance(result, list) else [result]


def run_script(name: str, quick: bool) -> Section:
    command = [python(), str(BENCH_DIR / f"bench_{name}.py"), *(["--quick"] if quick else [])]
    run_ = measure(command, cwd=BENCH_DIR.parent)
    tail = run_.stdout.strip().splitlines()[-15:]
    section = Section(
        name=name,
        title=f"bench_{name}.py (run as a script)",
        columns=["status", "wall s", "peak RSS MB"],
        rows=[
            {
                "status": "ok" if run_.ok else run_.failure(),
                "wall s": run_.wall_s,
                "peak RSS MB": run_.peak_rss_mb,
            }
        ],
    )
    if tail:
        section.notes.append("Its output ends with:\n\n```\n" + "\n".join(tail) + "\n```")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_size_options(parser)
    parser.add_argument("--only", default=None, help="comma-separated benchmark names")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parse_args(parser, argv, "run_all")
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        wanted = [n.strip().removeprefix("bench_") for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; have {', '.join(names)}")
        names = [n for n in names if n in wanted]
    sections: list[Section] = []
    for name in names:
        start = time.perf_counter()
        print(f"[{name}]", file=sys.stderr)
        try:
            if defines_run(name):
                sections += run_module(name, args.sizes, args.quick)
            else:
                sections.append(run_script(name, args.quick))
        except Exception as error:  # one broken benchmark must not lose the others' figures
            sections.append(Section(name=name, title=f"bench_{name}", skipped=f"failed: {error!r}"))
        print(f"[{name}] {time.perf_counter() - start:.1f} s", file=sys.stderr)
    stem = "bench_quick" if args.quick else "bench"
    paths = write_results(stem, "roman-asn benchmarks", sections)
    print(paths[1].read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
