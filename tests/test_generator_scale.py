"""Scale paths of the generator: program partitions, Dask, chunked reading, bundles.

Each path must give byte-for-byte what the single-process run gives. The runs on
real multi-process Dask clusters take tens of seconds and are marked slow
(``pytest -m slow``); the default run covers the Dask path on an in-process cluster.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn import load_asn
from roman_asn.cli import cli, main
from roman_asn.errors import RomanAsnError
from roman_asn.generator import chunked
from roman_asn.generator.bundle import BundleWriter, iter_bundle, write_bundle
from roman_asn.generator.chunked import generate_chunked, split_pool
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.partition import balance, split_by_program
from roman_asn.generator.writer import render_texts
from roman_asn.pool import read_pool
from roman_asn.rules.loader import load_rules
from roman_asn.synth import synth_pool

RULES = load_rules()


@pytest.fixture(scope="module")
def pools(tmp_path_factory) -> dict[str, Path]:
    """A mixed-survey pool (programs 1, 2 and 9) as Parquet and as a legacy text pool."""
    folder = tmp_path_factory.mktemp("pools")
    pool = synth_pool(150, seed=4)
    paths = {"parquet": folder / "r00001_pool.parquet", "legacy": folder / "r00001_pool.csv"}
    pool.write(paths["parquet"])
    pool.write(paths["legacy"])
    return paths


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@given(st.lists(st.integers(0, 1000), max_size=40), st.integers(1, 8))
@settings(max_examples=200, deadline=None)
def test_balance_places_every_key_once_in_at_most_parts_bins(sizes: list[int], parts: int):
    items = list(enumerate(sizes))
    bins = balance(items, parts)
    assert sorted(k for b in bins for k in b) == list(range(len(sizes)))
    assert len(bins) <= parts and all(bins)
    assert bins == balance(list(reversed(items)), parts)  # input order does not matter
    if bins:  # greedy bound: no bin exceeds the ideal share by more than the largest item
        loads = [sum(sizes[k] for k in b) for b in bins]
        assert max(loads) <= sum(sizes) / len(bins) + max(sizes)


def test_program_parts_are_disjoint_and_give_the_same_files(pools):
    pool = read_pool(pools["parquet"])
    parts = split_by_program(pool.table, 2)
    assert len(parts) == 2
    programs = [set(p["program"].to_list()) for p in parts]
    assert not programs[0] & programs[1]
    options = GenerateOptions(asn_pool=pool.name)
    joined = GenerationResult.concat([generate(p, RULES, options) for p in parts])
    whole = generate(pool, RULES)
    assert dict(render_texts(joined)) == dict(render_texts(whole))
    assert joined.orphans["pool_row"].equals(whole.orphans["pool_row"])


def test_dask_in_process_cluster_gives_the_same_result(pools):
    """The Dask path (scatter, map over program parts, gather in order) without the
    cost of starting worker processes."""
    from distributed import Client

    from roman_asn.generator.distributed import generate_on_cluster

    source = read_pool(pools["legacy"])
    whole = generate(source, RULES)
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        spread = generate_on_cluster(source, RULES, GenerateOptions(), c)
    assert whole.associations.height > 100
    assert dict(render_texts(spread)) == dict(render_texts(whole))
    assert spread.orphans.equals(whole.orphans)


@pytest.mark.slow
def test_dask_local_cluster_writes_the_same_files(pools, tmp_path):
    """A real two-worker cluster on loopback, through the command line."""
    pool = str(pools["legacy"])
    run_cli("generate", pool, "-o", str(tmp_path / "one"), "--orphans", str(tmp_path / "o1.csv"))
    output = run_cli(
        "generate",
        pool,
        "-o",
        str(tmp_path / "dask"),
        "--workers",
        "2",
        "--orphans",
        str(tmp_path / "o2.csv"),
    )
    assert "wrote" in output
    one, dask = files_of(tmp_path / "one"), files_of(tmp_path / "dask")
    assert len(one) > 100 and one == dask
    # orphans keep the pool's text line numbers
    assert (tmp_path / "o1.csv").read_bytes() == (tmp_path / "o2.csv").read_bytes()
    assert pl.read_csv(tmp_path / "o2.csv")["line"].null_count() == 0


@pytest.mark.parametrize("kind", ["parquet", "legacy"])
def test_chunked_in_small_batches_gives_the_same_result(pools, tmp_path, kind):
    """Batches far smaller than the pool, units of about one program."""
    whole = generate(read_pool(pools[kind]), RULES)
    parts = list(
        generate_chunked(
            pools[kind],
            RULES,
            GenerateOptions(),
            batch_rows=500,
            batch_bytes=100_000,
            unit_rows=1,
            temp_dir=tmp_path,
        )
    )
    assert len(parts) == 3  # one unit per program
    joined = GenerationResult.concat(parts)
    assert dict(render_texts(joined)) == dict(render_texts(whole))
    assert joined.orphans.equals(whole.orphans)  # same rows, reasons and text lines
    assert list(tmp_path.iterdir()) == []  # temporary pieces removed


def test_split_pool_keeps_programs_whole(pools, tmp_path):
    split = split_pool(pools["legacy"], tmp_path, batch_bytes=50_000, unit_rows=10**9)
    assert split.n_rows == len(read_pool(pools["legacy"]))
    assert len(split.units) == 1 and split.unit_rows == [split.n_rows]
    assert sorted(split.program_rows) == ["1", "2", "9"]
    rows = pl.concat([pl.read_parquet(p) for p in split.units[0]], how="diagonal_relaxed")
    assert sorted(rows["pool_row"].to_list()) == list(range(split.n_rows))


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_bundle_entries_load_and_equal_the_files(pools, tmp_path, suffix):
    result = generate(read_pool(pools["parquet"]), RULES)
    folder = tmp_path / "files"
    run_cli("generate", str(pools["parquet"]), "-o", str(folder))
    bundle = tmp_path / f"asn{suffix}"
    assert write_bundle(result, bundle) == result.associations.height
    files = files_of(folder)
    seen = []
    for number, entry in enumerate(iter_bundle(bundle)):
        # every entry loads and is its file; the schema check (slow) on a sample
        association = load_asn(entry.text, validate=number % 97 == 0)
        assert association.dump().encode() == files[entry.file_name]
        seen.append(entry.file_name)
    assert sorted(seen) == sorted(files)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    if suffix == ".jsonl":  # one self-contained JSON record per line
        lines = bundle.read_text().splitlines()
        assert len(lines) == len(files)
        assert json.loads(lines[0])["association"]["products"]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_chunked_bundle_through_the_command_line(pools, tmp_path, monkeypatch, suffix):
    """Small units (one per program): the bundle, written as several parts merged on
    closing, has the bytes of the one-part bundle."""
    pool = str(pools["parquet"])
    run_cli("generate", pool, "--bundle", str(tmp_path / f"one{suffix}"))
    monkeypatch.setattr(chunked, "generate_chunked", partial(generate_chunked, unit_rows=500))
    parts = []
    write = BundleWriter.write
    monkeypatch.setattr(BundleWriter, "write", lambda w, r: parts.append(r) or write(w, r))
    run_cli("generate", pool, "--chunked", "--bundle", str(tmp_path / f"chunked{suffix}"))
    assert len(parts) == 3
    one = (tmp_path / f"one{suffix}").read_bytes()
    assert (tmp_path / f"chunked{suffix}").read_bytes() == one
    assert len(list(iter_bundle(tmp_path / f"one{suffix}"))) > 100


def test_chunked_files_match(pools, tmp_path):
    pool = str(pools["legacy"])
    run_cli("generate", pool, "-o", str(tmp_path / "one"), "--orphans", str(tmp_path / "a.json"))
    output = run_cli(
        "generate",
        pool,
        "-o",
        str(tmp_path / "chunked"),
        "--chunked",
        "--writer-threads",
        "2",
        "--orphans",
        str(tmp_path / "b.json"),
    )
    assert files_of(tmp_path / "one") == files_of(tmp_path / "chunked")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert "rows:" in output and "image" in output


def test_bad_bundle_suffix_and_conflicting_flags_are_user_errors(pools, tmp_path, capsys):
    pool = str(pools["parquet"])
    assert main(["generate", pool, "--bundle", str(tmp_path / "x.txt")]) == 2
    assert ".jsonl" in capsys.readouterr().err
    assert main(["generate", pool, "--workers", "2", "--scheduler", "tcp://x:1"]) == 2
    assert "not both" in capsys.readouterr().err
    with pytest.raises(RomanAsnError, match="line 2"):
        list(iter_bundle(_broken_bundle(tmp_path)))


def _broken_bundle(folder: Path) -> Path:
    path = folder / "broken.jsonl"
    path.write_text('{"file_name": "a_asn.json", "association": {}}\n{"nope": 1}\n')
    return path


@pytest.mark.slow
def test_existing_scheduler_with_chunked_units(pools, tmp_path):
    """--scheduler ADDRESS: units of the chunked split run on a cluster started here."""
    from distributed import LocalCluster

    pool = str(pools["legacy"])
    run_cli("generate", pool, "--bundle", str(tmp_path / "one.jsonl"))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run_cli(
            "generate",
            pool,
            "--scheduler",
            cluster.scheduler_address,
            "--chunked",
            "--bundle",
            str(tmp_path / "dask.jsonl"),
        )
    one = (tmp_path / "one.jsonl").read_bytes()
    assert (tmp_path / "dask.jsonl").read_bytes() == one and one.count(b"\n") > 100


@pytest.mark.parametrize("delay", [1.0, 3.5])  # while the cluster starts, while it works
def test_ctrl_c_with_dask_workers_prints_one_line(tmp_path, delay):
    """Ctrl-C reaches the whole process group, the Dask workers too: they printed
    KeyboardInterrupt tracebacks, and the scheduler logged its teardown mid-task."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pool = tmp_path / "survey.parquet"
    assert main(["synth-pool", "-o", str(pool), "--exposures", "2000", "-q"]) == 0
    bundle = tmp_path / "all.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "roman_asn", "generate", str(pool), "--workers", "2"]
        + ["--bundle", str(bundle), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a shell's job
    )
    time.sleep(delay)
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=60)
    if child.returncode != 0:  # else it finished first
        assert (child.returncode, err.strip()) == (130, "Interrupted.")
        assert not bundle.exists()
    assert "Traceback" not in err and "distributed" not in err, err
