"""The association catalog on SQLite and PostgreSQL: ingest, names, versions, staleness."""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from catalog_helpers import assert_find_agrees_with_versions, catalog_meaning, generated_meaning
from generator_helpers import pool, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roman_asn import generate, load_asn, load_rules, read_pool
from roman_asn.catalog import Catalog, CatalogError, export
from roman_asn.catalog.catalog import as_dicts, processing_stage
from roman_asn.errors import PoolError
from roman_asn.outputs import open_output
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN

DEMO = Path(str(files("roman_asn.data").joinpath("demo_pool.csv")))
RULES = load_rules()


def slicings(examples: int):
    """A hypothesis test drawing slicings of a pool (each example ingests them all)."""

    def decorate(test):
        return settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )(given(data=st.data())(test))

    return decorate


@pytest.fixture(scope="module")
def demo() -> Pool:
    return read_pool(DEMO)


@pytest.fixture(scope="module")
def demo_generated(demo):
    return generate(demo, RULES)


def parts(demo: Pool, labels: list[int]) -> list[Pool]:
    """The demo pool split into slices by row label (a slice per distinct label)."""
    table = demo.table.with_columns(pl.Series("__part", labels))
    out = []
    for label in sorted(set(labels)):
        piece = table.filter(pl.col("__part") == label).drop("__part", ROW_COLUMN)
        out.append(Pool.from_frame(piece, path=f"part{label}.csv"))
    return out


@pytest.fixture(scope="module")
def sub_surveys(demo) -> Pool:
    """The demo pool with its GBTDS detector files in sub-surveys, by detector number:
    Survey/GBTDS, GBTDS/A or GBTDS/"b ": three groups for each target, pass and filter,
    whose products are named apart (``-2``, ``-3``)."""
    table = demo.table.drop(ROW_COLUMN)
    number = pl.col("detector").str.extract(r"(\d+)$").cast(pl.Int64)
    gbtds, pick = pl.col("category") == "GBTDS", number % 3
    table = table.with_columns(
        category=pl.when(gbtds & (pick == 0)).then(pl.lit("Survey")).otherwise("category"),
        subcategory=pl.when(~gbtds)
        .then("subcategory")
        .when(pick == 0)
        .then(pl.lit("GBTDS"))
        .when(pick == 1)
        .then(pl.lit("A"))
        .otherwise(pl.lit("b ")),
    )
    return Pool.from_frame(table, path="sub_surveys.csv")


# (category, subcategory) of a GBTDS row: the sub-surveys a test moves files between
SUB_SURVEYS = [("Survey", "GBTDS"), ("GBTDS", "A"), ("GBTDS", "b "), ("GBTDS", None)]


def apart_from_clash_numbers(meaning: Counter) -> Counter:
    """``meaning`` with product names taken without the ``-N`` that names products of
    one name apart: a catalog numbers them in the order they arrive, and never renames."""
    out: Counter = Counter()
    for (asn_type, members, product, *rest), count in meaning.items():
        out[(asn_type, members, re.sub(r"-\d+$", "", product), *rest)] += count
    return out


def assert_holds_apart_from_clash_numbers(catalog, generated) -> None:
    """The catalog holds what ``generated`` holds (nothing, for None), product names
    apart from their -N, and every current product is named apart, by one -N."""
    expected = generated_meaning(generated) if generated is not None else Counter()
    assert apart_from_clash_numbers(catalog_meaning(catalog)) == apart_from_clash_numbers(expected)
    current = [n for r in catalog.current_results() for n in r.associations["product_name"]]
    assert len(current) == len(set(current))
    assert not [name for name in current if re.search(r"-\d+-\d+$", name)]
    assert_find_agrees_with_versions(catalog)


def ingest_in_order_and_compare(location, pool: Pool, labels: list[int], order) -> None:
    """Slices of ``pool`` ingested in ``order``: the catalog holds what generate makes,
    products named apart whatever the order (their -N may differ from generate's)."""
    generated = generate(pool, RULES)
    products = generated.associations.filter(pl.col("rule") == "Asn_Lv3GBTDSFull")
    assert products.height == 3 and products["product_name"].str.ends_with("-3").any()
    slices = parts(pool, labels)
    with Catalog.open(location, create=True) as catalog:
        for i in order:
            catalog.ingest([slices[i]], RULES)
        assert_holds_apart_from_clash_numbers(catalog, generated)


@slicings(4)
def test_gbtds_sub_surveys_in_any_slicing_give_what_generate_gives(new_catalog, data, sub_surveys):
    n = sub_surveys.table.height
    k = data.draw(st.integers(2, 4), label="slices")
    labels = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n), label="labels")
    order = data.draw(st.permutations(range(len(set(labels)))), label="order")
    ingest_in_order_and_compare(new_catalog(), sub_surveys, labels, order)


@slicings(5)
def test_ingests_withdrawals_and_returns_in_any_order_give_what_generate_gives(
    new_catalog, data, sub_surveys
):
    """Slices ingested in any order, files withdrawn between them and some ingested
    again, GBTDS files moved to another sub-survey (changed metadata): the catalog
    holds what generate makes of the files in it as they are now (products named
    apart; an association keeps its product while it is current)."""
    table = sub_surveys.table.drop(ROW_COLUMN)
    labels = data.draw(
        st.lists(st.integers(0, 2), min_size=table.height, max_size=table.height), label="labels"
    )
    slices = parts(sub_surveys, labels)
    order = data.draw(st.permutations(range(len(slices))), label="order")
    present: set[str] = set()
    withdrawn: set[str] = set()
    issued: dict[str, str] = {}
    bulge = set(table.filter(pl.col("category").is_in(["GBTDS", "Survey"]))["filename"].to_list())
    location = new_catalog()

    def rows_of(names) -> Pool:
        return Pool.from_frame(table.filter(pl.col("filename").is_in(sorted(names))), path="x.csv")

    with Catalog.open(location, create=True) as catalog:
        steps = [("ingest", i) for i in order] + [("return", None)]
        for step, i in steps:
            if step == "ingest":
                catalog.ingest([slices[i]], RULES)
                present |= set(slices[i].table["filename"].to_list())
            elif withdrawn:
                back = data.draw(st.sets(st.sampled_from(sorted(withdrawn)), min_size=1))
                catalog.ingest([rows_of(back)], RULES)
                present |= back
                withdrawn -= back
            if present and data.draw(st.booleans(), label="withdraw"):
                gone = data.draw(st.sets(st.sampled_from(sorted(present)), min_size=1, max_size=30))
                catalog.withdraw(sorted(gone), RULES)
                present -= gone
                withdrawn |= gone
            movable = sorted(present & bulge)
            if movable and data.draw(st.booleans(), label="move"):  # changed metadata
                moved = data.draw(st.sets(st.sampled_from(movable), min_size=1, max_size=20))
                category, subcategory = data.draw(st.sampled_from(SUB_SURVEYS), label="to")
                table = table.with_columns(
                    pl.when(pl.col("filename").is_in(sorted(moved)))
                    .then(pl.lit(value, dtype=pl.Utf8))
                    .otherwise(pl.col(column))
                    .alias(column)
                    for column, value in (("category", category), ("subcategory", subcategory))
                )
                catalog.ingest([rows_of(moved)], RULES)
            now = {
                name: product
                for result in catalog.current_results()
                for name, product in zip(
                    result.associations["file_name"],
                    result.associations["product_name"],
                    strict=True,
                )
            }
            # a product stays with its association while it is current (one that comes
            # back after its retirement may find its product name taken, and renumber)
            assert all(issued[name] == now[name] for name in issued.keys() & now.keys())
            issued = now
        assert_holds_apart_from_clash_numbers(
            catalog, generate(rows_of(present), RULES) if present else None
        )


def test_a_new_product_named_like_a_current_numbered_one_takes_the_next_free_number(
    catalog_location, sub_surveys
):
    """Found by the test above: a day's new sub-survey product that generate named
    X-2 while the catalog already held X and X-2 was named X-2-2; it is X-3 now (the
    next number free among the current X, X-N and the run's own names)."""
    labels = [0] * 96 + [3, 0, 3, 0, 1, 3, 2, 2, 3, 0, 0, 2, 1, 3, 2, 2, 3, 0, 2, 1, 0, 0, 1]
    labels += [3, 2, 3, 3, 3, 2, 2, 3, 2, 3, 0, 2, 1, 1, 3, 0, 3, 1, 0, 0, 1, 1, 0, 3, 2, 1]
    assert len(labels) == sub_surveys.table.height
    ingest_in_order_and_compare(catalog_location, sub_surveys, labels, [0, 1, 3, 2])


def test_halves_give_what_generate_gives(catalog_location, demo, demo_generated):
    half = demo.table.height // 2
    labels = [0] * half + [1] * (demo.table.height - half)
    with Catalog.open(catalog_location, create=True) as catalog:
        first, second = (catalog.ingest([p], RULES) for p in parts(demo, labels))
        assert first.new and second.new
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
        again = catalog.ingest([parts(demo, labels)[1]], RULES)
        assert (again.new, again.changed, again.retired) == ([], [], [])
        assert again.unchanged == demo.table.height - half
        assert catalog.stats()["versions"] == sum(
            1 + 0 for _ in range(catalog.stats()["associations"])
        ) + len(second.changed)


def test_a_first_load_by_sky_cells_gives_what_generate_gives(
    catalog_location, demo, demo_generated, monkeypatch
):
    """A big first load goes a range of sky cells at a time (forced here on the demo)."""
    from roman_asn.generator import cell_units

    monkeypatch.setattr(cell_units, "BY_CELLS_FROM_ROWS", 1)
    monkeypatch.setattr(cell_units, "UNIT_PAIRS", 300)
    half = demo.table.height * 2 // 3
    labels = [0] * half + [1] * (demo.table.height - half)
    first_day, second_day = parts(demo, labels)
    told: list[str] = []
    with Catalog.open(catalog_location, create=True) as catalog:
        first = catalog.ingest([first_day], RULES, progress=told.append)
        units = [t for t in told if t.startswith("sky cells: unit ")]
        assert len(units) > 1 and units[-1].startswith(f"sky cells: unit {len(units)} of")
        alone = generate(first_day, RULES)
        assert catalog_meaning(catalog) == generated_meaning(alone)
        assert len(first.new) == alone.associations.height
        catalog.ingest([second_day], RULES)  # a later day goes the usual way
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)


