"""``roman-asn edit``: add or remove members of an association (jwst's ``asn_edit``)."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, escape
from roman_asn.cli.outputs import Command, OutputFile
from roman_asn.tools.edit import ACTIONS, edit_association


@click.command("edit", cls=Command)
@click.argument("action", type=click.Choice(ACTIONS))
@click.argument("association", type=click.Path(dir_okay=False))
@click.argument("files", nargs=-1, required=True)
@click.option(
    "-o",
    "--output-file",
    "output",
    type=OutputFile(may_replace="association"),
    default=None,
    help="Write the edited association here instead of replacing ASSOCIATION.",
)
@click.option(
    "--exptype", default="science", show_default=True, help="Exposure type of added members."
)
@click.option("--product", default=None, help="Product to edit (needed when there are several).")
def command(
    action: str,
    association: str,
    files: tuple[str, ...],
    output: str | None,
    exptype: str,
    product: str | None,
) -> None:
    """ACTION (add or remove) FILES as members of ASSOCIATION.

    Adding a member that is already there, or removing one that is not, is an error
    and nothing is written. Added members are written relative to the association's
    folder, where romancal opens them. The result is checked against the schema and
    written atomically.
    """
    path, asn = edit_association(
        association, action, list(files), output=output, exptype=exptype, product=product
    )
    verb = "added" if action == "add" else "removed"
    console.print(
        f"{escape(str(path))}: {verb} {len(files)} member(s), {len(asn.members)} now",
        soft_wrap=True,
        markup=True,
    )
