"""Roman sky cells: the tessellation, lookups, footprints and sky-cell associations.

Public API (see docs/skycells.md):

* :func:`get_skymap` -> :class:`SkyMap` (computed, or a reference file via
  ``path`` / ``$SKYMAP_PATH``)
* :func:`match_footprints` (n footprints -> :class:`CellMatches` CSR arrays),
  :func:`cells_containing`, :func:`find_cells`
* :func:`footprints_from_table` (polars pool -> (n, k) corner arrays),
  :func:`footprint_from_wcs` (bounding box, else pixel_shape, else data shape),
  :func:`s_region_vertices`, :func:`read_level2`, :func:`detector_footprints`
* :func:`skycell_wcs_info` / :func:`skycell_wcs_infos`, :func:`skycell_gwcs`
* :func:`parse_ra`, :func:`parse_dec` (degrees or sexagesimal, ranges checked)
"""

from roman_asn.skycells.coordinates import parse_dec, parse_ra
from roman_asn.skycells.footprints import (
    detector_footprints,
    footprint_from_wcs,
    footprints_from_table,
    parse_s_region,
    read_level2,
    s_region_vertices,
)
from roman_asn.skycells.lookup import CellMatches, cells_containing, find_cells, match_footprints
from roman_asn.skycells.skymap import SkyMap, get_skymap, load_reference
from roman_asn.skycells.wcs import skycell_gwcs, skycell_wcs_info, skycell_wcs_infos, wcs_from_info

__all__ = [
    "CellMatches",
    "SkyMap",
    "cells_containing",
    "detector_footprints",
    "find_cells",
    "footprint_from_wcs",
    "footprints_from_table",
    "get_skymap",
    "load_reference",
    "match_footprints",
    "parse_dec",
    "parse_ra",
    "parse_s_region",
    "read_level2",
    "s_region_vertices",
    "skycell_gwcs",
    "skycell_wcs_info",
    "skycell_wcs_infos",
    "wcs_from_info",
]
