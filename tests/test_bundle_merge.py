"""A bundle's bytes do not depend on the parts a run hands the writer: records are in
global file-name order, whether one result holds the whole pool or several hold
program units or arbitrary, interleaved sets of associations (ranges of sky cells).
Several parts are written as sorted runs and merged on closing; a failure at any
point leaves no bundle and no temporary file.
"""

from __future__ import annotations

import dataclasses
import errno
import threading
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import roman_asn.generator.bundle as bundle_module
from roman_asn.atomic import WriteError
from roman_asn.generator.bundle import iter_bundle, write_bundle
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.sorted_runs import merge_sorted
from roman_asn.rules.loader import load_rules
from roman_asn.synth import synth_pool

SUFFIXES = [".jsonl", ".parquet"]


@pytest.fixture(scope="module")
def result() -> GenerationResult:
    """A small mixed-survey pool's associations, sky-cell rules included."""
    made = generate(synth_pool(12, seed=3), load_rules())
    assert made.associations.height > 300
    assert made.associations["program"].n_unique() > 1
    return made


def hash_parts(result: GenerationResult, parts: int, seed: int = 0) -> list[GenerationResult]:
    """``result`` split into ``parts`` results by a hash of the file name: names of
    every part interleave (other fields the same)."""
    part = result.associations["file_name"].hash(seed) % parts
    return [
        dataclasses.replace(result, associations=result.associations.filter(part == index))
        for index in range(parts)
    ]


def program_parts(result: GenerationResult) -> list[GenerationResult]:
    frame = result.associations
    programs = sorted(frame["program"].unique().to_list(), reverse=True)  # not in name order
    return [
        dataclasses.replace(result, associations=frame.filter(pl.col("program") == p))
        for p in programs
    ]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("split", ["program", "hash", "with empty parts"])
def test_parts_give_the_bytes_of_one_write(result, tmp_path, suffix, split):
    one, several = tmp_path / f"one{suffix}", tmp_path / f"several{suffix}"
    parts = program_parts(result) if split == "program" else hash_parts(result, 3)
    assert len(parts) > 1 and all(p.associations.height for p in parts)
    if split == "with empty parts":  # first (the bundle itself), middle and last
        empty = dataclasses.replace(result, associations=result.associations.head(0))
        parts = [empty, parts[0], empty, *parts[1:], empty]
    assert write_bundle(result, one) == write_bundle(parts, several)
    assert several.read_bytes() == one.read_bytes()
    names = [entry.file_name for entry in iter_bundle(several)]
    assert names == sorted(names) == result.associations["file_name"].to_list()
    assert leftovers(tmp_path) == []


@given(
    seed=st.integers(0, 2**32),
    parts=st.integers(1, 5),
    suffix=st.sampled_from(SUFFIXES),
    run_rows=st.integers(8, 128),
    block_bytes=st.integers(1_000, 100_000),
    chunk=st.sampled_from([97, 20_000]),
)
@settings(max_examples=15, deadline=None)
def test_any_split_gives_the_bytes_of_one_write(
    result, tmp_path_factory, seed, parts, suffix, run_rows, block_bytes, chunk
):
    """Any interleaving, some parts possibly empty, with small run blocks (many merge
    steps, lines longer than a block) and chunks (Parquet row groups)."""
    folder = tmp_path_factory.mktemp("split")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundle_module, "RUN_ROWS", run_rows)
        patch.setattr(bundle_module, "MIN_BLOCK_BYTES", block_bytes)
        patch.setattr(bundle_module, "MERGE_BYTES", block_bytes)
        patch.setattr(bundle_module, "MERGE_ROWS", run_rows * parts)
        patch.setattr(bundle_module, "CHUNK", chunk)
        write_bundle(result, folder / f"one{suffix}")
        write_bundle(hash_parts(result, parts, seed), folder / f"several{suffix}")
    assert (folder / f"several{suffix}").read_bytes() == (folder / f"one{suffix}").read_bytes()
    assert leftovers(folder) == []


@given(
    keys=st.lists(st.text(max_size=6), unique=True, max_size=60),
    runs=st.integers(1, 6),
    seed=st.randoms(use_true_random=False),
)
@settings(max_examples=200, deadline=None)
def test_merge_sorted_gives_every_row_once_in_order(keys, runs, seed):
    """Runs of random sorted keys, cut into random blocks, merge into the sorted keys."""
    assigned: list[list[str]] = [[] for _ in range(runs)]
    for key in keys:
        assigned[seed.randrange(runs)].append(key)
    sources = []
    for run in assigned:
        run.sort()
        cuts = sorted(seed.sample(range(len(run) + 1), min(3, len(run) + 1)))
        bounds = [0, *cuts, len(run)]
        sources.append(
            [
                pl.DataFrame({"k": run[a:b], "v": [len(x) for x in run[a:b]]}, schema=SCHEMA)
                for a, b in zip(bounds, bounds[1:], strict=False)
            ]
        )
    merged = list(merge_sorted(sources, "k"))
    out = pl.concat(merged) if merged else pl.DataFrame(schema=SCHEMA)
    expected = sorted(keys, key=lambda k: k.encode())
    assert out["k"].to_list() == expected
    assert out["v"].to_list() == [len(k) for k in expected]


