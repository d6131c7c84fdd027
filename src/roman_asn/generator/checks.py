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
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.rules.hooks import EXPAND_FAILURE, expanders
from roman_asn.rules.loader import Derived, Rule, Selection

Check = tuple[pl.Expr, pl.Expr]  # (fails: bool, never null; message: text)


def _column(column: str, present: Collection[str] | None = None) -> pl.Expr:
    """The column as text; null when ``present`` (the frame's columns) lacks it."""
    if present is not None and column not in present:
        return pl.lit(None, dtype=pl.Utf8)
    return pl.col(column).cast(pl.Utf8)


def _text(column: str, present: Collection[str] | None = None) -> pl.Expr:
    return _column(column, present).str.strip_chars().str.to_uppercase()


def _shown(column: str, present: Collection[str] | None = None) -> pl.Expr:
    return pl.concat_str([pl.lit(f"{column} "), _column(column, present).fill_null("null")])


def _shown_all(selection: Selection, present: Collection[str] | None = None) -> pl.Expr:
    return pl.concat_str([_shown(c, present) for c in selection.columns], separator=", ")


def _holds(selection: Selection, present: Collection[str] | None = None) -> pl.Expr:
    """The selection holds: one of its columns has one of its values (none, if exclude)."""
    hit = pl.any_horizontal(
        [
            _text(c, present).is_in(list(selection.values)).fill_null(False)
            for c in selection.columns
        ]
    )
    return ~hit if selection.exclude else hit


def _selection_checks(selection: Selection) -> list[Check]:
    columns = selection.columns
    all_missing = pl.all_horizontal([pl.col(c).is_null() for c in columns])
    names = ", ".join(columns)
    plural = "s" if len(columns) > 1 else ""
    missing = (all_missing, pl.lit(f"missing value in column{plural} {names}"))
    prefix = "excluded as" if selection.exclude else "not"
    shown = _shown_all(selection)
    message = pl.concat_str([pl.lit(f"{prefix} {selection.label} ("), shown, pl.lit(")")])
    return [missing, (~_holds(selection), message)]


def _derived_value(derived: Derived, present: Collection[str]) -> pl.Expr:
    """The derived column: its source column's text, stripped and lower-cased, where
    ``when`` holds; null elsewhere and where that text is blank."""
    text = _column(derived.column, present).str.strip_chars().str.to_lowercase()
    holds = _holds(derived.when, present) if derived.when else pl.lit(True)
    return pl.when(holds & (text.fill_null("") != "")).then(text).alias(derived.name)


def with_derived(rule: Rule, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the rule's derived columns ([[rule.derive]]; an absent source
    column counts as null); the same frame when it derives none."""
    if not rule.derive:
        return frame
    return frame.with_columns(_derived_value(d, frame.columns) for d in rule.derive)


def derivation_reasons(rule: Rule, frame: pl.DataFrame) -> pl.DataFrame:
    """Why each row of ``frame`` has the value it has in each derived column of ``rule``:
    (pool_row, reason), e.g. ``gbtds_subcategory=a: subcategory A, in a GBTDS-category
    row (category GBTDS)``; the value shown is the one grouped by (after fill_missing)."""
    present = frame.columns
    reasons = []
    for derived in rule.derive:
        name, fill, when = derived.name, rule.fill_missing.get(derived.name), derived.when
        value = _derived_value(derived, present)
        shown_value = value if fill is None else value.fill_null(pl.lit(fill))
        filled = "; the rule's fill_missing value" if fill is not None else ""
        head = pl.concat_str([pl.lit(f"{name}="), shown_value.fill_null("(missing)"), pl.lit(": ")])
        source = _shown(derived.column, present)
        holding, failing = pl.lit(""), pl.lit("")
        if when is not None:
            what = f"not {when.label}" if when.exclude and when.describe else when.label
            shown = _shown_all(when, present)
            holding = pl.concat_str([pl.lit(f", in {what} ("), shown, pl.lit(")")])
            refused = f"{'excluded as' if when.exclude else 'not'} {when.label}"
            failing = pl.concat_str([pl.lit(f"{refused} ("), shown, pl.lit(")")])
        why = (
            pl.when(value.is_not_null())
            .then(pl.concat_str([source, holding]))
            .when(_holds(when, present) if when else pl.lit(True))
            .then(pl.concat_str([pl.lit(f"{derived.column} empty"), holding, pl.lit(filled)]))
            .otherwise(pl.concat_str([failing, pl.lit(filled)]))
        )
        reasons.append(pl.concat_str([head, why]))
    if not reasons:
        return pl.DataFrame(schema={ROW_COLUMN: pl.UInt32, "reason": pl.Utf8})
    return frame.select(pl.col(ROW_COLUMN), pl.concat_list(reasons).alias("reason")).explode(
        "reason"
    )


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
