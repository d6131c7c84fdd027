"""Rewrite the outputs of the README's and docs' console examples from real runs.

``tests/test_docs_examples.py`` checks that every console example prints what it
shows; after a change of output, run this, read the diff, and commit what is right:

    .venv/bin/python scripts/update_doc_examples.py [README.md docs/tools.md ...]

Lines with timings become ``...`` (the test matches any lines there).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_docs_examples import DOCUMENTS, MARK, _matches, _prepare, console_steps  # noqa: E402

TIMING = re.compile(r"\b(took|in) [\d.,]+ ?(s|ms|seconds)\b|\([\d.]+ s\)")


def outputs_of(document: Path) -> list[tuple[object, list[str]]]:
    import os

    steps = [s for s in console_steps(document) if s.output]
    with tempfile.TemporaryDirectory() as folder:
        _prepare(Path(folder))
        script = ["status=0"]
        for index, step in enumerate(steps):
            script += [f"echo {MARK} {index}", f"(exit $status); {step.command} 2>&1", "status=$?"]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        env.pop("COLUMNS", None)
        run = subprocess.run(
            ["bash", "-c", "\n".join(script)], cwd=folder, env=env, capture_output=True, text=True
        )
    outputs = re.split(rf"^{MARK} \d+\n", run.stdout, flags=re.MULTILINE)[1:]
    return [(step, out.splitlines()) for step, out in zip(steps, outputs, strict=True)]


def shown(actual: list[str]) -> list[str]:
    out: list[str] = []
    for line in actual:
        line = "..." if TIMING.search(line) else line.rstrip()
        if not (line == "..." and out and out[-1] == "..."):
            out.append(line)
    return out


def main(names: list[str]) -> None:
    documents = [ROOT / n for n in names] if names else DOCUMENTS
    for document in documents:
        lines = document.read_text("utf-8").splitlines()
        changed = 0
        for step, actual in reversed(outputs_of(document)):
            if _matches(step.output, actual):
                continue
            start = step.line  # the command's line (1-based); its output follows
            while lines[start - 1].endswith("\\"):
                start += 1
            lines[start : start + len(step.output)] = shown(actual)
            changed += 1
        if changed:
            document.write_text("\n".join(lines) + "\n", "utf-8")
            print(f"{document.relative_to(ROOT)}: {changed} example(s) rewritten")


if __name__ == "__main__":
    main(sys.argv[1:])
