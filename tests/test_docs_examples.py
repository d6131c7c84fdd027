"""The console examples of the README and docs/ are true by construction.

Every ```console block is read as a shell session (``$ command`` lines, a trailing
``\\`` continuing a command, the lines after a command its output). Each command
that shows output is run, in one scratch folder per document (blocks in order), and
its stdout and stderr must be exactly the lines shown; a line ``...`` stands for any
number of lines (timings, long lists). ``echo $?`` shows the status of the command
before it. Commands shown without output need inputs the documents only describe
(folders of ASDF files, million-row pools): each ``roman-asn`` one is parsed by the
real click commands instead, so an option that no longer exists fails here too.
The README's Python example is run as written.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import click
import pytest

from roman_asn.cli import cli
from roman_asn.tools.from_list import asn_from_list

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = "@@step"


@dataclass
class Step:
    line: int  # in the document
    command: str
    output: list[str]


def fenced_commands(path: Path) -> list[tuple[str, Step]]:
    """(block language, step) of every command in fenced blocks: ``$ ...`` lines (and
    in console blocks the output after them), and bare ``roman-asn ...`` lines."""
    steps: list[tuple[str, Step]] = []
    language: str | None = None
    block = first = 0  # the steps of the current block start at ``first``
    continued = False
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
            block, first, continued = block + 1, len(steps), False
            continue
        if language is None:
            continue
        if continued:
            steps[-1][1].command += "\n" + line
        elif line.startswith("$ ") or line.startswith("roman-asn "):
            steps.append((language, Step(number, line.removeprefix("$ "), [])))
        elif language == "console" and len(steps) > first:
            steps[-1][1].output.append(line.rstrip())
        continued = line.endswith("\\")
    return steps


def console_steps(path: Path) -> list[Step]:
    return [step for language, step in fenced_commands(path) if language == "console"]


def documented_commands(path: Path) -> list[Step]:
    """Every ``roman-asn`` command line (a usage synopsis is not a command)."""
    return [
        step
        for _, step in fenced_commands(path)
        if step.command.startswith("roman-asn ") and not re.search(r"\[-|\.\.\. ", step.command)
    ]


def _prepare(folder: Path) -> None:
    """The inputs the document's examples start from."""
    demo = files("roman_asn.data").joinpath("demo_pool.csv").read_bytes()
    (folder / "r00001_20261121t000000_pool.csv").write_bytes(demo)
    cal = folder / "cal"
    cal.mkdir()
    cal_name = "r0000101001001001001_{:04d}_wfi01_cal.asdf"
    for exposure in (1, 2):  # exposure 3 is a member no folder holds
        (cal / cal_name.format(exposure)).write_text(f"{exposure}\n")
    coadds = folder / "coadds"
    coadds.mkdir()
    for name in (
        "r00001_dr01_full_045m12x23y45_f106",
        "r00001_p_full_270p65x48y69_f062",
        "r00001_p_full_270p65x48y69_f158",
        "r00001_p_full_270p65x48y69_f213",
        "r00001_p_full_270p65x48y69_F184",
    ):
        (coadds / f"{name}_coadd.asdf").write_text("coadd\n")
    other = asn_from_list(
        [f"cal/{cal_name.format(1)}", (f"cal/{cal_name.format(3)}", "background")],
        product_name="r00001_p_v01001001001001_270p65x48y69_f158",
        target="270p65x48y69",
        asn_id="o001",
    )
    other.write(folder / "other_asn.json")


def _matches(expected: list[str], actual: list[str]) -> bool:
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_console_examples_print_what_they_show(document: Path, tmp_path: Path) -> None:
    steps = [s for s in console_steps(document) if s.output]
    if not steps:
        pytest.skip("no console example with output")
    _prepare(tmp_path)
    script = ["status=0"]
    for index, step in enumerate(steps):
        script += [f"echo {MARK} {index}", f"(exit $status); {step.command} 2>&1", "status=$?"]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("COLUMNS", None)
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = re.split(rf"^{MARK} \d+\n", run.stdout, flags=re.MULTILINE)[1:]
    assert len(outputs) == len(steps), run.stderr
    for step, output in zip(steps, outputs, strict=True):
        actual = [line.rstrip() for line in output.splitlines()]
        assert _matches(step.output, actual), (
            f"{document.name}, line {step.line}: $ {step.command}\n" + "\n".join(actual)
        )


def _parse(group: click.Group, args: list[str]) -> None:
    """Parse ``args`` as the command line would, without running anything."""
    with group.make_context("roman-asn", list(args), resilient_parsing=False) as ctx:
        unparsed = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, command, rest = group.resolve_command(ctx, unparsed)
        assert command is not None, name
        if isinstance(command, click.Group):
            _parse(command, rest)
        else:
            command.make_context(name, rest, parent=ctx).close()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_documented_command_line_parses(document: Path) -> None:
    commands = documented_commands(document)
    if not commands:
        pytest.skip("no roman-asn command line")
    for step in commands:
        args = shlex.split(step.command.replace("\\\n", " "), comments=True)[1:]
        try:
            _parse(cli, args)
        except click.ClickException as error:
            pytest.fail(f"{document.name}, line {step.line}: $ {step.command}: {error}")


def test_the_session_reader_and_matcher():
    assert _matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert _matches(["a", "...", "z"], ["a", "z"])
    assert not _matches(["a", "z"], ["a", "b", "z"])
    assert shutil.which("bash")


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    """The README's ```python block, run as written in a folder with its pool."""
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert blocks
    _prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert '"asn_rule": "Asn_Lv2Image"' in capsys.readouterr().out
    assert (tmp_path / "copy_asn.json").read_bytes() == (
        tmp_path / "asn" / "r00001-o001_image_001_asn.json"
    ).read_bytes()
