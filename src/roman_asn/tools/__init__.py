"""User tools: build, compare, relocate and gather associations by hand.

Each tool is a plain function (usable from Python) with a thin CLI wrapper in
``roman_asn.cli``; every file they write is validated first and written atomically.
Names are imported lazily so that one CLI subcommand loads only its own tool.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "asn_from_list": "from_list",
    "parse_item": "from_list",
    "plan_multiband": "multiband",
    "write_multiband": "multiband",
    "MultibandPlan": "multiband",
    "diff_associations": "diff",
    "diff_paths": "diff",
    "Difference": "diff",
    "update_path": "update_path",
    "gather": "gather",
    "GatherResult": "gather",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'roman_asn.tools' has no attribute {name!r}")
    return getattr(importlib.import_module(f"roman_asn.tools.{module}"), name)
