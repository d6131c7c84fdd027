"""Association rules as data: loading and validating rule TOML files.

A rules file holds ``[[rule]]`` tables (see ``docs/generator.md`` and the shipped
``roman_asn/rules/default_rules.toml``). Loading checks every key and value so a
mistake is reported with the file, the rule and the key, never later as a crash.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from roman_asn.errors import RomanAsnError, first_line, shown
from roman_asn.generator.naming import TemplateError, template_fields
from roman_asn.pool.columns import canonical_name
from roman_asn.regular_files import read_regular
from roman_asn.rules.hooks import FILE_FIELDS, expanders

CANDIDATE_MODES = ("observation", "each", "none")
# Template fields every rule may use besides its group keys.
SPECIAL_FIELDS = frozenset({"acid", "drid", "program", "asn_type"})
RULE_KEYS = frozenset(
    {
        "name",
        "level",
        "description",
        "asn_type",
        "select",
        "group_by",
        "require",
        "candidates",
        "candidate_types",
        "expand",
        "member_suffix",
        "member_exptype",
        "product_name",
        "product_root",
        "target_column",
        "fixed_target",
        "skycell_column",
        "asn_file_name",
        "source_rules",
        "fill_missing",
        "asn_id",
        "min_filters",
        "derive",
    }
)
# a fixed association id: the DMS candidate id forms (as romancal's tools write a3001)
_FIXED_ASN_ID = re.compile(r"o\d{3}|c\d{4}|a\d{4}|r\d{4}")
FILE_NAME_STYLES = ("dms", "product")
SELECT_KEYS = frozenset({"column", "values", "exclude", "describe"})
DERIVE_KEYS = frozenset({"name", "column", "when"})


class RulesError(RomanAsnError):
    """A rules file that cannot be used."""


@dataclass(frozen=True)
class Selection:
    """Rows pass when any of ``columns`` holds one of ``values`` (or none does, if exclude)."""

    columns: tuple[str, ...]
    values: tuple[str, ...]  # compared upper-case, as text
    exclude: bool = False
    describe: str | None = None

    @property
    def label(self) -> str:
        if self.describe:
            return self.describe
        joined = ", ".join(self.values)
        return f"{'none' if self.exclude else 'one'} of {joined}"


@dataclass(frozen=True)
class Derived:
    """A group column made from another: ``column``'s text, stripped and lower-cased
    (so values differing in case meet), on rows where ``when`` holds (all rows when
    None); null elsewhere and where that text is blank (``fill_missing`` names the
    value such rows group as)."""

    name: str
    column: str
    when: Selection | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.column, *(self.when.columns if self.when else ()))


@dataclass(frozen=True)
class Rule:
    name: str
    level: int
    product_name: str
    asn_type: str | None = None  # a fixed type, or None when asn_type_map decides
    asn_type_column: str | None = None
    asn_type_map: dict[str, str] = field(default_factory=dict)
    selections: tuple[Selection, ...] = ()
    group_by: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    candidates: str = "each"
    candidate_types: tuple[str, ...] | None = None
    expand: str | None = None
    member_suffix: str | None = None
    member_exptype: str = "science"
    description: str = ""
    # dms: r<PPPPP>-<acid>_<type>_<NNN>_asn.json; product: <product>_asn.json
    asn_file_name: str = "dms"
    # a second-stage rule: groups the products of these rules, not pool rows
    source_rules: tuple[str, ...] = ()
    # empty values of these columns group as this text instead of leaving the row out
    fill_missing: dict[str, str] = field(default_factory=dict)
    # the product name without what a second-stage rule combines across (the filter)
    product_root: str | None = None
    # the column whose value is the association's target
    target_column: str = "target"
    # the association's target, the same for all (instead of target_column's value):
    # romancal (1.1 on) reads a Level 3 target as a sky cell name unless it is "None"
    fixed_target: str | None = None
    # a group column naming the association's sky cell (fills skycell_wcs_info)
    skycell_column: str | None = None
    # every association of the rule gets this asn_id instead of a discovered a3NNN
    # (romancal's skycell_asn and multiband_asn write a3001; outlier detection reads it)
    asn_id: str | None = None
    # a source_rules rule: only groups of at least this many filters (coadds) are kept
    min_filters: int = 1
    # group columns made from pool columns ([[rule.derive]])
    derive: tuple[Derived, ...] = ()
    source: str = "<rules>"

    @property
    def keys(self) -> tuple[str, ...]:
        """Columns whose equal values make one association (program always first)."""
        out = ["program"]
        if self.asn_type_column:
            out.append(self.asn_type_column)
        out += [c for c in self.group_by if c not in out]
        return tuple(out)

    @property
    def derived_inputs(self) -> tuple[str, ...]:
        """The pool columns the derived columns are made from (an absent one is null)."""
        return tuple(dict.fromkeys(c for d in self.derive for c in d.inputs))

    @property
    def required(self) -> tuple[str, ...]:
        """Columns that must hold a value for a row to join (not counting selections)."""
        out = [c for c in self.keys if c not in self.fill_missing]
        out += [c for c in self.require if c not in out]
        return tuple(out)

    @property
    def unwritten_reason(self) -> str | None:
        """Why a group of this rule is made but not written (None: it always is)."""
        if self.min_filters > 1:
            return f"fewer than {self.min_filters} filters (rules key min_filters)"
        return None

    @property
    def fields(self) -> tuple[str, ...]:
        """Columns the product name and product root templates use."""
        root = template_fields(self.product_root) if self.product_root else ()
        return tuple(dict.fromkeys((*template_fields(self.product_name), *root)))

    @property
    def second_stage(self) -> bool:
        """Groups the products of ``source_rules`` rather than pool rows."""
        return bool(self.source_rules)


def default_rules_path() -> Path:
    return Path(str(files("roman_asn.rules").joinpath("default_rules.toml")))


def load_rules(
    paths: list[str | os.PathLike[str]] | tuple = (), *, ignore_default: bool = False
) -> list[Rule]:
    """The default rules, then each file's rules: same name replaces, new name appends."""
    rules: dict[str, Rule] = {}
    sources = [] if ignore_default else [default_rules_path()]
    sources += [Path(p) for p in paths]
    for source in sources:
        for rule in read_rules_file(source):
            rules[rule.name] = rule
    if not rules:
        raise RulesError("no rules to apply (--ignore-default without -r FILE?)")
    return list(rules.values())


