"""``roman-asn from-list``: one association from a list of files."""

from __future__ import annotations

import click

from roman_asn.cli.common import console
from roman_asn.cli.outputs import Command, OutputFile
from roman_asn.cli.params import DATA_RELEASE_ID
from roman_asn.tools.from_list import asn_from_list, parse_item
from roman_asn.tools.output import write_checked


@click.command("from-list", cls=Command)
@click.argument("files", nargs=-1, required=True)
@click.option(
    "-o",
    "--output-file",
    "output",
    required=True,
    type=OutputFile(),
    help="Association file to write (replaced atomically).",
)
@click.option("--product-name", required=True, help="Name of the product (Level 3 output).")
@click.option("-t", "--target", default="None", show_default=True, help="Target or sky-cell name.")
@click.option(
    "--data-release-id",
    type=DATA_RELEASE_ID,
    default="p",
    show_default=True,
    help="Data release id: p (prompt), dr01, r0, ...",
)
@click.option(
    "--psf-match-reference-filter",
    default=None,
    help="Reference filter for PSF matching (multiband catalogs), e.g. F158.",
)
@click.option(
    "--exptype",
    default="science",
    show_default=True,
    help="Exposure type of every FILE given without its own ':TYPE'.",
)
@click.option(
    "-r",
    "--rule",
    "asn_rule",
    default="DMS_ELPP_Base",
    show_default=True,
    help="Rule name recorded in asn_rule.",
)
@click.option(
    "-i",
    "--id",
    "asn_id",
    default="a3001",
    show_default=True,
    help="Candidate id recorded in asn_id (oNNN, cNNNN, aNNNN).",
)
@click.option("--asn-type", default="None", show_default=True, help="Value of asn_type.")
@click.option(
    "--tweakreg-catalogs",
    "--_tweakreg-catalogs",
    "tweakreg_catalogs",
    is_flag=True,
    help="Give each member a tweakreg_catalog named after it (a_cal.asdf -> a_cat.parquet), "
    "as romancal's --_tweakreg-catalogs does.",
)
def command(
    files: tuple[str, ...],
    output: str,
    product_name: str,
    target: str,
    data_release_id: str,
    psf_match_reference_filter: str | None,
    exptype: str,
    asn_rule: str,
    asn_id: str,
    asn_type: str,
    tweakreg_catalogs: bool,
) -> None:
    """Write one association whose product lists FILE... in the order given.

    Each FILE may carry its own exposure type as FILE:TYPE (e.g. sky_cal.asdf:background).
    The text after the last colon is a type only if it is a plain word (letters, digits,
    '_'); so 'data/a_cal.asdf' and 'C:\\x.asdf' stay file names. For a file whose name ends
    in ':word', spell the type out: 'odd:word:science'. Members are written as given:
    romancal opens them relative to the association's folder.
    """
    asn = asn_from_list(
        [parse_item(text, exptype) for text in files],
        product_name,
        target=target,
        data_release_id=data_release_id,
        psf_match_reference_filter=psf_match_reference_filter,
        asn_type=asn_type,
        asn_rule=asn_rule,
        asn_id=asn_id,
        tweakreg_catalogs=tweakreg_catalogs,
    )
    path = write_checked(asn, output)
    console.print(
        f"wrote {path} ({len(asn.members)} members, product {product_name})", soft_wrap=True
    )
