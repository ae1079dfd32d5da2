"""Printers of routing decisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cli.output import escape, get_console

if TYPE_CHECKING:
    from engine.route.call_totals import CallTotals
    from engine.route.calls import CallStats


def print_explanation(report: dict[str, Any]) -> None:
    console = get_console()
    if report["task"]:
        console.print(f"[bold]task {report['task']['id']}[/] {escape(report['task']['title'])}")
    score = report["score"]
    if score is not None:
        console.print(f"score [bold]{score['score']}[/]/10 (raw {score['raw']:.2f})")
        for e in score["evidence"]:
            console.print(f"  {e['delta']:+.2f}  {escape(e['name'])} ({e['value']:g})")
    console.print(f"tier [bold]{report['tier']}[/]: {escape(report['reason'])}")
    if report["chain"]:
        console.print(f"model chain ({' -> '.join(report['groups'])}):")
        for n, link in enumerate(report["chain"], start=1):
            base = f"  {link['apiBase']}" if link["apiBase"] else ""
            console.print(
                escape(f"  {n}. {link['deployment']} [{link['tier']}] {link['model']}{base}")
            )
    else:
        console.print(f"[yellow]no model:[/] {escape(report['noModel'])}")


def print_call_stats(
    rows: Sequence[CallStats],
    totals: CallTotals,
    *,
    run: str | None,
    spent: float | None,
    budget: float,
) -> None:
    from rich.table import Table

    table = Table(
        "tier", "model", "calls", "ok", "fallback", "errors", "prompt", "completion",
        "cost $", "mean ms",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r.tier, escape(r.model or "-"), str(r.calls), str(r.ok), str(r.fallback),
            str(r.errors), str(r.prompt_tokens), str(r.completion_tokens),
            f"{r.cost_usd:.4f}", f"{r.mean_latency_ms:.0f}",
        )  # fmt: skip
    console = get_console()
    console.print(table if rows else "no model calls recorded" + (f" for run {run}" if run else ""))
    if rows:
        console.print(f"{totals.calls} calls, ${totals.cost_usd:.4f}")
    if spent is not None:
        console.print(f"run {run}: spent ${spent:.4f} of its ${budget:.4f} budget")
