"""``roman-asn skycell-lookup`` (was ``skycells``): sky cells by position or by name."""

from __future__ import annotations

import json

import click

from roman_asn.cli.common import SKYMAP_OPTION, console
from roman_asn.cli.coordinates import COORDINATE_CONTEXT, DEC, RA
from roman_asn.cli.outputs import Group


def _skymap(path: str | None):
    from roman_asn.skycells import get_skymap

    return get_skymap(path)


@click.group("skycell-lookup", cls=Group)
def command() -> None:
    """Sky cells: find the cells at a position, show one by name."""


@command.command("find", context_settings=COORDINATE_CONTEXT)
@click.argument("ra", type=RA)
@click.argument("dec", type=DEC)
@SKYMAP_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def find(ra: float, dec: float, skymap_path: str | None, as_json: bool) -> None:
    """Cells whose 5000-px square contains RA DEC; * marks the core cell.

    RA and DEC in degrees (12.3 -33.3), or sexagesimal: 17:45:40 -29:00:28 or
    17h45m40s -29d00m28s (RA in hours). RA must be in [0, 360), Dec in [-90, 90].
    """
    from roman_asn.skycells import find_cells

    found = find_cells(ra, dec, _skymap(skymap_path))
    if as_json:
        console.print_json(json.dumps(found))
        return
    for name in found["cells"]:
        mark = "*" if name in found["core"] else " "
        console.print(f"{mark} {name}")


@command.command("show")
@click.argument("name")
@SKYMAP_OPTION
def show(name: str, skymap_path: str | None) -> None:
    """The record and skycell_wcs_info of the cell NAME (e.g. 270p65x48y69)."""
    from roman_asn.skycells import skycell_wcs_info

    skymap = _skymap(skymap_path)
    index = skymap.index_of(name)
    record = skymap.records([index])[0]
    out = {
        "index": index,
        "record": {
            k: (record[k].item() if hasattr(record[k], "item") else record[k])
            for k in record.dtype.names
        },
        "skycell_wcs_info": skycell_wcs_info(index, skymap),
    }
    console.print_json(json.dumps(out))