def without_skycells(rules: list[Rule]) -> list[Rule]:
    """The rules minus the sky-cell ones (``expand = "skycells"``) and those built on them."""
    dropped = {r.name for r in rules if r.expand == "skycells"}
    changed = True
    while changed:
        more = {r.name for r in rules if set(r.source_rules) & dropped} - dropped
        dropped |= more
        changed = bool(more)
    return [r for r in rules if r.name not in dropped]


def read_rules_file(path: str | os.PathLike[str]) -> list[Rule]:
    label = str(path)
    try:
        text = read_regular(path).decode("utf-8")
    except FileNotFoundError:
        raise RulesError("no such rules file", path=label) from None
    except OSError as error:
        raise RulesError(f"cannot read rules file: {error.strerror or error}", path=label) from None
    except UnicodeDecodeError as error:
        raise RulesError(f"cannot read rules file: {error}", path=label) from None
    return parse_rules(text, label)


# a dotted key (a.b.c = 1) nests a table per dot, and TOML readers take time quadratic
# in that depth: 500k dots on one line held 24 GB after 400 s. No rule needs 1000.
MAX_DOTS_A_LINE = 1000


def parse_rules(text: str, label: str = "<rules>") -> list[Rule]:
    cost = 0  # the time to read the dotted keys, in units of a dot squared
    for number, line in enumerate(text.splitlines(), start=1):
        dots = line.count(".")
        if dots > MAX_DOTS_A_LINE:
            raise RulesError(
                f"more than {MAX_DOTS_A_LINE} dots on one line: a key nested that deep is no rule",
                path=label,
                line=number,
            )
        # ... nor are many lines of 999 dots (each line as slow as its dots squared:
        # 200 such lines took 5 s, 2000 would take a minute)
        cost += dots * dots
        if cost > MAX_DOTS_A_LINE * MAX_DOTS_A_LINE:
            raise RulesError(
                "too many dots in all (each line counted as its dots squared, at most "
                f"{MAX_DOTS_A_LINE}**2 in all): keys nested that deep are no rules",
                path=label,
                line=number,
            )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"not valid TOML: {error}", path=label) from None
    except ValueError as error:  # a value Python will not make, e.g. an integer of 5,000 digits
        raise RulesError(f"not usable TOML: {first_line(error)}", path=label) from None
    except RecursionError:
        raise RulesError("not valid TOML: nested too deeply", path=label) from None
    _refuse_control_characters(data, label)
    unknown = set(data) - {"format", "rule"}
    if unknown:
        raise RulesError(
            f"unknown top-level key(s) {', '.join(sorted(unknown))} (expected [[rule]] tables)",
            path=label,
        )
    if data.get("format", 1) != 1:
        raise RulesError(f"unsupported rules format {data['format']!r} (expected 1)", path=label)
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise RulesError("no [[rule]] tables", path=label)
    rules = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if not isinstance(table, dict):  # rule = [1, 2]: a list, but not of tables
            raise RulesError(
                f"rule #{index + 1} is {type(table).__name__} {shown(table)}, not a [[rule]] table",
                path=label,
            )
        rule = _parse_rule(table, label, index)
        if rule.name in seen:
            raise RulesError(f"rule {rule.name!r} is defined twice", path=label)
        seen.add(rule.name)
        rules.append(rule)
    return rules