def test_a_first_load_recorded_in_slices_names_as_one(tmp_path, demo, monkeypatch):
    """A first load's big part is recorded a slice of associations at a time; names,
    ids and members are those of one whole recording, to the letter."""
    from roman_asn.catalog import ingest
    from roman_asn.generator import cell_units

    monkeypatch.setattr(cell_units, "BY_CELLS_FROM_ROWS", 1)
    listed = []
    for size in (ingest.RECORD_SLICE, 7):
        monkeypatch.setattr(ingest, "RECORD_SLICE", size)
        with Catalog.open(tmp_path / f"slice{size}.db", create=True) as catalog:
            catalog.ingest([demo], RULES)
            listed.append(catalog.changes(0))
            assert catalog_meaning(catalog) == generated_meaning(generate(demo, RULES))
    assert listed[0] == listed[1]
    assert len(listed[0]["new"]) > 7 * 3


@slicings(5)
def test_any_slicing_in_any_order_gives_what_generate_gives(
    tmp_path_factory, data, demo, demo_generated
):
    n = demo.table.height
    k = data.draw(st.integers(1, 4), label="slices")
    labels = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n), label="labels")
    slices = parts(demo, labels)
    order = data.draw(st.permutations(range(len(slices))), label="order")
    location = tmp_path_factory.mktemp("slicing") / "catalog.db"
    with Catalog.open(location, create=True) as catalog:
        names_seen: dict[str, str] = {}
        for i in order:
            report = catalog.ingest([slices[i]], RULES, with_changes=True)
            # the run's own change list (members it worked out) is the one read back,
            # and its counts say the same
            listed = as_dicts(report.change_list)
            assert listed == catalog.changes(report.run_id - 1)
            for kind in ("new", "changed", "retired"):
                assert sorted(e["name"] for e in listed[kind]) == getattr(report, kind)
            for result in catalog.current_results():
                for name, group in zip(
                    result.associations["file_name"],
                    result.associations["product_name"],
                    strict=True,
                ):
                    names_seen.setdefault(name, group)
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
        # names once issued stay with their association
        now = {
            n: p
            for r in catalog.current_results()
            for n, p in zip(
                r.associations["file_name"], r.associations["product_name"], strict=True
            )
        }
        assert all(names_seen[n] == p for n, p in now.items())


def test_a_row_that_names_no_file_costs_its_group_not_the_ingest(catalog_location, demo):
    """A visit_id of '../x' makes a product name romancal cannot write: generate drops
    that group with the reason, and the catalog (ingested in halves) agrees."""
    table = demo.table.with_columns(
        pl.when(pl.col(ROW_COLUMN) == 0)
        .then(pl.lit("../x"))
        .otherwise(pl.col("visit_id"))
        .alias("visit_id")
    ).drop(ROW_COLUMN)
    bad = Pool.from_frame(table, path="bad.csv")
    generated = generate(bad, RULES)
    assert any(
        "'r../x_0001_fov' is not a plain file name" in r for r in generated.dropped["reason"]
    )
    half = table.height // 2
    with Catalog.open(catalog_location, create=True) as catalog:
        for piece in (table.head(half), table.slice(half)):
            catalog.ingest([Pool.from_frame(piece, path="part.csv")], RULES)
        assert catalog_meaning(catalog) == generated_meaning(generated)


def test_changed_metadata_versions_and_withdraw_retires(catalog_location):
    rows = [row(visit=1, exposure=e, detector=d) for e in (1, 2) for d in (1, 2)]
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool(rows)], RULES)
        before = {e["name"]: e for e in catalog.changes(0)["new"]}
        mosaic = next(n for n, e in before.items() if e["asn_type"] == "mosaic")
        # one file changes filter: its mosaic loses a member (new version), a new one appears
        changed = [dict(r) for r in rows]
        changed[0]["optical_element"] = "F087"
        report = catalog.ingest([pool(changed, name="day2.csv")], RULES)
        assert report.updated == 1 and report.unchanged == 3
        assert mosaic in report.changed
        shown = catalog.show(mosaic)
        assert shown["version"] == 2
        assert shown["history"][1]["members_removed"] == [
            rows[0]["filename"].replace("_uncal", "_cal")
        ]
        assert any("f087" in catalog.show(n)["product_name"] for n in report.new)
        # names stay: nothing renamed
        after = {e["name"] for e in catalog.changes(0)["new"]} | set(report.new)
        assert set(before) <= after | set(report.retired)
        # withdraw the F087 file: its own associations are retired, never deleted
        gone = catalog.withdraw([rows[0]["filename"]], RULES, with_changes=True)
        assert gone.withdrawn == 1 and gone.retired
        listed = as_dicts(gone.change_list)
        assert listed == catalog.changes(gone.run_id - 1)
        assert sorted(e["name"] for e in listed["retired"]) == gone.retired
        for name in gone.retired:
            assert catalog.show(name)["retired_reason"] == "left without members"
        assert not catalog.find(rows[0]["filename"])[0]["current"]


def test_discovered_retired_when_identical_to_candidate(catalog_location):
    """Day 1: r1 (o001) and r2 (o002) make a discovered mosaic of both; withdrawing r2
    leaves it identical to o001's mosaic: retired with the reason, o001's untouched."""
    r1 = row(visit=1, exposure=1, candidates="[('o001', 'observation')]")
    r2 = row(visit=2, exposure=1, candidates="[('o002', 'observation')]")
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool([r1, r2])], RULES)
        discovered = [e for e in catalog.changes(0)["new"] if e["asn_id"].startswith("a3")]
        mosaic = next(e["name"] for e in discovered if e["asn_type"] == "mosaic")
        report = catalog.withdraw([r2["filename"]], RULES)
        assert mosaic in report.retired
        reason = catalog.show(mosaic)["retired_reason"]
        assert "duplicate of r00001-o001_mosaic" in reason
        # and it comes back, same name, when r2 returns: changed (a new version), as the
        # run's counts and its change list both say
        back = catalog.ingest([pool([r2], name="back.csv")], RULES, with_changes=True)
        assert mosaic in back.changed and mosaic not in back.new
        listed = as_dicts(back.change_list)
        assert listed == catalog.changes(back.run_id - 1)
        for kind in ("new", "changed", "retired"):
            assert sorted(e["name"] for e in listed[kind]) == getattr(back, kind), kind
        shown = catalog.show(mosaic)
        assert shown["version"] == 2 and shown["retired_reason"] is None
        # its history still says which run retired version 1, and why
        first, second = shown["history"]
        assert (first["retired_run"], first["retired_reason"]) == (report.run_id, reason)
        assert second["run"] == back.run_id and second["retired_run"] is None


def test_names_never_reused_and_sequences_continue(catalog_location):
    day1 = [row(visit=1, exposure=e) for e in (1, 2)]
    day2 = [row(visit=1, exposure=e) for e in (3,)]
    with Catalog.open(catalog_location, create=True) as catalog:
        first = catalog.ingest([pool(day1)], RULES)
        second = catalog.ingest([pool(day2, name="d2.csv")], RULES)
        images1 = sorted(n for n in first.new if "_image_" in n)
        images2 = sorted(n for n in second.new if "_image_" in n)
        assert images1 == ["r00001-o001_image_001", "r00001-o001_image_002"]
        assert images2 == ["r00001-o001_image_003"]


def test_stale_plan_follows_products(catalog_location):
    rows = [row(visit=1, exposure=e, detector=d) for e in (1, 2) for d in (1, 2)]
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool(rows)], RULES)
        plan = catalog.stale()
        assert plan and all(e["reason"] == "never processed" for e in plan)
        levels = [e["level"] for e in plan]
        assert levels == sorted(levels)
        catalog.mark(all_current=True)
        assert catalog.stale() == []
        # a new detector file of exposure 1: its image is new, its FOV and the mosaic change
        report = catalog.ingest(
            [pool([row(visit=1, exposure=1, detector=3)], name="d2.csv")], RULES
        )
        plan = {e["name"]: e for e in catalog.stale()}
        assert set(report.new) <= set(plan)
        for name in report.changed:
            assert plan[name]["reason"].startswith("processed version 1, current version is 2")
        untouched_images = [
            e["name"]
            for e in catalog.changes(0)["new"]
            if e["asn_type"] == "image" and e["name"] not in report.new
        ]
        assert untouched_images and not set(untouched_images) & set(plan)
        mark = next(iter(report.changed))
        catalog.mark([mark], failed=True)
        assert "failed" in {e["name"]: e for e in catalog.stale()}[mark]["reason"]


def test_queries_and_export(catalog_location, demo, tmp_path):
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([demo], RULES)
        member = "r0000101001001001002_0002_wfi01_uncal.asdf"
        found = catalog.find(member)
        assert found and all(f["current"] for f in found)
        assert {f["asn_type"] for f in found} >= {"image", "fov", "mosaic"}
        cells = [f["skycell"] for f in found if f["skycell"]]
        on_cell = catalog.cell(cells[0])
        assert on_cell and all(e["skycell"] == cells[0] for e in on_cell)
        from roman_asn.skycells import skycell_wcs_info

        info = skycell_wcs_info(cells[0])
        near = catalog.cone(info["ra_center"], info["dec_center"], 0.01)
        assert {e["name"] for e in on_cell} <= {e["name"] for e in near}
        assert catalog.cone((info["ra_center"] + 180) % 360, -info["dec_center"], 1.0) == []
        written = export(catalog, open_output(tmp_path / "asn"))
        assert written == catalog.stats()["associations"]
        files = sorted((tmp_path / "asn").glob("*_asn.json"))
        assert len(files) == written
        loaded = load_asn(files[0])
        assert loaded.products[0].members
        text = files[0].read_text()
        assert text.startswith('{\n    "asn_type"')