SCHEMA = {"k": pl.String, "v": pl.Int64}


def _failing_merge(error: BaseException):
    """A merge that hands out one block and then fails with ``error``."""

    def merge(runs, key):
        yield next(iter(merge_sorted(runs, key)))
        raise error

    return merge


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    "error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()]
)
def test_a_failed_merge_leaves_the_old_bundle_and_no_temporary_file(
    result, tmp_path, monkeypatch, suffix, error
):
    path = tmp_path / f"asn{suffix}"
    path.write_bytes(b"an earlier bundle")
    monkeypatch.setattr(bundle_module, "merge_sorted", _failing_merge(error))
    expected = WriteError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        write_bundle(hash_parts(result, 3), path)
    if expected is WriteError:
        assert str(path) in str(raised.value) and "No space left" in str(raised.value)
    assert path.read_bytes() == b"an earlier bundle"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_write_failing_while_the_next_block_is_merged_leaves_nothing(
    result, tmp_path, monkeypatch, suffix
):
    """The merge writes a block while a thread merges the next: a full disk under the
    write stops the thread before the runs are closed, and leaves no bundle, no run
    and no thread behind."""
    path = tmp_path / f"asn{suffix}"
    sink, method = (
        (bundle_module._JsonLinesFile, "write_lines")
        if suffix == ".jsonl"
        else (bundle_module._ParquetFile, "write")
    )
    real_merge, real_write = bundle_module.BundleWriter._merge, getattr(sink, method)
    written = []

    def write(self, data):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(data)
        real_write(self, data)

    def merge(self):
        monkeypatch.setattr(sink, method, write)  # the parts were written: fail in the merge
        real_merge(self)

    monkeypatch.setattr(bundle_module, "MERGE_ROWS", 64)  # several blocks to merge
    monkeypatch.setattr(bundle_module, "MERGE_BYTES", 4096)
    monkeypatch.setattr(bundle_module, "CHUNK", 64)  # a Parquet bundle: several writes
    monkeypatch.setattr(bundle_module.BundleWriter, "_merge", merge)
    with pytest.raises(WriteError, match="No space left"):
        write_bundle(hash_parts(result, 3), path)
    assert written  # the first block went out, the second failed
    assert not path.exists()
    assert leftovers(tmp_path) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("bundle-merge")]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_failed_run_or_caller_leaves_nothing(result, tmp_path, monkeypatch, suffix):
    """A part that fails while written to its run, or a caller that fails after
    several parts: no bundle, no run left."""
    path = tmp_path / f"asn{suffix}"
    with pytest.raises(RuntimeError, match="caller"), bundle_module.BundleWriter(path) as writer:
        for part in hash_parts(result, 3):
            writer.write(part)
        raise RuntimeError("caller")
    real = bundle_module._chunks
    calls = []

    def chunks(part, *, pretty):
        calls.append(part)
        if len(calls) == 2:  # the second part, the first one written to a run
            raise OSError(errno.EIO, "Input/output error")
        yield from real(part, pretty=pretty)

    monkeypatch.setattr(bundle_module, "_chunks", chunks)
    with pytest.raises(WriteError, match="Input/output error"):
        write_bundle(hash_parts(result, 3), path)
    assert not path.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_sky_cell_units_give_the_bytes_of_one_write(tmp_path, monkeypatch, suffix):
    """``run`` with the sky-cell rules a range of cells at a time (small units, so
    several parts whose names interleave) writes the bundle of the whole run."""
    from functools import partial

    from roman_asn.generator import cell_units
    from roman_asn.outputs import open_output
    from roman_asn.run import run

    pool = synth_pool(12, seed=3)
    run(pool, output=open_output(bundle=tmp_path / f"whole{suffix}"), by_cells=False)
    parts = []
    by_cells = partial(cell_units.generate_by_cells, unit_pairs=300)
    monkeypatch.setattr(
        cell_units,
        "generate_by_cells",
        lambda *a, **k: (parts.append(p) or p for p in by_cells(*a, **k)),
    )
    run(pool, output=open_output(bundle=tmp_path / f"cells{suffix}"), by_cells=True)
    assert len(parts) > 3
    whole = (tmp_path / f"whole{suffix}").read_bytes()
    assert (tmp_path / f"cells{suffix}").read_bytes() == whole
    assert leftovers(tmp_path) == []
