"""The ``roman-asn`` command line.

Each subcommand lives in its own module under ``roman_asn.cli`` and is imported
only when used, so ``roman-asn --help`` stays fast and one broken tool cannot
take the others down.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from roman_asn import __version__
from roman_asn.cli.common import run_cli, user_errors

# subcommand -> module in roman_asn.cli that defines a click command named ``command``
SUBCOMMANDS: dict[str, str] = {
    "demo": "demo",
    "validate": "validate",
    "pool": "pool",
    "generate": "generate",
    "explain": "explain",
    "skycell-asn": "skycell",
    "skycell-lookup": "skycells",
    "plot": "plot",
    "from-list": "from_list",
    "edit": "edit",
    "multiband": "multiband",
    "make-pool": "make_pool",
    "diff": "diff",
    "update-path": "update_path",
    "gather": "gather",
    "synth-pool": "synth_pool",
    "catalog": "catalog",
}
# earlier names that keep working (not listed): old name -> current name
ALIASES: dict[str, str] = {"skycell": "skycell-asn", "skycells": "skycell-lookup"}


def _available(module: str) -> bool:
    return importlib.util.find_spec(f"roman_asn.cli.{module}") is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, module in SUBCOMMANDS.items() if _available(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = SUBCOMMANDS.get(ALIASES.get(cmd_name, cmd_name))
        if module is None or not _available(module):
            return None
        return importlib.import_module(f"roman_asn.cli.{module}").command

    def invoke(self, ctx: click.Context) -> object:
        with user_errors(bool(ctx.params.get("debug"))):
            return super().invoke(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="roman-asn")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of short error messages.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Roman WFI associations: generate, build, check and explain them."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    return run_cli(cli, argv)
