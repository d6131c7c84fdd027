"""``roman-asn gather``: an association and its members, side by side in one folder."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, err_console, escape, exit_with
from roman_asn.cli.outputs import Command, OutputDir
from roman_asn.tools.gather import gather


@click.command("gather", cls=Command)
@click.argument("association", type=click.Path(dir_okay=False))
@click.option(
    "-s",
    "--source",
    "sources",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Folder to search for members (repeatable); the association's folder comes first.",
)
@click.option(
    "--to",
    "destination",
    required=True,
    type=OutputDir(),
    help="Folder to gather into (created if needed).",
)
@click.option("--link", is_flag=True, help="Symlink the members instead of copying them.")
@click.option(
    "-t",
    "--exp-types",
    multiple=True,
    help="Gather only members of this exposure type (repeatable).",
)
@click.option(
    "-x",
    "--exclude-types",
    multiple=True,
    help="Leave out members of this exposure type (repeatable).",
)
def command(
    association: str,
    sources: tuple[str, ...],
    destination: str,
    link: bool,
    exp_types: tuple[str, ...],
    exclude_types: tuple[str, ...],
) -> None:
    """Copy ASSOCIATION and its members into --to so a pipeline can run there.

    Members are searched relative to the association's folder, then in each --source
    folder (by their path, then by their file name). Files already there with the same
    size and time are left alone; every copy goes to a temporary name, then is renamed.
    The gathered association lists members by file name; it is written only when every
    member was found (otherwise the missing ones are listed and the exit status is 1).
    """
    result = gather(
        association,
        destination,
        sources,
        link=link,
        exp_types=exp_types or None,
        exclude_types=exclude_types,
    )
    done = len(result.copied) + len(result.linked)
    verb = "linked" if link else "copied"
    files = "file" if done == 1 else "files"
    console.print(
        f"{verb} {done} {files}, {len(result.up_to_date)} already in place", soft_wrap=True
    )
    for miss in result.missing:
        where = ", ".join(str(p) for p in miss.searched)
        err_console.print(
            f"[red]missing[/] {escape(miss.name)} ({miss.key}, product {escape(miss.product)});"
            f" searched: {escape(where)}",
            soft_wrap=True,
            markup=True,
        )
    if result.association is not None:
        console.print(f"wrote {result.association}", soft_wrap=True)
    else:
        err_console.print(
            f"{len(result.missing)} member file(s) not found; association not written",
            soft_wrap=True,
        )
    exit_with(1 if result.missing else 0)