def _parse_rule(table: dict[str, Any], label: str, index: int) -> Rule:
    name = table.get("name")
    where = f"rule {name!r}" if isinstance(name, str) and name else f"rule #{index + 1}"

    def fail(message: str, key: str | None = None) -> RulesError:
        return RulesError(f"{where}: {message}", path=label, key=key)

    if not isinstance(name, str) or not name.strip():
        raise fail("needs a non-empty text 'name'", "name")
    unknown = set(table) - RULE_KEYS
    if unknown:
        known = ", ".join(sorted(RULE_KEYS))
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))} (known: {known})")
    level = table.get("level")
    if level not in (2, 3):
        raise fail(f"'level' must be 2 or 3, not {level!r}", "level")
    group_by = _names(table.get("group_by", []), fail, "group_by")
    require = _names(table.get("require", []), fail, "require")
    candidates = table.get("candidates", "each")
    if candidates not in CANDIDATE_MODES:
        raise fail(f"'candidates' must be one of {', '.join(CANDIDATE_MODES)}", "candidates")
    candidate_types = table.get("candidate_types")
    if candidate_types is not None:
        if not _text_list(candidate_types):
            raise fail("'candidate_types' must be a list of text", "candidate_types")
        candidate_types = tuple(t.lower() for t in candidate_types)
    expand = table.get("expand")
    registered = expanders()
    if expand is not None and expand not in registered:
        raise fail(
            f"unknown expand hook {expand!r} (registered: {', '.join(sorted(registered))})",
            "expand",
        )
    member_suffix = table.get("member_suffix")
    if member_suffix is not None and (
        not isinstance(member_suffix, str) or not member_suffix.isalnum()
    ):
        raise fail("'member_suffix' must be a word such as 'cal'", "member_suffix")
    member_exptype = table.get("member_exptype", "science")
    if not isinstance(member_exptype, str) or not member_exptype:
        raise fail("'member_exptype' must be non-empty text", "member_exptype")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise fail("'description' must be text", "description")
    file_style = table.get("asn_file_name", "dms")
    if file_style not in FILE_NAME_STYLES:
        raise fail(f"'asn_file_name' must be one of {', '.join(FILE_NAME_STYLES)}", "asn_file_name")
    asn_type, type_column, type_map = _asn_type(table.get("asn_type"), fail)
    selections = _selections(table.get("select", []), fail)
    derive = _derivations(table.get("derive", []), fail, group_by, selections)
    fill_missing = table.get("fill_missing", {})
    if not isinstance(fill_missing, dict) or not all(
        isinstance(v, str) and v for v in fill_missing.values()
    ):
        raise fail("'fill_missing' must be a table of column = non-empty text", "fill_missing")
    fill_missing = {canonical_name(k): v for k, v in fill_missing.items()}
    source_rules = table.get("source_rules", [])
    if not isinstance(source_rules, list) or not all(
        isinstance(v, str) and v for v in source_rules
    ):
        raise fail("'source_rules' must be a list of rule names", "source_rules")
    if source_rules and (expand or selections or derive or type_column or candidates != "none"):
        raise fail(
            "a rule with 'source_rules' groups the products of those rules: it takes no "
            "'expand', 'select', 'derive' or asn_type table, and needs candidates = 'none'",
            "source_rules",
        )

    keys = {"program", *group_by, *([type_column] if type_column else [])}
    fixed_id = table.get("asn_id")
    if fixed_id is not None and (
        not isinstance(fixed_id, str) or not _FIXED_ASN_ID.fullmatch(fixed_id)
    ):
        raise fail("'asn_id' must be a candidate id: oNNN, cNNNN, aNNNN or rNNNN", "asn_id")
    if fixed_id is not None and (candidates != "none" or file_style != "product"):
        raise fail(
            "a fixed 'asn_id' needs candidates = 'none' and asn_file_name = 'product' "
            "(the product name tells its associations apart)",
            "asn_id",
        )
    min_filters = table.get("min_filters", 1)
    if isinstance(min_filters, bool) or not isinstance(min_filters, int) or min_filters < 1:
        raise fail("'min_filters' must be a whole number, 1 or more", "min_filters")
    if "min_filters" in table and not source_rules:
        raise fail("'min_filters' applies to a rule with 'source_rules' (multiband)", "min_filters")

    template = table.get("product_name")
    if not isinstance(template, str) or not template:
        raise fail("needs a 'product_name' template", "product_name")
    fields = _template(template, keys, fail, "product_name")
    product_root = table.get("product_root")
    if product_root is not None:
        if not isinstance(product_root, str) or not product_root:
            raise fail("'product_root' must be a template like product_name", "product_root")
        _template(product_root, keys, fail, "product_root")
    target_column = table.get("target_column", "target")
    if not isinstance(target_column, str) or not target_column:
        raise fail("'target_column' must be a column name", "target_column")
    fixed_target = table.get("fixed_target")
    if fixed_target is not None and (not isinstance(fixed_target, str) or not fixed_target):
        raise fail("'fixed_target' must be a text, like \"None\"", "fixed_target")
    skycell_column = table.get("skycell_column")
    if skycell_column is not None and (
        not isinstance(skycell_column, str) or canonical_name(skycell_column) not in keys
    ):
        raise fail("'skycell_column' must be one of the group_by columns", "skycell_column")
    if candidates == "each" and "acid" not in fields:
        raise fail(
            "a rule with candidates = 'each' must put {acid} in product_name, "
            "or candidate and discovered products would share names",
            "product_name",
        )
    return Rule(
        name=name.strip(),
        level=level,
        product_name=template,
        asn_type=asn_type,
        asn_type_column=type_column,
        asn_type_map=type_map,
        selections=selections,
        group_by=group_by,
        require=require,
        candidates=candidates,
        candidate_types=candidate_types,
        expand=expand,
        member_suffix=member_suffix,
        member_exptype=member_exptype,
        description=description,
        asn_file_name=file_style,
        source_rules=tuple(source_rules),
        fill_missing=fill_missing,
        product_root=product_root,
        target_column=canonical_name(target_column),
        fixed_target=fixed_target,
        skycell_column=canonical_name(skycell_column) if skycell_column else None,
        asn_id=fixed_id,
        min_filters=min_filters,
        derive=derive,
        source=label,
    )


