"""click parameter types for sky coordinates, shared by every command taking them."""

from __future__ import annotations

from typing import Any

import click

from roman_asn.skycells.coordinates import parse_dec, parse_ra

# Negative declinations (-33.3, -29:00:28) look like options to click: commands
# taking coordinates pass unknown "options" through as arguments.
COORDINATE_CONTEXT = {"ignore_unknown_options": True}


class _Coordinate(click.ParamType):
    def __init__(self, name: str, parse) -> None:
        self.name = name
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, float):
            return value
        try:
            return self._parse(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


RA = _Coordinate("ra", parse_ra)
DEC = _Coordinate("dec", parse_dec)