def test_cli_session(tmp_path, demo):
    """The commands as a person runs them, --json for machines."""
    half = demo.table.height // 2
    a, b = parts(demo, [0] * half + [1] * (demo.table.height - half))
    a.write(tmp_path / "day1.csv")
    b.write(tmp_path / "day2.parquet")
    db = tmp_path / "cat.db"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "roman_asn", "catalog", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    assert cli("ingest", str(db), "day1.csv").returncode == 0
    done = cli("ingest", str(db), "day2.parquet", "--json", "--changes", "day2_changes.json")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["new"] > 0 and counts["added"] == demo.table.height - half
    listed = cli("changes", str(db), "--json").stdout
    # the ingest's own change list is, to the byte, what a reader asks for afterwards
    assert (tmp_path / "day2_changes.json").read_text() == listed
    changes = json.loads(listed)
    with Catalog.open(db) as catalog:  # and what the Python API gives
        assert changes == catalog.changes()
    assert set(changes) == {"new", "changed", "retired"}
    assert len(changes["new"]) == counts["new"]
    stale = json.loads(cli("stale", str(db), "--json").stdout)
    assert all({"name", "reason"} <= set(e) for e in stale)
    first = stale[0]["name"]
    assert cli("mark", str(db), "--processed", first).returncode == 0
    shown = json.loads(cli("show", str(db), first, "--json").stdout)
    assert [p["status"] for p in shown["processing"]] == ["processed"]
    assert cli("mark", str(db), "--all").returncode == 0
    assert json.loads(cli("stale", str(db), "--json").stdout) == []
    for args in (
        ("runs",),
        ("stats",),
        ("show", first),
        ("find", "r0000101001001001001_0001_wfi01_cal.asdf"),
    ):
        shown = cli(*args[:1], str(db), *args[1:])
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip()
    assert cli("export", str(db), "-o", "out", "--since", "1").returncode == 0
    assert len(list((tmp_path / "out").glob("*_asn.json"))) == len(changes["new"]) + len(
        changes["changed"]
    )
    bad = cli("show", str(db), "nope")
    assert bad.returncode == 2 and "no association named nope" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_change_lists_agree_with_each_history(catalog_location, demo):
    """Every entry of a run's change list (new, changed, in processing order) holds the
    members its association gained and lost in that run, as its own history says."""
    thirds = parts(demo, [i % 3 for i in range(demo.table.height)])
    with Catalog.open(catalog_location, create=True) as catalog:
        for piece in thirds:
            report = catalog.ingest([piece], RULES, with_changes=True)
            listed = as_dicts(report.change_list)
            assert listed == catalog.changes(report.run_id - 1)
            assert sorted(e["name"] for e in listed["new"]) == report.new
            assert sorted(e["name"] for e in listed["changed"]) == report.changed
            for kind in ("new", "changed"):
                # the frames' sort expression agrees with the one rule of processing order
                order = [
                    (processing_stage(e["level"], e["asn_type"]), e["name"]) for e in listed[kind]
                ]
                assert order == sorted(order)
                for entry in listed[kind]:
                    shown = catalog.show(entry["name"])
                    made = [h for h in shown["history"] if h["run"] == report.run_id]
                    assert entry["version"] == shown["version"] == made[-1]["version"]
                    assert entry["members_added"] == made[-1]["members_added"]
                    assert entry["members_removed"] == made[-1]["members_removed"]
                    if kind == "new":
                        assert entry["members_added"] == sorted(shown["members"])
        assert any(catalog.changes(r)["changed"] for r in (1, 2))


def test_change_list_file_that_cannot_be_written(tmp_path, demo, monkeypatch, capsys):
    """A change list that cannot be written where it is asked for (a folder, under a
    file, a folder that cannot be written) is refused before anything is done: it was
    found only once the run was recorded. A write that fails later (a full disk) keeps
    the run, and the error names the file and how to list the run's changes again."""
    from roman_asn.cli import main

    db = tmp_path / "cat.db"
    (tmp_path / "taken").mkdir()
    (tmp_path / "ro").mkdir()
    demo.write(tmp_path / "demo.csv")
    monkeypatch.chdir(tmp_path)
    real = os.access
    monkeypatch.setattr(  # as on a read-only mount (root may write anywhere else)
        os, "access", lambda p, mode, **kw: os.fspath(p) != "ro" and real(p, mode, **kw)
    )

    def ingest(changes: str) -> tuple[int, str]:
        code = main(["catalog", "ingest", str(db), "demo.csv", "--changes", changes])
        return code, capsys.readouterr().err

    for changes, said in [
        ("taken", "taken: cannot write: is a folder, not a file"),
        # the file in the way is named, not the change list: that does not exist
        ("demo.csv/changes.json", "demo.csv: cannot write: exists and is not a folder"),
        ("ro/changes.json", "ro: cannot write: the folder cannot be written"),
    ]:
        code, err = ingest(changes)
        assert code == 2 and said in err and "Traceback" not in err, err
        assert "was recorded" not in err and not db.exists()  # nothing done
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(full))
    code, err = ingest("changes.json")
    monkeypatch.undo()
    assert code == 2 and "Traceback" not in err
    assert "changes.json: cannot write: No space left on device; run 1 was recorded" in err
    assert "--since 0" in err
    with Catalog.open(db) as catalog:
        assert len(catalog.changes(0)["new"]) == len(demo_associations(demo))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.db", "demo.csv", "ro", "taken"]


def demo_associations(demo: Pool) -> list:
    return [a for a in generate(demo, RULES).associations.iter_rows()]


def test_runs_and_cells_that_do_not_exist_are_errors_not_empty_lists(tmp_path, demo):
    """A run number past the last one (or negative), or a malformed sky-cell name, would
    list nothing silently: each is an error naming the catalog, and nothing is written."""
    db = tmp_path / "cat.db"
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([demo], RULES)
        for since in (2, -1):
            with pytest.raises(CatalogError, match=f"no run {since}: .* runs are 1 to 1"):
                catalog.changes(since)
        assert catalog.changes(1) == {"new": [], "changed": [], "retired": []}
        with pytest.raises(CatalogError, match="not a sky-cell name"):
            catalog.cell("270p65")
        # well formed, but no cell of the tessellation (or a line break after the name)
        for name in ("999p99x99y99", "270m91x00y00", "360p00x50y50"):
            with pytest.raises(CatalogError, match=f"no sky cell named '{name}'"):
                catalog.cell(name)
        with pytest.raises(CatalogError, match="not a sky-cell name"):
            catalog.cell("270p65x69y50\n")
        from roman_asn.skycells import get_skymap

        elsewhere = str(get_skymap().names([0])[0])  # a real cell, far from the demo's
        assert catalog.cell(elsewhere) == []
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", "export", str(db), "-o", "out"]
        + ["--since", "5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "no run 5" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_ingest_likely_to_fill_the_disk_says_so_first(tmp_path, demo, monkeypatch, caplog):
    """The catalog and its write-ahead log need about twice its growth until the commit."""
    import shutil
    from collections import namedtuple

    from roman_asn.catalog import catalog as module

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with (
        caplog.at_level("WARNING", logger="roman_asn.catalog"),
        Catalog.open(tmp_path / "cat.db", create=True) as catalog,
    ):
        catalog.ingest([demo], RULES)  # a warning, not a refusal: the need is estimated
    need = 2 * module.BYTES_PER_FILE * demo.table["filename"].n_unique() / 1e6
    assert f"ingesting {demo.table['filename'].n_unique():,} files" in caplog.text
    assert f"needs about {need:.1f} MB of free disk" in caplog.text and "0.0 MB free" in caplog.text
    # a direct first load (no write-ahead log) needs its growth only
    monkeypatch.setattr(module, "DIRECT_LOAD_ROWS", 1)
    caplog.clear()
    with (
        caplog.at_level("WARNING", logger="roman_asn.catalog"),
        Catalog.open(tmp_path / "direct.db", create=True) as catalog,
    ):
        catalog.ingest([demo], RULES)
    assert f"needs about {need / 2:.1f} MB of free disk" in caplog.text


def test_bad_pool_writes_nothing(tmp_path, demo):
    db = tmp_path / "cat.db"
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([parts(demo, [0] * demo.table.height)[0]], RULES)
        before = catalog.stats()
    bad = tmp_path / "bad.csv"
    text = DEMO.read_text().splitlines()
    bad.write_text("\n".join([text[0], text[1], text[2].rsplit("|", 3)[0]]) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", "ingest", str(db), str(bad)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "bad.csv, line 3" in done.stderr and "Traceback" not in done.stderr
    with Catalog.open(db) as catalog:
        assert catalog.stats() == before
    # and no catalog is made at a new location for a pool that cannot be read
    fresh = tmp_path / "new.db"
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", "ingest", str(fresh), str(bad)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and not list(tmp_path.glob("new.db*"))


def test_old_schema_is_refused_then_upgraded(tmp_path):
    from roman_asn.catalog.store import make_engine, upgrade

    db = tmp_path / "old.db"
    upgrade(make_engine(db), "0001")
    with pytest.raises(CatalogError, match="run `roman-asn catalog upgrade"):
        Catalog.open(db)
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", "upgrade", str(db)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "0001 -> 0009" in done.stdout
    with Catalog.open(db) as catalog:
        catalog.ingest([pool([row()])], RULES)
    # every index a new catalog has, an upgraded one has too
    from roman_asn.catalog.schema import metadata

    with closing(sqlite3.connect(db)) as raw:
        have = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {i.name for table in metadata.tables.values() for i in table.indexes} <= have


def test_an_upgrade_says_which_revision_it_is_at(tmp_path):
    from roman_asn.catalog.store import make_engine, upgrade

    db = tmp_path / "old.db"
    upgrade(make_engine(db), "0004")
    told: list[str] = []
    assert Catalog.upgrade(db, progress=told.append) == ("0004", "0009")
    assert told == [
        "revision 0005 (1 of 5): no stems by association",
        "revision 0006 (2 of 5): membership blocks",
        "revision 0007 (3 of 5): version retirements",
        "revision 0008 (4 of 5): product index",
        "revision 0009 (5 of 5): member stem blocks",
    ]
    told.clear()
    assert Catalog.upgrade(db, progress=told.append) == ("0009", "0009")
    assert told == []


def test_not_a_catalog(tmp_path):
    with pytest.raises(CatalogError, match="no catalog here"):
        Catalog.open(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="cannot open the catalog"):
        Catalog.open(junk)
    # a pipe (or a device: /dev/null) is none either, and nothing is made beside it
    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    for create in (False, True):
        with pytest.raises(CatalogError, match="not a regular file"):
            Catalog.open(pipe, create=create)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.db", "pipe.db"]


def test_schema_revisions_no_upgrade_can_read_are_refused(tmp_path):
    """Several revisions at once (branches of a newer roman-asn) are a newer version's;
    a revision stamped by the first development catalogs (no groups table) is refused
    with what to do, not 'run catalog upgrade' and then a failed write."""
    db = tmp_path / "c.db"
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([pool([row()])], RULES)
    with closing(sqlite3.connect(db)) as raw:
        raw.execute("INSERT INTO alembic_version VALUES ('0999')")
        raw.commit()
    for attempt in (Catalog.open, Catalog.upgrade):
        with pytest.raises(CatalogError, match="made by a newer version"):
            attempt(db)
    early = tmp_path / "early.db"
    with closing(sqlite3.connect(early)) as raw:
        raw.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        raw.execute("INSERT INTO alembic_version VALUES ('0002')")
        raw.execute("CREATE TABLE runs (run_id INTEGER PRIMARY KEY)")
        raw.commit()
    for attempt in (Catalog.open, Catalog.upgrade):
        with pytest.raises(CatalogError, match="no upgrade can read .* build it again"):
            attempt(early)


def test_upgrade_never_prints_a_password(catalog_location, capsys):
    """`catalog upgrade` shows the location as every other message does."""
    from roman_asn.cli import main

    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool([row()])], RULES)
    if "://" not in catalog_location:
        pytest.skip("a file path has no password")
    # the test server lets the user in whatever the password
    secret = catalog_location.replace("postgres@", "postgres:s3cr3t@", 1)
    assert "s3cr3t" in secret
    assert main(["catalog", "upgrade", secret]) == 0
    shown = capsys.readouterr()
    assert "already at schema revision" in shown.out
    assert "s3cr3t" not in shown.out + shown.err and "***" in shown.out


