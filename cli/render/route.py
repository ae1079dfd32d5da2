"""Printers of routing decisions."""

from __future__ import annotations

from typing import Any

from cli.output import escape, get_console


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
