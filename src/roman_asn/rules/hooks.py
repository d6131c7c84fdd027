"""The small Python hooks rules name for what data cannot say, in one registry.

An *expander* turns the pool table into the table a rule groups: it adds a
``file`` column and may emit several rows per pool row (the ``pool_row`` column
keeps the link back). ``wfi_detectors`` turns an exposure-level row into its 18
detector files; ``skycells`` (:mod:`roman_asn.generator.skycell_rules`) repeats a
row once per sky cell its footprint touches, adding a ``skycell`` column.

Register a hook with :func:`register_expander` (a name registered twice is an
error, never a silent replacement); rules name it with ``expand = "..."``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

ExpandFunction = Callable[[pl.DataFrame], pl.DataFrame]

N_DETECTORS = 18
# Name fields derived from ``file``; usable in product names when grouping by file.
FILE_FIELDS = frozenset({"file_root", "exposure_root"})

# Optional column an expander fills with why a row could not be expanded (null: fine).
EXPAND_FAILURE = "expand_failure"

# Modules whose import registers the shipped hooks (besides this one).
_BUILTIN_MODULES = ("roman_asn.generator.skycell_rules",)


@dataclass(frozen=True)
class Expander:
    """One expand hook: the function and what the engine must know about it."""

    name: str
    function: ExpandFunction
    # extra pool columns it reads (the engine passes it only the columns rules need)
    inputs: tuple[str, ...] = ()
    # how the summary names its rules when it skips them
    label: str = ""
    # why a row it leaves without a file (null ``file``) joins nothing; checked first
    no_file_reason: str | None = None

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        return self.function(frame)


class ExpanderSkip(Exception):
    """Raised by an expander that cannot work on this pool: its rules are skipped."""


_EXPANDERS: dict[str, Expander] = {}
ENTRY_POINT_GROUP = "roman_asn.expanders"
_plugins_loaded = False


def register_expander(
    name: str,
    *,
    inputs: tuple[str, ...] = (),
    label: str | None = None,
    no_file_reason: str | None = None,
) -> Callable[[ExpandFunction], ExpandFunction]:
    """Decorator registering ``function`` as the expander ``name`` (once)."""

    def decorate(function: ExpandFunction) -> ExpandFunction:
        if name in _EXPANDERS:
            raise ValueError(f"expand hook {name!r} is already registered")
        _EXPANDERS[name] = Expander(
            name, function, tuple(inputs), label or f"{name} rules", no_file_reason
        )
        return function

    return decorate


def expanders() -> dict[str, Expander]:
    """Every registered expander by name: the shipped ones, and those of installed
    packages naming a module that registers them under the entry-point group
    ``roman_asn.expanders`` (loaded once)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
        for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            entry.load()
    return dict(_EXPANDERS)


def get_expander(name: str) -> Expander:
    return expanders()[name]


def identity_files(frame: pl.DataFrame) -> pl.DataFrame:
    """No expansion: each row stands for its own file."""
    return frame.with_columns(pl.col("filename").alias("file"))


def is_exposure_level() -> pl.Expr:
    """A row for a whole exposure: detector ``WFI``, or no detector and a ``_WFI_`` name."""
    name_token = pl.col("filename").str.contains("_(?:WFI|wfi)_")
    if_no_detector = pl.col("detector").is_null() & name_token
    return (pl.col("detector") == "WFI").fill_null(False) | if_no_detector


# Column ``wfi_detectors`` adds: the exposure's file name up to its detector token.
EXPOSURE_STEM = "exposure_stem"


def exposure_stem() -> pl.Expr:
    """The name of the exposure a file belongs to: its file name, lower case, up to the
    detector token (``_wfi``, ``_wfi01`` .. ``_wfi18``); null for a name without one.

    ``r0000101001001001001_0001_wfi01_uncal.asdf`` -> ``r0000101001001001001_0001``;
    the old names ``r0099201005001001001_00101_0001_WFI_uncal.asdf`` -> ``..._00101_0001``
    keep the visit file group (``00101``), within which the old exposure numbers
    count: two exposure files of one visit can both be exposure 1."""
    return pl.col("filename").str.to_lowercase().str.extract(r"^(.+?)_wfi(?:\d\d)?(?:[_.]|$)", 1)


@register_expander(
    "wfi_detectors",
    inputs=("detector",),
    no_file_reason="exposure-level row whose file name has no _WFI_ token to expand",
)
def wfi_detectors(frame: pl.DataFrame) -> pl.DataFrame:
    """Exposure-level rows -> their 18 detector files; detector rows stay as they are.
    Every row gets ``exposure_stem`` (:func:`exposure_stem`), which the FOV rule groups by.

    The name keeps its case style: ``_WFI_`` -> ``_WFI01_`` .. ``_WFI18_`` in the old
    upper-case names, ``_wfi_`` -> ``_wfi01_`` .. in new ones. An exposure-level row
    whose name has no such token cannot be expanded: its ``file`` is null and the
    rules report it.
    """
    if "detector" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias("detector"))
    frame = frame.with_columns(exposure_stem().alias(EXPOSURE_STEM))
    exposure_level = is_exposure_level()
    whole = frame.filter(exposure_level)
    single = frame.filter(~exposure_level).with_columns(pl.col("filename").alias("file"))
    if whole.height == 0:
        return single
    name = pl.col("filename")
    upper = name.str.contains("_WFI_", literal=True)
    lower = name.str.contains("_wfi_", literal=True)
    variants = [
        pl.when(upper)
        .then(name.str.replace("_WFI_", f"_WFI{n:02d}_", literal=True))
        .when(lower)
        .then(name.str.replace("_wfi_", f"_wfi{n:02d}_", literal=True))
        for n in range(1, N_DETECTORS + 1)
    ]
    expanded = whole.with_columns(
        pl.when(upper | lower)
        .then(pl.concat_list(variants))
        .otherwise(pl.lit([None]))
        .alias("file")
    ).explode("file")
    return pl.concat([single, expanded], how="vertical_relaxed")


def with_file_fields(frame: pl.DataFrame, wanted: Iterable[str] = FILE_FIELDS) -> pl.DataFrame:
    """Add ``file_root`` (name without suffix and extension) and ``exposure_root``,
    those of them in ``wanted``."""
    root = pl.col("file").str.replace(r"(?:_[A-Za-z0-9]+)?\.[A-Za-z0-9]+$", "")
    columns = {
        "file_root": root,
        "exposure_root": root.str.replace(r"_(?:WFI|wfi)(?:\d\d)?$", ""),
    }
    return frame.with_columns(
        expr.alias(name) for name, expr in columns.items() if name in set(wanted)
    )


def member_name(suffix: str | None) -> pl.Expr:
    """Member file names: the file itself, or its Level 2 product (suffix swapped)."""
    if suffix is None:
        return pl.col("file")
    return pl.col("file").str.replace(r"_[A-Za-z0-9]+(\.[A-Za-z0-9]+)$", f"_{suffix}$1")
