"""diff: by meaning, paired by product, every difference reported."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from roman_asn.cli import main
from roman_asn.tools.diff import diff_associations, diff_paths
from roman_asn.tools.from_list import asn_from_list

DATA = Path(__file__).parent / "data"


def reshuffled(data: dict, seed: int) -> dict:
    """Same meaning: keys, products and members in another order."""
    rng = random.Random(seed)

    def shuffle_keys(d: dict) -> dict:
        items = list(d.items())
        rng.shuffle(items)
        return dict(items)

    products = []
    for product in data["products"]:
        members = [shuffle_keys(m) for m in product["members"]]
        rng.shuffle(members)
        products.append(shuffle_keys({**product, "members": members}))
    rng.shuffle(products)
    return shuffle_keys({**data, "products": products})


def test_folder_against_reformatted_renamed_copies_is_equal(tmp_path: Path, capsys) -> None:
    right = tmp_path / "right"
    right.mkdir()
    for i, path in enumerate(sorted(DATA.glob("*.json"))):
        data = reshuffled(json.loads(path.read_text()), i)
        (right / f"renamed_{i}.json").write_text(json.dumps(data, indent=1))
    assert diff_paths(DATA, right) == []
    assert main(["diff", str(DATA), str(right)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_every_kind_of_difference(tmp_path: Path) -> None:
    left = asn_from_list(
        ["a.asdf", "b.asdf", ("c.asdf", "background")],
        product_name="p1",
        asn_type="image",
        asn_id="o001",
    )
    right = asn_from_list(
        ["b.asdf", ("c.asdf", "science"), "d.asdf"],
        product_name="p1",
        asn_type="mosaic",
        asn_id="c1000",
    )
    kinds = {d.kind: d for d in diff_associations([("L", left)], [("R", right)])}
    assert set(kinds) == {
        "asn_type",
        "candidate_level",
        "exptype",
        "member_only_left",
        "member_only_right",
    }
    assert (kinds["asn_type"].left, kinds["asn_type"].right) == ("image", "mosaic")
    assert (kinds["candidate_level"].left, kinds["candidate_level"].right) == ("o", "c")
    assert kinds["member_only_left"].left == "a.asdf"
    assert kinds["member_only_right"].right == "d.asdf"
    assert (kinds["exptype"].left, kinds["exptype"].right) == ("background", "science")
    assert kinds["exptype"].left_file == "L" and kinds["exptype"].right_file == "R"


def test_products_paired_by_name_then_members() -> None:
    a = asn_from_list(["x.asdf"], product_name="alpha")
    b = asn_from_list(["y.asdf"], product_name="beta")
    renamed = asn_from_list(["x.asdf"], product_name="alpha_v2")
    out = diff_associations([("l1", a), ("l2", b)], [("r1", renamed)])
    assert [(d.kind, d.product) for d in out] == [
        ("product_name", "alpha"),
        ("product_only_left", "beta"),
    ]


def test_candidate_number_is_not_a_difference_unless_strict() -> None:
    a = asn_from_list(["x.asdf"], product_name="p", asn_id="o001", target="t1")
    b = asn_from_list(["x.asdf"], product_name="p", asn_id="o002", target="t2")
    assert diff_associations([("l", a)], [("r", b)]) == []
    strict = diff_associations([("l", a)], [("r", b)], strict=True)
    assert {d.kind for d in strict} == {"asn_id", "target"}


def test_grouping_and_duplicates() -> None:
    both = asn_from_list(["x.asdf"], product_name="p")
    both.products.append(asn_from_list(["y.asdf"], product_name="q").products[0])
    p = asn_from_list(["x.asdf"], product_name="p")
    q = asn_from_list(["y.asdf"], product_name="q")
    out = diff_associations([("one", both)], [("p", p), ("q", q)])
    assert [d.kind for d in out] == ["grouping"]
    dup = diff_associations([("a", p), ("b", p)], [("c", p)])
    assert [d.kind for d in dup] == ["duplicate_product", "product_only_left"]


def test_ignore_dirs() -> None:
    a = asn_from_list(["raw/x.asdf"], product_name="p")
    b = asn_from_list(["x.asdf"], product_name="p")
    assert len(diff_associations([("a", a)], [("b", b)])) == 2
    assert diff_associations([("a", a)], [("b", b)], ignore_dirs=True) == []


def test_cli_exit_codes_and_report(tmp_path: Path, capsys) -> None:
    left = tmp_path / "left_asn.json"
    right = tmp_path / "right_asn.json"
    asn_from_list(["a.asdf", "b.asdf"], product_name="prod").write(left)
    asn_from_list(["a.asdf"], product_name="prod").write(right)
    assert main(["diff", str(left), str(right)]) == 1
    out = capsys.readouterr().out
    assert "product prod" in out and "member b.asdf (science) only in left" in out
    assert "1 difference" in out
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2")
    assert main(["diff", str(left), str(broken)]) == 2
    assert "broken.json" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["diff", str(empty), str(right)]) == 2
    assert main(["diff", str(tmp_path / "nope"), str(right)]) == 2


members = st.lists(
    st.tuples(
        st.from_regex(r"[a-z0-9_]{1,12}\.asdf", fullmatch=True),
        st.sampled_from(["science", "background", "dark"]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda t: t[0],
)


@settings(max_examples=50)
@given(products=st.lists(members, min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_shuffled_copy_has_no_differences(products, seed) -> None:
    asns = [asn_from_list(m, product_name=f"prod{i}") for i, m in enumerate(products)]
    left = [(f"l{i}", a.to_dict()) for i, a in enumerate(asns)]
    right = [(f"r{i}", reshuffled(a.to_dict(), seed + i)) for i, a in enumerate(asns)]
    random.Random(seed).shuffle(right)
    assert diff_associations(left, right) == []


@given(products=members, drop=st.integers(0, 5))
def test_removing_a_member_is_found(products, drop) -> None:
    drop %= len(products)
    full = asn_from_list(products, product_name="p")
    fewer = [m for i, m in enumerate(products) if i != drop]
    assume(fewer)
    out = diff_associations([("l", full)], [("r", asn_from_list(fewer, product_name="p"))])
    assert [(d.kind, d.left) for d in out] == [("member_only_left", products[drop][0])]


def test_sample_file_against_itself_copy(tmp_path: Path) -> None:
    shutil.copy(DATA / "asn_mosaic.json", tmp_path / "other_name.json")
    assert diff_paths(DATA / "asn_mosaic.json", tmp_path / "other_name.json") == []


def test_a_member_listed_many_times_is_one_difference(tmp_path: Path) -> None:
    """360k listings of 18 members were 360k lines (a minute of printing): one line a
    member, with the count."""
    asn = asn_from_list(["a_cal.asdf", "b_cal.asdf"], product_name="p")
    data = asn.to_dict()
    member = data["products"][0]["members"]
    data["products"][0]["members"] = member * 1000 + [member[0]]
    path = tmp_path / "x_asn.json"
    path.write_text(json.dumps(data))
    messages = sorted(d.message for d in diff_paths(path, path))
    assert messages == [
        "left lists member a_cal.asdf 1,001 times",
        "left lists member b_cal.asdf 1,000 times",
        "right lists member a_cal.asdf 1,001 times",
        "right lists member b_cal.asdf 1,000 times",
    ]
