import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn.pool.columns import VISIT_ID_FIELDS
from roman_asn.visit_id import (
    is_visit_id,
    visit_id_expr,
    visit_id_field_exprs,
    visit_id_from_fields,
    visit_id_in_name,
    visit_id_upto,
)

FIELDS = st.fixed_dictionaries(
    {name: st.integers(0, 10**width - 1) for name, width in VISIT_ID_FIELDS}
)


@given(FIELDS)
def test_fields_survive_the_visit_id_and_back(fields):
    text = visit_id_from_fields(fields)
    assert is_visit_id(text)
    assert visit_id_in_name(f"cal/r{text}_0001_wfi01_cal.asdf") == text
    parsed = pl.select(**visit_id_field_exprs(pl.lit(f" {text} "))).row(0, named=True)
    assert parsed == fields
    assert pl.DataFrame([fields]).select(visit_id_expr()).item() == text


def test_what_is_not_a_visit_id():
    assert visit_id_from_fields({"program": 1}) is None
    assert visit_id_from_fields({name: 1000 for name, _ in VISIT_ID_FIELDS}) is None
    assert visit_id_from_fields({name: -1 for name, _ in VISIT_ID_FIELDS}) is None
    assert not is_visit_id("123") and not is_visit_id(None) and not is_visit_id("x" * 19)
    assert visit_id_in_name("r123_x.asdf") is None
    parsed = pl.select(**visit_id_field_exprs(pl.lit("12345"))).row(0, named=True)
    assert set(parsed.values()) == {None}


def test_visit_id_prefixes():
    text = "0000101001002003004"
    assert visit_id_upto(text, "program") == "00001"
    assert visit_id_upto(text, "pass") == "0000101001"
    assert visit_id_upto(text, "segment") == "0000101001002"
    assert visit_id_upto(text, "visit") == text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(categories=["Nd"]), min_size=19, max_size=19),
        min_size=1,
        max_size=20,
    )
)
def test_vectorized_name_tokens_are_group_token(visit_ids):
    """The generator's tokens (a column at a time) are ``group_token``'s, digit for
    digit, for any 19 digits (other scripts' digits too: both count characters)."""
    from roman_asn.skycells.associations import group_token, token_expr

    for kind in ("visit", "pass", "daily"):
        tokens = pl.select(token_expr(pl.Series(visit_ids, dtype=pl.Utf8), kind)).to_series()
        assert tokens.to_list() == [group_token(v, kind)[1] for v in visit_ids]
