"""The names checked before anything is written: each refusal, with the names at fault."""

from __future__ import annotations

import polars as pl
import pytest

from roman_asn.errors import RomanAsnError
from roman_asn.generator.writer import check_file_names


def frame(names: list[str], products: list[str | None] | None = None) -> pl.DataFrame:
    products = products or [n.removesuffix("_asn.json") for n in names]
    return pl.DataFrame(
        {
            "file_name": names,
            "product_name": products,
            "rule": [f"R{i}" for i in range(len(names))],
        },
        schema={"file_name": pl.Utf8, "product_name": pl.Utf8, "rule": pl.Utf8},
    )


def test_plain_unique_names_pass_and_a_missing_product_name_is_no_fault():
    check_file_names(frame(["a_asn.json", "b_asn.json"]))
    check_file_names(frame(["a_asn.json", "b_asn.json"], [None, "b"]))
    check_file_names(frame(["a_asn.json"]).drop("product_name"))
    check_file_names(frame([]))


@pytest.mark.parametrize(
    ("names", "products", "said"),
    [
        (["ok_asn.json", "../up_asn.json"], None, "rule R1 makes the file name '../up_asn.json'"),
        (["ok_asn.json", "x" * 300], None, "rule R1 makes a file name of 300 bytes"),
        (["ok_asn.json", "p_asn.json"], ["ok", "a/b"], "rule R1 makes the product name 'a/b'"),
        (
            ["r1_F158_asn.json", "other_asn.json", "r1_f158_asn.json"],
            None,
            "associations 'r1_F158_asn.json' and 'r1_f158_asn.json' would share one file",
        ),
    ],
    ids=["escapes", "too long", "product", "case"],
)
def test_each_fault_is_named(names, products, said):
    with pytest.raises(RomanAsnError) as raised:
        check_file_names(frame(names, products))
    assert said in str(raised.value)