KILLER = """
import sys
from roman_asn.catalog import Catalog
from roman_asn import load_rules
with Catalog.open(sys.argv[1], create=True) as catalog:
    print("start", flush=True)
    catalog.ingest([sys.argv[2]], load_rules())
"""


def ingest_killed(script: str, db: Path, source: Path, delay: float) -> None:
    """Run ``script`` (an ingest of ``source`` into ``db``) and kill -9 it ``delay`` s
    after it says it starts."""
    import signal
    import time

    child = subprocess.Popen(
        [sys.executable, "-c", script, str(db), str(source)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "start"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_kill_during_ingest_leaves_catalog_as_it_was(tmp_path, demo, delay):
    db = tmp_path / "cat.db"
    half = demo.table.height // 2
    a, b = parts(demo, [0] * half + [1] * (demo.table.height - half))
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([a], RULES)
        before = catalog.stats(), catalog.runs()
    b.write(tmp_path / "b.csv")
    ingest_killed(KILLER, db, tmp_path / "b.csv", delay)
    with Catalog.open(db) as catalog:
        after = catalog.stats(), catalog.runs()
        if after[1] != before[1]:  # the ingest finished before the kill: whole
            assert after[0]["files"] == demo.table.height
        else:
            assert after == before
        import sqlalchemy as sa

        with catalog.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        catalog.ingest([b], RULES)  # and it goes on from there
        assert catalog_meaning(catalog) == generated_meaning(generate(demo, RULES))
        del sa


def test_second_writer_waits_then_fails_and_readers_see_the_state_before(catalog_location, caplog):
    from roman_asn.catalog.store import writing

    db = catalog_location
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([pool([row()])], RULES)
        with writing(catalog.engine) as connection:  # a writer in progress
            connection.exec_driver_sql(
                "INSERT INTO runs (kind, started, code_version, inputs, counts) "
                "VALUES ('ingest', 'x', 'x', '[]', '{}')"
            )
            with Catalog.open(db) as reader:  # a reader is not blocked and sees the old state
                assert len(reader.runs()) == 1
                assert reader.stats()["files"] == 1
            blocked = Catalog.open(db, wait=0.5)
            with pytest.raises(CatalogError, match="another process is writing"):
                blocked.ingest([pool([row(exposure=2)], name="two.csv")], RULES)
            blocked.close()
            assert "waiting up to 0.5 s" in caplog.text  # it said so while it waited
        assert len(catalog.runs()) == 2


def test_stale_is_transitive_and_lists_nothing_else(catalog_location, demo):
    """One Level 2 association left unprocessed: it, the Level 3 associations holding its
    product, and the multiband sets over those, and nothing else."""
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([demo], RULES)
        everything = catalog.stale()
        image = next(e for e in everything if e["asn_type"] == "image" and e["level"] == 2)
        catalog.mark([e["name"] for e in everything if e["name"] != image["name"]])
        plan = {e["name"]: e for e in catalog.stale()}
        assert plan[image["name"]]["reason"] == "never processed"
        holders = {f["name"] for f in catalog.find(image["product_name"] + "_cal.asdf")}
        direct = {n for n, e in plan.items() if e["reason"].endswith(f"stale {image['name']}")}
        assert direct == holders - {image["name"]}
        assert any(plan[n]["level"] == 3 for n in direct)
        # multiband sets over the coadds of those sky-cell products, and only those
        products = {plan[n]["product_name"] for n in direct}
        for name, entry in plan.items():
            if name != image["name"] and name not in direct:
                assert entry["asn_type"] == "multiband"
                source = entry["reason"].rsplit("stale ", 1)[1]
                assert plan[source]["product_name"] in products
        stages = [(e["level"], e["asn_type"] == "multiband") for e in catalog.stale()]
        assert stages == sorted(stages)


def test_find_tells_versions_apart(catalog_location):
    rows = [row(visit=1, exposure=e) for e in (1, 2, 3)]
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool(rows)], RULES)
        catalog.withdraw([rows[0]["filename"]], RULES)
        gone = {f["asn_type"]: f for f in catalog.find(rows[0]["filename"])}
        kept = {f["asn_type"]: f for f in catalog.find(rows[1]["filename"])}
        assert gone["mosaic"]["versions"] == [1] and not gone["mosaic"]["current"]
        assert kept["mosaic"]["versions"] == [1, 2] and kept["mosaic"]["current"]
        assert gone["image"]["versions"] == [1] and not gone["image"]["current"]


def test_a_file_on_several_rows_keeps_them_all(catalog_location, data_dir):
    """romancal's own pool lists one file under two observations: both rows count, as in
    generate; ingesting the pool again changes nothing."""
    source = read_pool(data_dir / "pool_001_candidates.csv")
    assert source.table["filename"].is_duplicated().any()
    with Catalog.open(catalog_location, create=True) as catalog:
        first = catalog.ingest([source], RULES)
        assert first.added == source.table["filename"].n_unique()
        assert catalog_meaning(catalog) == generated_meaning(generate(source, RULES))
        again = catalog.ingest([source], RULES)
        assert (again.new, again.changed, again.retired, again.updated) == ([], [], [], 0)


def test_a_file_listed_differently_in_two_pools_is_refused_naming_both(tmp_path):
    """Across the pools of one ingest as within one: the error names the later row's
    pool and line and the other's line; nothing is written."""
    rows = [row(visit=1, exposure=1, detector=d) for d in (1, 2, 3)]
    again = dict(rows[2], optical_element="F087")
    pool(rows).write(tmp_path / "a.csv")
    pool([row(visit=1, exposure=2, detector=1), again]).write(tmp_path / "b.csv")
    db = tmp_path / "cat.db"
    with Catalog.open(db, create=True) as catalog:
        with pytest.raises(PoolError) as raised:
            catalog.ingest([tmp_path / "a.csv", tmp_path / "b.csv"], RULES)
        text = str(raised.value)
        assert "b.csv, line 3" in text and "a.csv, line 4)" in text
        assert "optical_element" in text
        assert catalog.stats()["files"] == 0


def test_a_refused_first_ingest_leaves_no_catalog_behind(tmp_path, demo):
    """Pools that read well one by one but disagree are refused by the ingest, after the
    catalog was made: the new file goes again (command and library). A catalog that
    was there before, or that took a run, stays."""
    rows = [row(visit=1, exposure=1, detector=d) for d in (1, 2)]
    pool(rows).write(tmp_path / "a.csv")
    pool([dict(rows[1], optical_element="F087")]).write(tmp_path / "b.csv")
    bad = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    fresh = tmp_path / "new.db"
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", "ingest", str(fresh), *bad],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "b.csv, line 2" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("new.db*"))
    with pytest.raises(PoolError), Catalog.open(fresh, create=True) as catalog:
        catalog.ingest(bad, RULES)
    assert not list(tmp_path.glob("new.db*"))
    # an interrupted block too, but not a catalog that was already there
    with pytest.raises(KeyboardInterrupt), Catalog.open(fresh, create=True):
        raise KeyboardInterrupt
    assert not fresh.exists()
    with Catalog.open(fresh, create=True):
        pass
    with pytest.raises(PoolError), Catalog.open(fresh, create=True) as catalog:
        catalog.ingest(bad, RULES)
    assert fresh.exists()
    # nor one that took a run before the block failed
    kept = tmp_path / "kept.db"
    with pytest.raises(PoolError), Catalog.open(kept, create=True) as catalog:
        catalog.ingest([demo], RULES)
        catalog.ingest(bad, RULES)
    with Catalog.open(kept) as catalog:
        assert catalog.stats()["files"] == demo.table.height


@pytest.mark.parametrize(
    "first, reason",
    [
        (True, "database or disk is full"),  # before the header: the new file stays empty
        (False, "disk I/O error"),  # after it: the WAL index cannot grow
    ],
)
def test_a_new_catalog_on_a_full_disk_is_removed_again(
    tmp_path, demo, monkeypatch, capsys, first, reason
):
    """A disk full from the start refuses every write of a new catalog, the write lock
    its removal took too: a 0-byte catalog.db was left behind. Now a file this run made
    and never committed a schema into goes, with its side files; a catalog that was
    there (even an empty file) stays."""
    import roman_asn.catalog.catalog as catalog_module
    from roman_asn.catalog.store import make_engine
    from roman_asn.cli import main

    def full_disk(location, **kwargs):  # as a real full disk (tmpfs) fails these writes
        engine = make_engine(location, **kwargs)

        def refuse(dbapi, _):
            raise sqlite3.OperationalError(reason)

        sa.event.listen(engine, "connect", refuse, insert=first)
        return engine

    demo.write(tmp_path / "demo.csv")
    fresh, empty, kept = tmp_path / "new.db", tmp_path / "empty.db", tmp_path / "kept.db"
    empty.touch()
    Catalog.open(kept, create=True).close()
    monkeypatch.setattr(catalog_module, "make_engine", full_disk)
    for db in (fresh, empty, kept):
        code = main(["catalog", "ingest", str(db), str(tmp_path / "demo.csv")])
        err = capsys.readouterr().err
        assert code == 2 and f"{db}: cannot open the catalog: {reason}" in err, err
    assert not list(tmp_path.glob("new.db*"))
    assert empty.exists()  # never ours to remove, whatever it holds
    monkeypatch.undo()
    with Catalog.open(kept) as catalog:
        assert catalog.runs() == []


