"""Work that the benchmarks time inside a child process.

``python benchmarks/_tasks.py read POOL`` and ``... synth EXPOSURES OUT`` print
one JSON line with what was done and how long the work itself took (without
interpreter start-up and imports), so the parent can report rows/s as well as
the whole process's wall time and peak memory.
"""

from __future__ import annotations

import json
import os
import sys
import time


def read(path: str) -> dict:
    from roman_asn.pool import read_pool

    start = time.perf_counter()
    pool = read_pool(path)
    seconds = time.perf_counter() - start
    return {"rows": len(pool), "columns": len(pool.columns), "seconds": seconds}


def synth(exposures: str, output: str, survey: str = "mixed") -> dict:
    from roman_asn.pool import write_pool
    from roman_asn.synth import synth_pool

    start = time.perf_counter()
    pool = synth_pool(int(exposures), seed=0, survey=survey)
    generated = time.perf_counter() - start
    write_pool(pool, output)
    total = time.perf_counter() - start
    return {"rows": len(pool), "seconds": generated, "write_seconds": total - generated}


def synth_programs(rows: str, output: str, block_rows: str = "1000000") -> dict:
    """A pool of ``rows`` rows made of synth-pool blocks (seed k for block k) whose
    programs are renumbered (1, 2, 9 -> 1+10k, 2+10k, 9+10k), so the pool has three
    programs per block instead of three in all. Written block by block (bounded
    memory) as one Parquet file with a row group per block."""
    import polars as pl
    import pyarrow.parquet as pq

    from roman_asn.atomic import atomic_path
    from roman_asn.pool.columns import ROW_COLUMN
    from roman_asn.synth import synth_pool

    start = time.perf_counter()
    total, remaining, block, writer = 0, int(rows), 0, None
    with atomic_path(output) as tmp:
        while remaining > 0:
            size = min(int(block_rows), remaining)
            table = synth_pool(-(-size // 18), seed=block).table.drop(ROW_COLUMN)
            program = (pl.col("program") + 10 * block).cast(pl.Utf8).str.zfill(5)
            table = table.with_columns(
                (pl.col("program") + 10 * block).alias("program"),
                pl.concat_str([program, pl.col("visit_id").str.slice(5)]).alias("visit_id"),
                pl.concat_str([pl.lit("r"), program, pl.col("filename").str.slice(6)]).alias(
                    "filename"
                ),
                pl.concat_str([program, pl.col("observation_id").str.slice(5)]).alias(
                    "observation_id"
                ),
            )
            arrow = table.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, arrow.schema, compression="zstd")
            writer.write_table(arrow)
            total += table.height
            remaining -= table.height
            block += 1
        writer.close()
    return {"rows": total, "programs": 3 * block, "seconds": time.perf_counter() - start}


def explain(path: str, row: str, mode: str = "scoped") -> dict:
    """``roman-asn explain POOL #ROW`` with the default rules (sky cells on), timed after
    the imports: ``scoped`` (the groups the row can touch) or ``whole`` (one run over
    the whole pool, as explain did before). ``digest`` tells the two answers apart."""
    import hashlib

    import roman_asn.skycells.lookup  # noqa: F401  (imported before the clock starts)
    from roman_asn.generator.explain import explain_rows
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.generator.skycell_rules import skycells  # noqa: F401
    from roman_asn.pool.subset import PoolRows
    from roman_asn.rules.loader import load_rules

    rules = load_rules()
    start = time.perf_counter()
    source = PoolRows.open(path)
    (story,) = explain_rows(source, rules, GenerateOptions(), [int(row)], whole=mode == "whole")
    seconds = time.perf_counter() - start
    notes, story.notes = story.notes, []
    return {
        "seconds": seconds,
        "joined": len(story.joined),
        "dropped": len(story.dropped),
        "notes": notes,
        "digest": hashlib.sha256(repr(story).encode()).hexdigest()[:16],
    }


def associations(pool: str, output: str) -> dict:
    """Generate ``pool`` with the default rules and keep its association table (Parquet),
    so bundle writes can be timed without generating again."""

    import pyarrow.parquet as pq

    from roman_asn.atomic import atomic_path
    from roman_asn.generator.engine import generate
    from roman_asn.pool import read_pool
    from roman_asn.rules.loader import load_rules

    start = time.perf_counter()
    result = generate(read_pool(pool), load_rules())
    seconds = time.perf_counter() - start
    table = result.associations.to_arrow().replace_schema_metadata({"asn_pool": result.asn_pool})
    with atomic_path(output) as tmp:
        pq.write_table(table, tmp)
    return {"associations": result.associations.height, "seconds": seconds}


def bundle_parts(associations: str, output: str, parts: str) -> dict:
    """Write the association table ``associations`` (from :func:`associations`) as the
    bundle ``output`` from ``parts`` results split by a hash of the file name (the most
    interleaved case: every run spans the whole name range); time the write alone."""
    import dataclasses
    import threading

    import polars as pl
    import pyarrow.parquet as pq

    from roman_asn.generator.bundle import write_bundle
    from roman_asn.generator.engine import GenerationResult
    from roman_asn.generator.options import GenerateOptions

    frame = pl.read_parquet(associations)
    asn_pool = pq.read_schema(associations).metadata[b"asn_pool"].decode()
    result = GenerationResult(
        associations=frame,
        dropped=pl.DataFrame(),
        orphans=pl.DataFrame(),
        options=GenerateOptions(asn_pool=asn_pool),
        asn_pool=asn_pool,
        rules=[],
        n_rows=0,
    )
    count = int(parts)
    if count > 1:
        part = frame["file_name"].hash(1) % count
        results = [
            dataclasses.replace(result, associations=frame.filter(part == k)) for k in range(count)
        ]
    else:
        results = [result]
    del frame, result
    before_mb = _rss_mb()
    highest = [before_mb]
    done = threading.Event()

    def sample() -> None:  # resident memory during the write, every 20 ms
        while not done.wait(0.02):
            highest[0] = max(highest[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    written = write_bundle(results, output)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    sampler.join()
    return {
        "associations": written,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_write_mb": before_mb,
        "write_peak_mb": highest[0],
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


TASKS = {
    "read": read,
    "synth": synth,
    "synth_programs": synth_programs,
    "associations": associations,
    "bundle_parts": bundle_parts,
    "explain": explain,
}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(TASKS[name](*args)))