def _template(template: str, keys: set[str], fail, key: str) -> tuple[str, ...]:
    """The fields of a name template, each constant in one association."""
    try:
        fields = template_fields(template)
    except TemplateError as error:
        raise fail(f"bad {key} template: {error}", key) from None
    allowed = keys | SPECIAL_FIELDS
    if "file" in keys:
        allowed |= FILE_FIELDS
    file_hint = "" if "file" in keys else ", file_root, exposure_root (with group_by file)"
    for name_field in fields:
        if name_field not in allowed:
            raise fail(
                f"{key} uses {{{name_field}}}, which is not constant in one association "
                f"(use group_by columns, {', '.join(sorted(SPECIAL_FIELDS))}{file_hint})",
                key,
            )
    return fields


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _names(value: Any, fail, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not _text_list(value):
        raise fail(f"'{key}' must be a list of column names", key)
    return tuple(dict.fromkeys(canonical_name(v) for v in value))


_ASN_TYPE = re.compile(r"[a-z0-9][a-z0-9_+-]*")


def _refuse_control_characters(value: Any, label: str, where: str = "") -> None:
    """Rules text ends up in file names and JSON: no NUL or other control characters
    (tab and newline are fine in descriptions). Walked with a stack, not recursion."""
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((str(key), place))
                stack.append((child, f"{place}.{key}" if place else str(key)))
        elif isinstance(item, list):
            stack.extend((child, f"{place}[{n}]") for n, child in enumerate(item))
        elif isinstance(item, str) and re.search(r"[\x00-\x08\x0b-\x1f\x7f]", item):
            raise RulesError(f"{place or 'a key'}: control character in {item!r}", path=label)


def _checked_asn_type(value: str, fail) -> str:
    """asn_type goes into file names: lower-case letters, digits, '_', '+', '-'."""
    if not _ASN_TYPE.fullmatch(value):
        raise fail(
            f"asn_type {value!r} must be lower-case letters, digits, '_', '+' or '-' "
            "(it is part of file names)",
            "asn_type",
        )
    return value


def _asn_type(value: Any, fail) -> tuple[str | None, str | None, dict[str, str]]:
    if isinstance(value, str) and value:
        return _checked_asn_type(value, fail), None, {}
    if isinstance(value, dict):
        extra = set(value) - {"column", "map"}
        if extra:
            raise fail(f"asn_type has unknown key(s) {', '.join(sorted(extra))}", "asn_type")
        column, mapping = value.get("column"), value.get("map")
        if not isinstance(column, str) or not isinstance(mapping, dict) or not mapping:
            raise fail("asn_type table needs 'column' and a non-empty 'map'", "asn_type")
        if not all(isinstance(v, str) and v for v in mapping.values()):
            raise fail("asn_type map values must be non-empty text", "asn_type")
        for item in mapping.values():
            _checked_asn_type(item, fail)
        return None, canonical_name(column), {str(k).upper(): v for k, v in mapping.items()}
    raise fail("needs 'asn_type': text, or a table {column = ..., map = {...}}", "asn_type")


def _selections(value: Any, fail) -> tuple[Selection, ...]:
    if not isinstance(value, list):
        raise fail("'select' must be a list of [[rule.select]] tables", "select")
    return tuple(
        _selection(entry, fail, f"select #{number}", "select")
        for number, entry in enumerate(value, start=1)
    )


def _selection(entry: Any, fail, where: str, key: str) -> Selection:
    """One [[rule.select]] table (or a derive's ``when``), reported as ``where``."""
    if not isinstance(entry, dict):
        raise fail(f"{where} must be a table", key)
    extra = set(entry) - SELECT_KEYS
    if extra:
        raise fail(f"{where} has unknown key(s) {', '.join(sorted(extra))}", key)
    columns = entry.get("column")
    columns = [columns] if isinstance(columns, str) else columns
    if not _text_list(columns) or not columns:
        raise fail(f"{where} needs 'column' (a name or a list of names)", key)
    values = entry.get("values")
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values)
    ):
        raise fail(f"{where} needs 'values', a non-empty list of text or integers", key)
    exclude = entry.get("exclude", False)
    if not isinstance(exclude, bool):
        raise fail(f"{where}: 'exclude' must be true or false", key)
    describe = entry.get("describe")
    if describe is not None and not isinstance(describe, str):
        raise fail(f"{where}: 'describe' must be text", key)
    return Selection(
        columns=tuple(canonical_name(c) for c in columns),
        values=tuple(str(v).strip().upper() for v in values),
        exclude=exclude,
        describe=describe,
    )