def test_the_same_rules_from_another_install_are_the_same_rules(tmp_path, demo):
    """The rules hash is what the rules say, not where their file is; a catalog hashed
    the old way (with the file path) is accepted and re-hashed; other rules are refused."""
    import dataclasses

    from roman_asn.catalog.catalog import rules_hash

    elsewhere = [
        dataclasses.replace(r, source="/another/install/default_rules.toml") for r in RULES
    ]
    n = demo.table.height
    first, second, third = parts(demo, [i * 3 // n for i in range(n)])
    location = tmp_path / "catalog.db"
    with Catalog.open(location, create=True) as catalog:
        catalog.ingest([first], RULES)
        with catalog.engine.begin() as connection:
            catalog._set(connection, "rules_hash", rules_hash(RULES, _legacy=True))
        catalog.ingest([second], RULES)  # hashed the old way here: accepted, re-hashed
        with catalog.engine.begin() as connection:
            assert catalog._setting(connection, "rules_hash") == rules_hash(RULES)
        catalog.ingest([third], elsewhere)
        other = [dataclasses.replace(RULES[0], min_filters=3), *RULES[1:]]
        with pytest.raises(CatalogError, match="other rules"):
            catalog.ingest([third], other)


def test_groups_that_only_gain_files_are_completed_not_read_back(tmp_path, demo, monkeypatch):
    """Day 2's files join day 1's mosaics, sky cells and multiband sets: those groups are
    completed from their stored members (their day-1 files are not read back) and the
    catalog holds what a whole regeneration makes, members, errors and targets alike."""
    from roman_asn.catalog import grow, ingest

    # every other row: day 2's files fall in day 1's groups
    first_day, second_day = parts(demo, [i % 2 for i in range(demo.table.height)])
    real_read, real_stored = ingest.read_files, ingest.stored_groups
    read: list[int] = []
    completed: list[grow.Completion] = []

    def spy_read(connection, file_ids, schema):
        out = real_read(connection, file_ids, schema)
        read.append(out.height)
        return out

    class Spy(grow.Completion):
        def __call__(self, made):
            completed.append(self)
            return super().__call__(made)

    def day_two(location: Path, *, complete: bool) -> tuple[int, Counter]:
        monkeypatch.setattr(ingest, "read_files", real_read)
        with Catalog.open(location, create=True) as catalog:
            catalog.ingest([first_day], RULES)
            read.clear()
            monkeypatch.setattr(ingest, "read_files", spy_read)
            monkeypatch.setattr(
                ingest, "stored_groups", real_stored if complete else (lambda *a, **k: {})
            )
            catalog.ingest([second_day], RULES)
            return sum(read), catalog_meaning(catalog)

    monkeypatch.setattr(ingest, "Completion", Spy)
    read_completing, completed_meaning = day_two(tmp_path / "a.db", complete=True)
    gained = completed[-1].added
    assert gained and not completed[-1].unsure
    kinds = {s.group_text.split("\x1f")[0] for s in completed[-1].stored.values()}
    assert {"Asn_Lv3Mosaic", "Asn_Lv3SkyCellFull", "Asn_Lv3SkyCellMultiband"} <= kinds
    read_all, whole_meaning = day_two(tmp_path / "b.db", complete=False)
    assert read_completing < read_all
    assert completed_meaning == whole_meaning == generated_meaning(generate(demo, RULES))


def test_completion_takes_the_smaller_target(catalog_location):
    """A group's target is the smallest of its rows': one arriving later replaces it."""
    day1 = [row(visit=1, exposure=2, detector=1, target="T2")]
    day2 = [row(visit=1, exposure=2, detector=2, target="T1")]
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool(day1)], RULES)
        catalog.ingest([pool(day2, name="day2.csv")], RULES)
        assert catalog_meaning(catalog) == generated_meaning(generate(pool(day1 + day2), RULES))
        fov = [
            r.associations.filter(pl.col("asn_type") == "fov")["target"].to_list()
            for r in catalog.current_results()
        ]
        assert sum(fov, []) == ["T1"]


def test_completion_reads_back_a_repeated_member(tmp_path, monkeypatch):
    """A new file repeating a stored member with another exposure error (which error
    wins depends on rows not read): its groups are read back, as without completion."""
    from roman_asn.catalog import grow, ingest

    day1 = [row(visit=1, exposure=e, detector=1, exposerr="ONE") for e in (1, 2)]
    twin = row(visit=1, exposure=1, detector=1, exposerr="TWO")
    twin["filename"] = twin["filename"].replace("_uncal", "_rate")  # the same member
    unsure: set[str] = set()

    class Spy(grow.Completion):
        def __call__(self, made):
            out = super().__call__(made)
            unsure.update(self.unsure)
            return out

    monkeypatch.setattr(ingest, "Completion", Spy)
    contents = []
    for name, stored in (("a.db", ingest.stored_groups), ("b.db", lambda *a, **k: {})):
        monkeypatch.setattr(ingest, "stored_groups", stored)
        with Catalog.open(tmp_path / name, create=True) as catalog:
            catalog.ingest([pool(day1)], RULES)
            catalog.ingest([pool([twin], name="day2.csv")], RULES)
            contents.append(catalog_meaning(catalog))
    assert unsure and contents[0] == contents[1]


@pytest.mark.parametrize("ordered", [True, False])
def test_group_keys_in_time_order_or_hashed_in_older_catalogs(
    catalog_location, demo, demo_generated, ordered
):
    """New catalogs key groups by their values (time-ordered); a catalog that held groups
    before schema 0004 keeps hashed keys, and both give what generate gives."""
    import sqlalchemy as sa

    from roman_asn.catalog import schema as t

    half = demo.table.height // 2
    labels = [0] * half + [1] * (demo.table.height - half)
    with Catalog.open(catalog_location, create=True) as catalog:
        if not ordered:  # as a catalog upgraded from 0003 with groups in it
            with catalog.engine.begin() as connection:
                connection.execute(t.settings.delete().where(t.settings.c.key == "group_keys"))
        for piece in parts(demo, labels):
            catalog.ingest([piece], RULES)
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
        with catalog.engine.connect() as connection:
            keys = connection.execute(sa.select(t.associations.c.group_key)).scalars().all()
    assert keys and len(set(keys)) == len(keys)
    if ordered:
        assert max(len(k) for k in keys) <= t.KEY_LENGTH
        # the group values lead: keys sort by rule, then by visit, pass or file
        assert all(k[2] == "|" for k in keys) and any("|v0" in k for k in keys)
    else:
        assert all(len(k) == 40 and int(k, 16) >= 0 for k in keys)


def _memberships(location, query: str = "") -> set:
    """(group, file) pairs as the catalog holds them: in group_files, file_groups or
    (``query``) any table of pairs."""
    import numpy as np
    import sqlalchemy as sa

    from roman_asn.catalog.store import make_engine

    engine = make_engine(str(location))
    try:
        with engine.connect() as connection:
            if query:
                return {tuple(r) for r in connection.execute(sa.text(query))}
            by_group = {
                (g, f)
                for g, _, block in connection.execute(sa.text("SELECT * FROM group_files"))
                for f in np.frombuffer(block, "<i8").tolist()
            }
            by_file = {
                (g, f)
                for f, _, block in connection.execute(sa.text("SELECT * FROM file_groups"))
                for g in np.frombuffer(block, "<i8").tolist()
            }
    finally:
        engine.dispose()
    assert by_group == by_file
    return by_group


def test_memberships_carried_to_blocks_and_back(catalog_location, demo, demo_generated):
    """0006 turns a catalog's (group, file) rows into blocks: the same pairs, and the
    catalog goes on as one made at 0006 (downgrading gives the rows back)."""
    from alembic import command

    from roman_asn.catalog.store import _alembic_config, make_engine, upgrade, writing

    half = demo.table.height // 2
    first, second = parts(demo, [0] * half + [1] * (demo.table.height - half))
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([first], RULES)
    pairs = _memberships(catalog_location)
    assert len(pairs) > demo.table.height
    engine = make_engine(catalog_location)
    with writing(engine) as connection:
        command.downgrade(_alembic_config(connection), "0005")
    engine.dispose()
    assert _memberships(catalog_location, "SELECT group_id, file_id FROM group_rows") == pairs
    engine = make_engine(catalog_location)
    assert upgrade(engine) == ("0005", "0009")
    engine.dispose()
    assert _memberships(catalog_location) == pairs
    with Catalog.open(catalog_location) as catalog:
        catalog.ingest([second], RULES)
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
    files = {f for _, f in _memberships(catalog_location)}
    with Catalog.open(catalog_location) as catalog:  # a file leaves its groups' blocks
        catalog.withdraw([second.table["filename"][0]], RULES)
    assert len({f for _, f in _memberships(catalog_location)}) == len(files) - 1


def _intervals(location) -> set[tuple]:
    """Every member interval (stem, asn_pk, added, removed or None), as the catalog's
    revision keeps them: rows (before 0009) or blocks."""
    from roman_asn.catalog.stem_blocks import intervals_of
    from roman_asn.catalog.store import fetch_all, make_engine

    engine = make_engine(location)
    try:
        with engine.connect() as connection:
            if "member_stems" in sa.inspect(connection).get_table_names():
                query = "SELECT stem, asn_pk, added, removed FROM member_stems"
                return {tuple(r) for r in connection.exec_driver_sql(query)}
            query = "SELECT stem, first_asn, first_added, entries FROM member_stem_blocks"
            blocks = intervals_of(fetch_all(connection, sa.text(query)))
            columns = blocks.select("stem", "asn_pk", "added", "removed")
            return {(s, a, d, r or None) for s, a, d, r in columns.iter_rows()}
    finally:
        engine.dispose()


