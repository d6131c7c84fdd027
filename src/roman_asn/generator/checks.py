"""Why a row joins a rule or not: one ordered list of checks per rule.

The same checks give the engine its row filter (every check passes) and the
orphan report and ``roman-asn explain`` their reasons (the first check that
fails), so the reasons can never disagree with what the engine did.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from roman_asn.generator.candidates import eligible_candidates, in_selected
from roman_asn.generator.options import GenerateOptions
from roman_asn.rules.hooks import EXPAND_FAILURE, expanders
from roman_asn.rules.loader import Rule, Selection

Check = tuple[pl.Expr, pl.Expr]  # (fails: bool, never null; message: text)


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Utf8).str.strip_chars().str.to_uppercase()


def _shown(column: str) -> pl.Expr:
    return pl.concat_str([pl.lit(f"{column} "), pl.col(column).cast(pl.Utf8).fill_null("null")])


def _selection_checks(selection: Selection) -> list[Check]:
    columns = selection.columns
    all_missing = pl.all_horizontal([pl.col(c).is_null() for c in columns])
    names = ", ".join(columns)
    plural = "s" if len(columns) > 1 else ""
    missing = (all_missing, pl.lit(f"missing value in column{plural} {names}"))
    hit = pl.any_horizontal(
        [_text(c).is_in(list(selection.values)).fill_null(False) for c in columns]
    )
    fails = hit if selection.exclude else ~hit
    shown = pl.concat_str([_shown(c) for c in columns], separator=", ")
    prefix = "excluded as" if selection.exclude else "not"
    message = pl.concat_str([pl.lit(f"{prefix} {selection.label} ("), shown, pl.lit(")")])
    return [missing, (fails, message)]


def rule_checks(rule: Rule, options: GenerateOptions, columns: Collection[str] = ()) -> list[Check]:
    """The checks of ``rule`` in the order they are reported (first failure wins);
    ``columns``: the frame's columns (an expander's failure column, if there)."""
    checks: list[Check] = []
    no_file = expanders()[rule.expand].no_file_reason if rule.expand else None
    if no_file:  # a row the expander left without a file: nothing else can be said
        checks.append((pl.col("file").is_null(), pl.lit(no_file)))
    for selection in rule.selections:
        checks += _selection_checks(selection)
    if EXPAND_FAILURE in columns:
        failure = pl.col(EXPAND_FAILURE)
        checks.append((failure.is_not_null(), failure))
    for column in rule.required:
        checks.append(
            (pl.col(column).is_null(), pl.lit(f"missing required value in column {column}"))
        )
    if rule.asn_type_column:
        known = list(rule.asn_type_map)
        checks.append(
            (
                ~_text(rule.asn_type_column).is_in(known).fill_null(False),
                pl.concat_str(
                    [_shown(rule.asn_type_column), pl.lit(" has no asn_type in this rule")]
                ),
            )
        )
    if options.ids:
        shown = ", ".join(options.ids)
        checks.append(
            (~in_selected(options.ids), pl.lit(f"not in the selected candidates ({shown})"))
        )
    if rule.candidates == "each" and not options.discover:
        none_left = eligible_candidates(rule, options).list.len().fill_null(0) == 0
        kinds = f" of type {', '.join(rule.candidate_types)}" if rule.candidate_types else ""
        checks.append((none_left, pl.lit(f"no candidate{kinds} to group by (discovery is off)")))
    return checks


def passes(checks: list[Check]) -> pl.Expr:
    if not checks:
        return pl.lit(True)
    return ~pl.any_horizontal([fails for fails, _ in checks])


def first_failure(checks: list[Check]) -> pl.Expr:
    """The message of the first failing check; null when the row passes them all."""
    if not checks:
        return pl.lit(None, dtype=pl.Utf8)
    expr = pl.when(checks[0][0]).then(checks[0][1])
    for fails, message in checks[1:]:
        expr = expr.when(fails).then(message)
    return expr.otherwise(pl.lit(None, dtype=pl.Utf8))
