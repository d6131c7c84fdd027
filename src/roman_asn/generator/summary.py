"""The end-of-run summary: associations per rule and type, rows used, orphans."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from roman_asn.generator.engine import GenerationResult


def not_written(result: GenerationResult) -> str | None:
    """The line saying which associations were made but not written, and why."""
    return dropped_line("not written", result.drop_reasons())


def dropped_line(what: str, reasons: Mapping[str, int]) -> str | None:
    """``what``: N reason, M reason... (None when nothing went)."""
    if not reasons:
        return None
    return f"{what}: " + ", ".join(f"{n:,} {why}" for why, n in sorted(reasons.items()))


def print_summary(
    console: Console,
    result: GenerationResult,
    *,
    output_dir: str,
    written: int,
    dry_run: bool,
    orphans_path: str | None,
) -> None:
    table = Table(title=f"Associations from {result.asn_pool}", title_justify="left")
    table.add_column("rule")
    table.add_column("level", justify="right")
    table.add_column("asn_type")
    table.add_column("associations", justify="right")
    levels = {rule.name: rule.level for rule in result.rules}
    total = 0
    for rule, asn_type, count in result.counts():
        table.add_row(rule, str(levels.get(rule, "")), asn_type, f"{count:,}")
        total += count
    for rule, why in result.skipped_rules.items():
        table.add_row(rule, str(levels.get(rule, "")), "-", Text(why, style="yellow"))
    table.add_row(Text("total", style="bold"), "", "", Text(f"{total:,}", style="bold"))
    console.print(table)
    lines = [
        f"rows: {result.n_rows:,}, in associations: {result.rows_used:,}, "
        f"orphans: {result.orphans.height:,}",
    ]
    lines += result.notes
    if dropped := not_written(result):
        lines.append(dropped)
    if dry_run:
        lines.append(f"dry run: {total:,} association files not written")
    else:
        lines.append(f"wrote {written:,} association files to {output_dir}")
    if orphans_path:
        lines.append(f"orphans listed in {orphans_path}")
    elif result.orphans.height:
        lines.append("use --orphans FILE for the orphan rows and why, or roman-asn explain")
    lines.append(f"grouping took {result.seconds:.2f} s")
    for line in lines:
        console.print(line, soft_wrap=True)
