"""click parameter types for sky coordinates, shared by every command taking them."""

from __future__ import annotations

from typing import Any

import click

# Negative declinations (-33.3, -29:00:28) look like options to click: commands
# taking coordinates pass unknown "options" through as arguments.
COORDINATE_CONTEXT = {"ignore_unknown_options": True}


class _Coordinate(click.ParamType):
    def __init__(self, name: str, parser: str) -> None:
        self.name = name
        self._parser = parser  # imported when used: the sky-cell modules load astropy

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, float):
            return value
        from roman_asn.skycells import coordinates

        try:
            return getattr(coordinates, self._parser)(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


RA = _Coordinate("ra", "parse_ra")
DEC = _Coordinate("dec", "parse_dec")


class _Radius(click.FloatRange):
    """An angular radius in degrees, 0 to 180: never NaN (which passes any range)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number of degrees", param, ctx)
        return number


RADIUS = _Radius(0, 180)