def test_member_intervals_carried_to_blocks_and_back(catalog_location, demo, demo_generated):
    """0009 turns a catalog's member intervals into blocks: the same intervals, closed
    ones too (downgrading gives the rows back), and find and ingests go on. Carried a
    few intervals at a time, as a big catalog is, a stem is cut into several blocks,
    read as one."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from roman_asn.catalog import schema as t
    from roman_asn.catalog.store import _alembic_config, make_engine, upgrade, writing

    half = demo.table.height // 2
    first, second = parts(demo, [0] * half + [1] * (demo.table.height - half))
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([first], RULES)
        catalog.withdraw(first.table["filename"][:3].to_list(), RULES)
    intervals = _intervals(catalog_location)
    assert any(removed is not None for *_, removed in intervals)

    def down_to_0008() -> None:
        engine = make_engine(catalog_location)
        with writing(engine) as connection:
            command.downgrade(_alembic_config(connection), "0008")
        engine.dispose()
        assert _intervals(catalog_location) == intervals

    down_to_0008()
    engine = make_engine(catalog_location)
    with writing(engine) as connection:
        config = _alembic_config(connection)
        carry = ScriptDirectory.from_config(config).get_revision("0009").module._carry
        t.member_stem_blocks.create(connection)
        carry(connection, t.member_stem_blocks, 7)
        connection.exec_driver_sql("DROP TABLE member_stems")
        command.stamp(config, "0009")
        stems = connection.exec_driver_sql("SELECT stem FROM member_stem_blocks").all()
    engine.dispose()
    assert max(Counter(stems).values()) > 1  # stems cut between blocks
    assert _intervals(catalog_location) == intervals
    with Catalog.open(catalog_location) as catalog:
        assert_find_agrees_with_versions(catalog)
    down_to_0008()
    engine = make_engine(catalog_location)
    assert upgrade(engine) == ("0008", "0009")
    engine.dispose()
    assert _intervals(catalog_location) == intervals
    with Catalog.open(catalog_location) as catalog:
        catalog.ingest([first], RULES)  # the withdrawn files come back
        catalog.ingest([second], RULES)
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
        assert_find_agrees_with_versions(catalog)


def test_upgrade_keeps_the_hashed_keys_of_a_catalog_with_groups(tmp_path):
    from roman_asn.catalog import schema as t
    from roman_asn.catalog.store import make_engine, upgrade

    db = tmp_path / "old.db"
    engine = make_engine(db)
    upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(t.groups.insert().values(group_id=1, group_key="00" + "ab" * 19))
    upgrade(engine, "head")
    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("SELECT value FROM settings WHERE key='group_keys'").fetchall() == []
    empty = tmp_path / "empty.db"
    upgrade(make_engine(empty), "0003")
    upgrade(make_engine(empty), "head")
    with closing(sqlite3.connect(empty)) as raw:
        assert raw.execute("SELECT value FROM settings WHERE key='group_keys'").fetchall() == [
            ("ordered",)
        ]


def test_an_unreachable_server_is_named_as_given_without_its_password(tmp_path):
    """The error names the URL the user typed (not the driver's spelling of it) and
    never prints its password."""
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", "stats"]
        + ["postgresql://bob:s3cret@127.0.0.1:1/archive"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: postgresql://bob:***@127.0.0.1:1/archive: cannot open")
    assert "s3cret" not in done.stderr and "Traceback" not in done.stderr


def test_mark_from_a_reprocessing_plan_or_a_list(tmp_path):
    """`mark --from` takes what the catalog prints (`stale --json` from stdin, a change
    list) or names one a line with product paths; a broken JSON list is an error
    naming the file and line, and marks nothing."""
    db = tmp_path / "cat.db"

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "roman_asn", "catalog", *args],
            capture_output=True,
            text=True,
            input=stdin,
            cwd=tmp_path,
        )

    assert cli("ingest", str(db), str(DEMO)).returncode == 0
    plan = cli("stale", str(db), "--json").stdout
    names = [e["name"] for e in json.loads(plan)]
    first, second = names[0], names[1]
    (tmp_path / "broken.json").write_text(plan.replace("}", "", 1))
    broken = cli("mark", str(db), "--from", "broken.json")
    assert broken.returncode == 2
    assert broken.stderr.startswith("error: broken.json: line 3: not JSON")
    assert len(json.loads(cli("stale", str(db), "--json").stdout)) == len(names)
    # JSON Python will not make, and a name the catalog does not hold: the list is named
    (tmp_path / "big.json").write_text('[{"name": "x", "n": ' + "9" * 5000 + "}]")
    big = cli("mark", str(db), "--from", "big.json")
    assert big.returncode == 2 and big.stderr.startswith("error: big.json: not usable JSON")
    (tmp_path / "unknown.txt").write_text("no_such_association\n")
    unknown = cli("mark", str(db), "--from", "unknown.txt")
    assert unknown.returncode == 2 and "listed in unknown.txt" in unknown.stderr

    (tmp_path / "done.txt").write_text(f"{first}\tproducts/{first}.asdf\n\n{second}_asn.json\n")
    assert cli("mark", str(db), "--from", "done.txt").returncode == 0
    with Catalog.open(db) as catalog:
        assert catalog.show(first)["processing"][0]["product_path"] == f"products/{first}.asdf"
        assert catalog.show(second)["processing"][0]["product_path"] is None
    left = cli("stale", str(db), "--json").stdout
    reasons = {e["name"]: e["reason"] for e in json.loads(left)}
    assert all(reasons.get(n, "") != "never processed" for n in (first, second))
    assert cli("mark", str(db), "--from", "-", stdin=left).returncode == 0
    assert json.loads(cli("stale", str(db), "--json").stdout) == []


def test_a_writer_sorts_in_files_beside_the_catalog_a_reader_in_memory(tmp_path):
    """A first load's index build must not hold its whole sort in memory, and its
    temporary files go to the catalog's own folder, nowhere else."""
    from roman_asn.catalog.store import make_engine, reading, writing

    engine = make_engine(tmp_path / "cat.db")

    def temporary(connection) -> tuple[int, str]:
        raw = connection.connection.dbapi_connection
        store = raw.execute("PRAGMA temp_store").fetchone()[0]
        folder = raw.execute("PRAGMA temp_store_directory").fetchone()
        return store, folder[0] if folder else ""

    with writing(engine) as connection:
        assert temporary(connection) == (1, str(tmp_path))  # FILE, beside the catalog
    with reading(engine) as connection:
        assert temporary(connection) == (2, "")  # MEMORY
    engine.dispose()


def test_a_full_disk_in_the_middle_of_an_ingest_changes_nothing(
    tmp_path, demo, monkeypatch, capsys
):
    """SQLite's page limit fails a write as a full disk does (SQLITE_FULL), wherever the
    ingest is: in a bulk insert (the driver's own error) or a statement (SQLAlchemy's)."""
    import sqlalchemy as sa

    import roman_asn.catalog.catalog as catalog_module
    from roman_asn.catalog.store import make_engine
    from roman_asn.cli import main

    db = tmp_path / "cat.db"
    first, second = parts(demo, [i % 2 for i in range(demo.table.height)])
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([first], RULES)
        before = catalog.stats()
    with closing(sqlite3.connect(db)) as raw:  # closed now: an open one blocks leaving WAL
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
    second.write(tmp_path / "second.parquet")

    for room in (1, 8, 64):  # the disk fills at different points of the ingest

        def small_disk(location, room=room, **kwargs):
            engine = make_engine(location, **kwargs)
            sa.event.listen(
                engine,
                "connect",
                lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count={pages + room}"),
            )
            return engine

        monkeypatch.setattr(catalog_module, "make_engine", small_disk)
        code = main(["catalog", "ingest", str(db), str(tmp_path / "second.parquet")])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "catalog write failed: database or disk is full" in err and str(db) in err
        monkeypatch.undo()
        with Catalog.open(db) as catalog:
            assert catalog.stats() == before


def test_a_damaged_catalog_is_an_error_not_a_crash(tmp_path, demo, capsys):
    """Pages overwritten anywhere in the file: each read command works or says the
    catalog cannot be read (exit 2), never a traceback."""
    from roman_asn.cli import main

    db = tmp_path / "cat.db"
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([demo], RULES)
    good = db.read_bytes()
    failed = 0
    for offset in range(0, len(good), len(good) // 16):
        damaged = tmp_path / f"damaged{offset}.db"
        data = bytearray(good)
        data[offset : offset + 8192] = b"\xff" * len(data[offset : offset + 8192])
        damaged.write_bytes(bytes(data))
        for command in (["stats"], ["changes", "--json"], ["stale", "--json"]):
            code = main(["catalog", command[0], str(damaged), *command[1:]])
            err = capsys.readouterr().err
            assert code in (0, 2), err
            if code == 2:
                failed += 1
                assert str(damaged) in err and (
                    "catalog read failed" in err or "cannot open" in err
                )
    assert failed


def test_arguments_and_mark_lists_that_are_not_text_are_errors(tmp_path, demo, capsys):
    """A command-line byte that is not UTF-8 arrives as a lone surrogate; a --from file
    may not be UTF-8, nest too deeply or hold the wrong types: each a one-line error."""
    from roman_asn.cli import main

    db = tmp_path / "cat.db"
    with Catalog.open(db, create=True) as catalog:
        catalog.ingest([demo], RULES)
    bad = "a\udcff"
    for args in (["find", str(db), bad], ["show", str(db), bad]):
        assert main(["catalog", *args]) == 2
        assert "is not UTF-8 text" in capsys.readouterr().err
    cases = {
        "latin1.txt": "name\xe9\n".encode("latin-1"),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "types.json": json.dumps({"new": 5, "changed": []}).encode(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert main(["catalog", "mark", str(db), "--from", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert name in err and "Traceback" not in err and err.count("\n") == 1


DIRECT_KILLER = """
import sys
import roman_asn.catalog.catalog as catalog_module
from roman_asn.catalog import Catalog
from roman_asn import load_rules
catalog_module.DIRECT_LOAD_ROWS = 1  # the demo is a big first load here
with Catalog.open(sys.argv[1]) as catalog:
    print("start", flush=True)
    catalog.ingest([sys.argv[2]], load_rules())
"""


def _journal_mode(db: Path) -> str:
    with closing(sqlite3.connect(db)) as raw:
        return raw.execute("PRAGMA journal_mode").fetchone()[0]


@pytest.fixture
def switched(monkeypatch) -> list[tuple[str, bool]]:
    """Each journal switch of a direct load, (mode, whether it switched), as it goes."""
    import roman_asn.catalog.store as store

    seen: list[tuple[str, bool]] = []
    journal = store._journal

    def spy(connection, mode):
        seen.append((mode, journal(connection, mode)))
        return seen[-1][1]

    monkeypatch.setattr(store, "_journal", spy)
    return seen


def test_a_big_first_load_writes_into_the_file_and_leaves_the_log_on(
    tmp_path, demo, demo_generated, monkeypatch, switched
):
    """A first load of DIRECT_LOAD_ROWS rows or more goes through a rollback journal
    (its pages are written once, not into the log and again at the commit), makes what
    generate makes, and the catalog is back in write-ahead-log mode after it; a later
    ingest, or a first load while another connection has the catalog open, keeps the log."""
    import roman_asn.catalog.catalog as catalog_module

    monkeypatch.setattr(catalog_module, "DIRECT_LOAD_ROWS", 1)
    a, b = parts(demo, [i % 2 for i in range(demo.table.height)])
    with Catalog.open(tmp_path / "one.db", create=True) as catalog:
        catalog.ingest([demo], RULES)
        assert switched == [("delete", True), ("wal", True)]
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
    assert _journal_mode(tmp_path / "one.db") == "wal"

    switched.clear()
    with Catalog.open(tmp_path / "two.db", create=True) as catalog:
        with closing(sqlite3.connect(tmp_path / "two.db")) as other:  # another reader is there
            other.execute("SELECT count(*) FROM runs").fetchone()
            catalog.ingest([a], RULES)
        assert switched == [("delete", False)]  # so the log is kept
        catalog.ingest([b], RULES)  # not a first load
        assert switched == [("delete", False)]
        assert catalog_meaning(catalog) == generated_meaning(demo_generated)
    assert _journal_mode(tmp_path / "two.db") == "wal"


def test_readers_during_a_direct_first_load(tmp_path):
    """While a direct load holds the catalog but has not written the file yet, a reader
    opens it (in the journal mode it has) and sees the state before; once the load
    writes the file, a reader waits for it, bounded, and says why."""
    from roman_asn.catalog.store import writing

    db = tmp_path / "cat.db"
    with Catalog.open(db, create=True) as catalog:
        with writing(catalog.engine, direct=True) as connection:
            connection.exec_driver_sql(
                "INSERT INTO runs (kind, started, code_version, inputs, counts) "
                "VALUES ('ingest', 'x', 'x', '[]', '{}')"
            )
            assert _journal_mode(db) == "delete"
            with Catalog.open(db) as reader:
                assert reader.runs() == []
            raw = connection.connection.dbapi_connection
            raw.execute("PRAGMA cache_size=1")  # as a big load does: spill to the file
            connection.exec_driver_sql(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                " INSERT INTO counters (counter, value) SELECT 'c' || i, i FROM n"
            )
            with (
                pytest.raises(CatalogError, match="a first load is being written"),
                Catalog.open(db, wait=0.3) as reader,
            ):
                reader.runs()
        assert len(catalog.runs()) == 1
    assert _journal_mode(db) == "wal"


@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_kill_during_a_direct_first_load_leaves_the_catalog_empty(tmp_path, demo, delay):
    db = tmp_path / "cat.db"
    Catalog.open(db, create=True).close()
    demo.write(tmp_path / "demo.csv")
    ingest_killed(DIRECT_KILLER, db, tmp_path / "demo.csv", delay)
    with Catalog.open(db) as catalog:
        if catalog.runs():  # the ingest finished before the kill: whole
            assert catalog.stats()["files"] == demo.table["filename"].n_unique()
        else:
            assert catalog.stats()["files"] == 0
        with catalog.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        catalog.ingest([demo], RULES)
        assert catalog_meaning(catalog) == generated_meaning(generate(demo, RULES))
    assert _journal_mode(db) == "wal"
    assert not (tmp_path / "cat.db-journal").exists()


def test_a_full_disk_during_a_direct_first_load_leaves_it_empty(
    tmp_path, demo, monkeypatch, switched
):
    """The rollback journal undoes a direct load that fills the disk (SQLite's page
    limit fails a write as a full disk does), and the log is back on after it."""
    import sqlalchemy as sa

    import roman_asn.catalog.catalog as catalog_module
    from roman_asn.catalog.store import make_engine

    db = tmp_path / "cat.db"
    Catalog.open(db, create=True).close()
    with closing(sqlite3.connect(db)) as raw:  # closed now: an open one blocks leaving WAL
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
    monkeypatch.setattr(catalog_module, "DIRECT_LOAD_ROWS", 1)

    def small_disk(location, **kwargs):
        engine = make_engine(location, **kwargs)
        sa.event.listen(
            engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count={pages + 40}")
        )
        return engine

    monkeypatch.setattr(catalog_module, "make_engine", small_disk)
    with Catalog.open(db) as catalog, pytest.raises(CatalogError, match="disk is full"):
        catalog.ingest([demo], RULES)
    monkeypatch.undo()
    assert switched == [("delete", True), ("wal", True)]
    assert _journal_mode(db) == "wal"
    with Catalog.open(db) as catalog:
        assert catalog.stats()["files"] == 0 and catalog.runs() == []
        catalog.ingest([demo], RULES)
        assert catalog.stats()["files"] == demo.table["filename"].n_unique()


@pytest.mark.parametrize("command", ["stats", "runs", "upgrade", "changes"])
def test_a_command_that_only_reads_leaves_an_empty_file_as_it_is(tmp_path, command):
    """SQLite writes a header into an empty file it opens: refused before that."""
    empty = tmp_path / "empty.db"
    empty.touch()
    done = subprocess.run(
        [sys.executable, "-m", "roman_asn", "catalog", command, str(empty)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "an empty file, not a catalog" in done.stderr
    assert empty.stat().st_size == 0 and sorted(tmp_path.iterdir()) == [empty]


def test_a_catalog_made_before_a_default_rules_change_takes_it(catalog_location, caplog):
    """A catalog made with the default rules as they were before WFI_SPECTRAL became a
    science type is not refused by today's rules: its next writer says so, and the
    stored spectral files get their associations, so the catalog holds what today's
    rules make of all its rows. Rules that differ otherwise are still refused."""
    from roman_asn.catalog.rule_updates import UPDATES

    before = list(RULES)
    for update in reversed(UPDATES):  # the default rules before every update
        before = update.undo(before)
    image, spectral = row(visit=1, exposure=1), row(visit=1, exposure=2, exp_type="WFI_SPECTRAL")
    other = row(visit=2, exposure=1, optical_element="F087")  # a mosaic day 2 leaves alone
    # old names number exposures per visit file group: two exposures 1 of visit 3,
    # which the FOV rule before exposure_stem made one FOV of
    old_names = [
        row(
            visit=3,
            exposure=1,
            detector=d,
            filename=f"r0000101001001001003_{g}_0001_WFI0{d}_uncal.asdf",
        )
        for g, d in (("00101", 1), ("00201", 2))
    ]
    # GBTDS sub-surveys A and B of one target, pass and filter, which the GBTDS rules
    # before gbtds_subcategory made one pass and one full association of; and a GBTDS
    # target of one sub-survey (spelled Survey/GBTDS), whose next file comes on day 2
    sub_a, sub_b = (
        row(visit=v, exposure=1, category="GBTDS", subcategory=s, target="BULGE")
        for v, s in ((4, "A"), (5, "B"))
    )
    lone = row(visit=6, exposure=1, category="Survey", subcategory="GBTDS", target="BULGE2")
    day1 = pool([image, spectral, other, *old_names, sub_a, sub_b, lone])

    def of_type(catalog, filename: str, asn_type: str = "fov") -> list[str]:
        return sorted(
            name
            for name in {f["name"] for f in catalog.find(filename) if f["current"]}
            if catalog.show(name)["asn_type"] == asn_type
        )

    def fov_of(catalog, filename: str) -> list[str]:
        return of_type(catalog, filename)

    def gbtds_of(catalog, filename: str) -> list[str]:
        return of_type(catalog, filename, "pass") + of_type(catalog, filename, "full")

    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([day1], before)
        assert not catalog.find(spectral["filename"])
        image_fov = fov_of(catalog, image["filename"])
        assert len(image_fov) == 1
        merged = fov_of(catalog, old_names[0]["filename"])
        assert merged == fov_of(catalog, old_names[1]["filename"])  # one FOV of the two
        both = gbtds_of(catalog, sub_a["filename"])
        assert len(both) == 2 and both == gbtds_of(catalog, sub_b["filename"])  # pass, full
        lone_gbtds = gbtds_of(catalog, lone["filename"])
        later = row(visit=1, exposure=3)
        second = row(visit=1, exposure=1, detector=2)  # the next file of a stored FOV
        # the next file of the lone GBTDS target (spelled GBTDS/no subcategory: they meet)
        lone_next = row(visit=7, exposure=1, category="GBTDS", subcategory=None, target="BULGE2")
        day2 = [later, second, lone_next]
        report = catalog.ingest([pool(day2, name="day2.csv")], RULES)
        assert "the rules changed since it was made" in caplog.text
        assert any(catalog.show(n)["asn_type"] == "spec" for n in report.new)
        assert catalog.find(spectral["filename"])
        # every mosaic has the target "None" now, in a new version (stale, so processed
        # again), made as the engine would have made it
        current = pl.concat([r.associations for r in catalog.current_results()])
        mosaics = current.filter(pl.col("asn_type") == "mosaic")
        assert mosaics.height > 1 and set(mosaics["target"]) == {"None"}
        assert set(mosaics["file_name"].str.replace("_asn.json", "")) <= set(report.changed)
        stale = {entry["name"] for entry in catalog.stale()}
        assert set(mosaics["file_name"].str.replace("_asn.json", "")) <= stale
        everything = pool([image, spectral, other, *old_names, sub_a, sub_b, lone, *day2])
        assert catalog_meaning(catalog) == generated_meaning(generate(everything, RULES))
        # a stored FOV keeps its name and takes the next file of its exposure; the two
        # exposures of old names are two FOVs now
        assert (
            fov_of(catalog, image["filename"]) == image_fov == fov_of(catalog, second["filename"])
        )
        split = [fov_of(catalog, r["filename"]) for r in old_names]
        assert len(split[0]) == len(split[1]) == 1 and split[0] != split[1]
        assert merged[0] in report.retired
        # the lone GBTDS target's associations keep their names and take its next file;
        # the associations of two sub-surveys are split in two each, the old retired
        assert gbtds_of(catalog, lone["filename"]) == lone_gbtds
        assert gbtds_of(catalog, lone_next["filename"]) == lone_gbtds
        split = [gbtds_of(catalog, r["filename"]) for r in (sub_a, sub_b)]
        assert len(split[0]) == len(split[1]) == 2 and not set(split[0]) & set(split[1])
        assert not set(both) & set(split[0] + split[1])
        for name in both:
            assert name in report.retired
            assert catalog.show(name)["retired_reason"] == "left without members"
        products = sorted(catalog.show(n)["product_name"] for n in split[0] + split[1])
        assert products == [
            "r00001_p_full_bulge_f158",
            "r00001_p_full_bulge_f158-2",
            "r00001_p_p001_bulge_f158",
            "r00001_p_p001_bulge_f158-2",
        ]
        # (the split associations are retired: a catalog made with today's rules never had them)
        retired = set(report.retired)
        kept = {n: h for n, h in _content_hashes(catalog_location).items() if n not in retired}
        # the new hash is kept: the next ingest is an ordinary one
        again = catalog.ingest([pool(day2, name="day2.csv")], RULES)
        assert (again.new, again.changed, again.retired) == ([], [], [])
        with pytest.raises(CatalogError, match="built with other rules"):
            catalog.ingest([day1], before[1:])
    # the same rows into a catalog made with today's rules: the same contents (names
    # may differ: the spectral FOV was numbered after day 1's there), but for the FOVs
    # day 2 left alone: re-keyed in place, they keep their version (constraints without
    # exposure_stem) until their group changes, as that is no reason to process them again
    fresh = catalog_location + "_fresh" if "://" not in catalog_location else None
    if fresh is not None:
        with Catalog.open(fresh, create=True) as catalog:
            catalog.ingest([day1], RULES)
            catalog.ingest([pool(day2, name="day2.csv")], RULES)

        def not_fov(hashes: dict[str, str]) -> Counter:
            return Counter(h for name, h in hashes.items() if "_fov_" not in name)

        assert not_fov(_content_hashes(fresh)) == not_fov(kept)


def _content_hashes(location: str) -> dict[str, str]:
    """Each current association's content hash, by name."""
    from roman_asn.catalog import schema as t
    from roman_asn.catalog.store import make_engine

    engine = make_engine(location)
    a, v = t.associations, t.versions
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(a.c.name, v.c.content_hash).join(
                    v, (v.c.asn_pk == a.c.asn_pk) & (v.c.version == a.c.current_version)
                )
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


def test_upgrade_to_0007_puts_retirements_on_their_versions(catalog_location):
    """0007 records each retirement on the version it ended: a catalog upgraded from
    0006 has its retired associations' current versions marked, and no others."""
    from alembic import command

    from roman_asn.catalog.store import _alembic_config, make_engine, upgrade, writing

    r1, r2 = row(visit=1, exposure=1), row(visit=1, exposure=2)
    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool([r1, r2])], RULES)
        report = catalog.withdraw([r2["filename"]], RULES)
        assert report.retired

    def retired_versions() -> dict[str, tuple]:
        engine = make_engine(catalog_location)
        try:
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    "SELECT a.name, v.version, v.retired_run, v.retired_reason "
                    "FROM versions v JOIN associations a ON a.asn_pk = v.asn_pk "
                    "WHERE v.retired_run IS NOT NULL"
                ).all()
        finally:
            engine.dispose()
        return {name: (version, run, why) for name, version, run, why in rows}

    recorded = retired_versions()
    assert sorted(recorded) == sorted(report.retired)
    engine = make_engine(catalog_location)
    with writing(engine) as connection:
        command.downgrade(_alembic_config(connection), "0006")
    assert upgrade(engine) == ("0006", "0009")
    engine.dispose()
    assert retired_versions() == recorded


def test_a_lost_connection_during_a_copy_is_said_once(caplog):
    """psycopg warns that ending a COPY failed too, after the error that stopped it: a
    PostgreSQL engine leaves that second line out (the error is said on its own)."""
    import logging

    from roman_asn.catalog.store import make_engine

    make_engine("postgresql://someone@127.0.0.1:1/nothing").dispose()  # no connection made
    psycopg_log = logging.getLogger("psycopg")
    with caplog.at_level(logging.WARNING, logger="psycopg"):
        psycopg_log.warning("error ignored terminating %r: %s", "<Copy>", "connection lost")
        psycopg_log.warning("another warning")
    assert [r.getMessage() for r in caplog.records] == ["another warning"]


def test_products_of_one_name_are_told_apart(catalog_location):
    """Targets that sanitise alike ('NGC 3603', 'ngc-3603') give mosaics of one product
    name: the catalog keeps generate's -2 for those of one run, and gives one to a new
    product named like a current one, so no two products are written over each other."""
    a = row(visit=1, exposure=1, target="NGC 3603")
    b = row(visit=2, exposure=1, target="ngc-3603")

    def products(catalog) -> list[str]:
        current = pl.concat([r.associations for r in catalog.current_results()])
        return sorted(current.filter(pl.col("asn_type") == "mosaic")["product_name"])

    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool([a, b])], RULES)
        assert catalog_meaning(catalog) == generated_meaning(generate(pool([a, b]), RULES))
        one_run = products(catalog)
        assert len(one_run) == 2 and one_run[1] == one_run[0] + "-2"
    later = catalog_location + "_days" if "://" not in catalog_location else None
    if later is not None:
        with Catalog.open(later, create=True) as catalog:
            catalog.ingest([pool([a])], RULES)
            catalog.ingest([pool([b], name="day2.csv")], RULES)
            assert products(catalog) == one_run


def test_a_name_once_issued_is_not_issued_again_after_its_product_retires(
    catalog_location, tmp_path
):
    """Association files named after their product: X retired (its files withdrawn)
    while X-2 is current; a new group named X takes X-3. It took X-2, the current
    association's name (names are never reissued; the catalog refused the write)."""
    rules_file = tmp_path / "named.toml"
    rules_file.write_text(
        """
[[rule]]
name = "TargetMosaic"
level = 3
expand = "wfi_detectors"
candidates = "none"
group_by = ["target", "optical_element"]
asn_type = "mosaic"
member_suffix = "cal"
product_name = "r{program:05d}_{target}_{optical_element}"
asn_file_name = "product"
"""
    )
    rules = load_rules([rules_file], ignore_default=True)
    spelled = ["NGC 3603", "ngc-3603", "NGC_3603"]  # one product name, three groups
    days = [pool([row(visit=v + 1, target=t)], name=f"day{v}.csv") for v, t in enumerate(spelled)]

    def current(catalog) -> list[str]:
        return sorted(n for r in catalog.current_results() for n in r.associations["file_name"])

    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([days[0]], rules)
        catalog.ingest([days[1]], rules)
        assert current(catalog) == [
            "r00001_ngc-3603_f158-2_asn.json",
            "r00001_ngc-3603_f158_asn.json",
        ]
        catalog.withdraw(days[0].table["filename"].to_list(), rules)
        assert current(catalog) == ["r00001_ngc-3603_f158-2_asn.json"]
        catalog.ingest([days[2]], rules)
        assert current(catalog) == [
            "r00001_ngc-3603_f158-2_asn.json",
            "r00001_ngc-3603_f158-3_asn.json",
        ]


def test_an_association_that_comes_back_gets_a_free_product_name(catalog_location):
    """Sub-survey A's product X retires when its file moves to another sub-survey,
    whose new product takes X in the same run; A's next file brings A back, under its
    old name: its product gets the next free number, not X a second time."""

    def gbtds(detector: int, sub: str | None) -> dict:
        return row(visit=1, detector=detector, category="GBTDS", subcategory=sub)

    def products(catalog) -> list[tuple[str, str]]:
        current = pl.concat([r.associations for r in catalog.current_results()])
        current = current.filter(pl.col("rule") == "Asn_Lv3GBTDSFull")
        return sorted(zip(current["file_name"], current["product_name"], strict=True))

    with Catalog.open(catalog_location, create=True) as catalog:
        catalog.ingest([pool([gbtds(1, "A"), gbtds(2, "B")], name="day1.csv")], RULES)
        first = products(catalog)
        assert [p for _, p in first] == ["r00001_p_full_field1_f158", "r00001_p_full_field1_f158-2"]
        catalog.ingest([pool([gbtds(1, None)], name="day2.csv")], RULES)  # A's file moves
        second = dict(products(catalog))
        catalog.ingest([pool([gbtds(3, "A")], name="day3.csv")], RULES)  # A comes back
        third = dict(products(catalog))
        assert len(set(third.values())) == len(third) == 3
        assert all(third[name] == product for name, product in second.items())
        back = next(name for name, _ in first if name not in second)
        assert third[back] == "r00001_p_full_field1_f158-3"


def test_a_new_catalog_that_cannot_be_made_says_why(tmp_path, monkeypatch):
    """SQLite said only "unable to open database file" for a link to nothing and for a
    folder that cannot be written (read-only media)."""
    link = tmp_path / "c.db"
    link.symlink_to(tmp_path / "gone" / "c.db")
    with pytest.raises(CatalogError, match=r"c\.db: is a link to .*gone/c\.db, which does not"):
        Catalog.open(link, create=True)
    locked = tmp_path / "ro"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: os.fspath(p) != str(locked) and real(p, mode, **kw)
    )
    with pytest.raises(CatalogError, match=r"ro/c\.db: cannot make the catalog: folder .*ro can"):
        Catalog.open(locked / "c.db", create=True)
    assert not (locked / "c.db").exists() and not (tmp_path / "gone").exists()


def test_an_ingest_says_what_the_rules_made_but_it_did_not_record(tmp_path, demo, capsys):
    """As generate says what it did not write: groups dropped by design (too few
    filters, duplicates), and a product name no file can have (a data release id too
    long for a file name), which went unsaid with 152 of 2,328 associations recorded."""
    from roman_asn.cli import main
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.generator.summary import dropped_line

    long_id = "a" * 300
    made = generate(demo, RULES, GenerateOptions(data_release_id=long_id))
    with Catalog.open(tmp_path / "c.db", create=True) as catalog:
        report = catalog.ingest([demo], RULES, data_release_id=long_id)
    assert len(report.new) == made.associations.height
    assert report.not_recorded == dict(made.drop_reasons())
    assert any(why.startswith("product name") for why in report.not_recorded)
    assert main(["catalog", "ingest", str(tmp_path / "d.db"), str(DEMO)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "not recorded" in line]
    expected = dropped_line("not recorded", generate(demo, RULES).drop_reasons())
    assert said == [expected] and "fewer than 2 filters" in expected
