"""Sky-cell rules: the hooks behind ``expand = "skycells"`` and the multiband stage.

The ``skycells`` expander matches every row's footprint (corners, S_REGION, or the
pointing and the detector; :func:`roman_asn.skycells.footprints_from_table`) to the
sky cells it touches (:func:`roman_asn.skycells.match_footprints`, vectorized) and
emits one row per (row, cell) with a ``skycell`` column, plus ``visit_token``
(``v`` + 14 digits), ``pass_token`` (``p`` + CC AAA) and ``daily_token`` (``d`` +
CC AAA SSS) made by the same
:func:`roman_asn.skycells.associations.group_token` as ``roman-asn skycell``. A row
with no footprint, or one touching no cell, stays as one row with a null ``skycell``
and its reason in ``expand_failure`` (reported by ``explain`` and the orphans).

Rules that group by ``skycell`` take the cell as ``target`` and get its
``skycell_wcs_info`` (see :func:`wcs_info_texts`). A rule with ``source_rules``
(the multiband rule) groups the *products* of those rules instead of pool rows:
:func:`product_groups`.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from roman_asn.generator.hooks import (
    EXPAND_FAILURE,
    SKYCELL_COLUMN,
    ExpanderSkip,
    register_expander,
)
from roman_asn.skycells.associations import group_token
from roman_asn.skycells.footprints import (
    DEC_CORNERS,
    POINTING_COLUMNS,
    RA_CORNERS,
    SREGION_COLUMN,
)
from roman_asn.skycells.skymap import SkyMap, get_skymap

FOOTPRINT_COLUMNS = (*RA_CORNERS, *DEC_CORNERS, SREGION_COLUMN, *POINTING_COLUMNS[:3])
NO_FOOTPRINT = "no footprint (no ra_corn/dec_corn corners, s_region, or pointing with detector)"
NO_CELL = "footprint touches no sky cell"
NO_COLUMNS = "the pool has no footprint or pointing columns"


def has_footprint_columns(columns: list[str]) -> bool:
    names = {c.lower() for c in columns}
    corners = all(c in names for c in (*RA_CORNERS, *DEC_CORNERS))
    pointing = all(c in names for c in POINTING_COLUMNS)
    return corners or SREGION_COLUMN in names or pointing


def _tokens(visit_ids: pl.Series) -> pl.DataFrame:
    """visit, pass and daily token of each distinct 19-digit visit id (others: null)."""
    distinct = [v for v in visit_ids.unique().to_list() if v and len(v) == 19 and v.isdigit()]
    return pl.DataFrame(
        {
            "visit_id": distinct,
            "visit_token": [group_token(v, "visit")[1] for v in distinct],
            "pass_token": [group_token(v, "pass")[1] for v in distinct],
            "daily_token": [group_token(v, "daily")[1] for v in distinct],
        },
        schema={n: pl.Utf8 for n in ("visit_id", "visit_token", "pass_token", "daily_token")},
    )


@register_expander("skycells", inputs=(*FOOTPRINT_COLUMNS, "visit_id"), label="sky-cell rules")
def skycells(frame: pl.DataFrame, skymap: SkyMap | None = None) -> pl.DataFrame:
    """One row per (row, sky cell its footprint touches); rows without keep one row."""
    from roman_asn.skycells import footprints_from_table, match_footprints

    if not has_footprint_columns(frame.columns):
        raise ExpanderSkip(NO_COLUMNS)
    skymap = skymap or get_skymap()
    ra, dec, source = footprints_from_table(frame)
    matches = match_footprints(ra, dec, skymap)
    counts = matches.counts()
    # rows keep their order (the engine relies on it): row i repeated max(count, 1) times
    take = np.repeat(np.arange(frame.height), np.maximum(counts, 1))
    cells = np.full(len(take), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(np.maximum(counts, 1))[:-1]])
    inner = np.arange(len(take)) - np.repeat(starts, np.maximum(counts, 1))
    matched = np.repeat(counts > 0, np.maximum(counts, 1))
    cells[matched] = matches.cells[matches.offsets[take[matched]] + inner[matched]]
    names = pl.Series(SKYCELL_COLUMN, [None] * len(take), dtype=pl.Utf8)
    if matched.any():
        names = names.scatter(np.flatnonzero(matched), pl.Series(skymap.names(cells[matched])))
    no_cell = pl.Series(counts == 0)
    failure = (
        pl.select(
            pl.when(pl.Series(source == ""))
            .then(pl.lit(NO_FOOTPRINT))
            .when(no_cell)
            .then(pl.lit(NO_CELL))
            .otherwise(pl.lit(None, dtype=pl.Utf8))
        )
        .to_series()
        .alias(EXPAND_FAILURE)
    )
    drop = [c for c in frame.columns if c.lower() in FOOTPRINT_COLUMNS and c != "detector"]
    out = frame.drop(drop).with_columns(failure).select(pl.all().gather(take))
    out = out.with_columns(pl.col("filename").alias("file"), names)
    if "visit_id" in out.columns:
        visit = out["visit_id"].cast(pl.Utf8)
        out = out.with_columns(visit.alias("visit_id")).join(
            _tokens(visit), on="visit_id", how="left", maintain_order="left"
        )
    return out


def wcs_info_texts(names: list[str], skymap: SkyMap | None = None) -> dict[str, str]:
    """``skycell_wcs_info`` of each cell as the JSON text Association.dump() writes
    inside an association (4-space indent, one level deep), vectorized over cells."""
    from roman_asn.skycells.wcs import skycell_wcs_infos

    if not names:
        return {}
    skymap = skymap or get_skymap()
    infos = skycell_wcs_infos([skymap.index_of(n) for n in names], skymap)
    return {
        name: json.dumps(info, indent=4, ensure_ascii=False).replace("\n", "\n    ")
        for name, info in zip(names, infos, strict=True)
    }


def product_groups(rule, rule_order: int, stage1: pl.DataFrame, options) -> pl.DataFrame:
    """Associations of a ``source_rules`` rule (multiband): its rows are the products
    of the source rules (``product_root`` = the product name without its last
    ``_<filter>`` part, member ``<product>_coadd.asdf``), grouped by its keys."""
    from roman_asn.generator.naming import render

    products = stage1.filter(pl.col("rule").is_in(list(rule.source_rules)) & pl.col("emit"))
    products = products.select(
        "program",
        "rows",
        pl.col("skycell").alias(SKYCELL_COLUMN),
        pl.col("product_name").str.replace(r"_[^_]+$", "").alias("product_root"),
        pl.col("product_name").str.extract(r"_([^_]+)$").alias("optical_element"),
        (pl.col("product_name") + f"_{rule.member_suffix or 'coadd'}.asdf").alias("member"),
    ).sort("member")
    keys = list(rule.keys)
    groups = products.group_by(keys, maintain_order=True).agg(
        pl.col("member").alias("members"),
        pl.col("rows").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        # a multiband association of one filter combines nothing (romancal: min_filters
        # = 1); such groups are kept unwritten (emit false) so they are reported, and
        # an incremental catalog still knows their rows
        (pl.col("optical_element").n_unique() >= rule.min_filters).alias("emit"),
    )
    constraints = pl.concat_str(
        [pl.concat_str([pl.lit(f"{c}="), pl.col(c).cast(pl.Utf8)]) for c in keys],
        separator=", ",
    )
    name = render(rule.product_name, groups.schema, {"drid": options.data_release_id})
    return groups.select(
        pl.lit(rule.name).alias("rule"),
        pl.lit(rule_order, dtype=pl.Int64).alias("rule_order"),
        pl.lit(rule.level, dtype=pl.Int64).alias("level"),
        pl.lit(rule.asn_type, dtype=pl.Utf8).alias("asn_type"),
        pl.col("program").cast(pl.Int64),
        pl.lit(None, dtype=pl.Utf8).alias("acid"),
        pl.col("emit"),
        name.alias("product_name"),
        name.alias("product_key"),
        pl.lit(rule.asn_file_name).alias("asn_file_name"),
        constraints.alias("constraints"),
        pl.col(SKYCELL_COLUMN).cast(pl.Utf8).alias("target")
        if SKYCELL_COLUMN in keys
        else pl.lit(None, dtype=pl.Utf8).alias("target"),
        (pl.col(SKYCELL_COLUMN) if SKYCELL_COLUMN in keys else pl.lit(None))
        .cast(pl.Utf8)
        .alias("skycell"),
        pl.lit(rule.member_exptype).alias("exptype"),
        pl.col("members").cast(pl.List(pl.Utf8)),
        pl.col("members")  # a list of nulls: coadds carry no exposure error
        .list.eval(pl.when(pl.element().is_null()).then(pl.element()))
        .cast(pl.List(pl.Utf8))
        .alias("exposerr"),
        pl.col("rows").cast(pl.List(pl.UInt32)),
    )