def _derivations(
    value: Any, fail, group_by: tuple[str, ...], selections: tuple[Selection, ...]
) -> tuple[Derived, ...]:
    """The [[rule.derive]] tables: name (a new group_by column), column, optional when."""
    if not isinstance(value, list):
        raise fail("'derive' must be a list of [[rule.derive]] tables", "derive")
    out: list[Derived] = []
    for number, entry in enumerate(value, start=1):
        where = f"derive #{number}"
        if not isinstance(entry, dict):
            raise fail(f"{where} must be a table", "derive")
        extra = set(entry) - DERIVE_KEYS
        if extra:
            known = ", ".join(sorted(DERIVE_KEYS))
            raise fail(f"{where} has unknown key(s) {', '.join(sorted(extra))} (known: {known})")
        name, column = entry.get("name"), entry.get("column")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{where} needs 'name', the column it makes", "derive")
        if not isinstance(column, str) or not column.strip():
            raise fail(f"{where} needs 'column', the column whose text it takes", "derive")
        name, column = canonical_name(name.strip()), canonical_name(column.strip())
        when = entry.get("when")
        when = None if when is None else _selection(when, fail, f"{where}: 'when'", "derive")
        derived = Derived(name, column, when)
        read = {*derived.inputs, *(c for s in selections for c in s.columns)}
        read |= {c for d in out for c in d.inputs}
        if name not in group_by:
            raise fail(f"{where}: {name!r} is made to group by: put it in 'group_by'", "derive")
        if name in read or name in SPECIAL_FIELDS or name in {"file", *FILE_FIELDS}:
            raise fail(
                f"{where}: {name!r} must be a new column, not one the rule reads or a special name",
                "derive",
            )
        if any(d.name == name for d in out):
            raise fail(f"{where}: {name!r} is derived twice", "derive")
        made = sorted({d.name for d in out} & set(derived.inputs))
        if made:
            raise fail(f"{where} reads {made[0]!r}, which is derived: derive from pool columns")
        out.append(derived)
    return tuple(out)
