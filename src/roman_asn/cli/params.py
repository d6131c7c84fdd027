"""Click parameter types for the ids every command takes, so each command checks
them the same way (click reports a bad value as a usage error, exit 2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import click

from roman_asn.cli.outputs import Command
from roman_asn.generator.options import is_data_release_id
from roman_asn.pool.candidates import is_candidate_id

# A bare --version-id: the UTC time of the run.
NOW = "\x00now"


class DataReleaseId(click.ParamType):
    """p (prompt), dr01, r0, ...: lower-case letters and digits, as the schema requires."""

    name = "DRID"

    def convert(self, value, param, ctx) -> str:
        if not is_data_release_id(value):
            self.fail(f"must be lower-case letters and digits (p, dr01, ...), not {value!r}")
        return value


class VersionId(click.ParamType):
    """Letters and digits, written lower case; the bare flag stands for the UTC time."""

    name = "ID"

    def convert(self, value, param, ctx) -> str:
        if value == NOW:
            return datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9]+", value):
            self.fail(f"must be letters and digits, not {value!r}")
        return value.lower()


class CandidateIds(click.ParamType):
    """One or more candidate ids separated by commas or spaces: ``o001,c1000``."""

    name = "ID"

    def convert(self, value, param, ctx) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        ids = tuple(i for i in re.split(r"[,\s]+", str(value)) if i)
        if not ids:  # -i "$IDS" with IDS unset: no selection, so every candidate
            self.fail(f"{value!r} names no candidate id (o001, c1000, ...)")
        bad = [i for i in ids if not is_candidate_id(i)]
        if bad:
            self.fail(f"{bad[0]!r} is not a candidate id (letters, digits, _ and -)")
        return ids


DATA_RELEASE_ID = DataReleaseId()
VERSION_ID = VersionId()
CANDIDATE_IDS = CandidateIds()


def flat_ids(values: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """The ids of a repeated -i option, in one tuple."""
    return tuple(i for value in values for i in value)


class SpacedIdsCommand(Command):
    """A command whose ``-i/--ids`` takes several ids in a row, as jwst's
    ``asn_generate -i o001 o002`` does: each argument after ``-i ID`` that is a
    candidate id (no dot, no slash: never a file name with an extension) is one more."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_ids(args))


def spread_ids(args: list[str]) -> list[str]:
    """``-i o001 o002 x.csv`` -> ``-i o001 -i o002 x.csv``."""
    out: list[str] = []
    state = None  # "value": the next argument is -i's own; "more": ids may follow
    for index, arg in enumerate(args):
        if arg == "--":
            return out + args[index:]
        if state == "value":
            out.append(arg)
            state = "more"
            continue
        if state == "more" and not arg.startswith("-") and is_candidate_id(arg):
            out += ["-i", arg]
            continue
        state = None
        if arg in ("-i", "--ids"):
            state = "value"
        elif arg.startswith("--ids=") or (arg.startswith("-i") and len(arg) > 2):
            state = "more"
        out.append(arg)
    return out
