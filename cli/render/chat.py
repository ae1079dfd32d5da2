"""Printers of chat turns and progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import escape, get_console

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from crews.chat import ChatTurn
    from engine.epic.models import EpicEvent


def chat_progress(console: Console) -> Callable[[EpicEvent], None]:
    def show(event: EpicEvent) -> None:
        if event.kind == "tool" and event.status == "started":
            console.print(f"  [dim]{escape(event.agent or '?')} -> {escape(event.tool or '')}[/]")
        elif event.kind == "message" and event.message:
            console.print(f"  [dim]{escape(event.message)}[/]")

    return show


def print_turn(turn: ChatTurn) -> None:
    from rich.panel import Panel

    console = get_console()
    if turn.answer:
        console.print(Panel(escape(turn.answer), title="Auto", title_align="left"))
    for task in turn.delegated:
        console.print(f"[dim]handed to the crew: {escape(task)}[/]")
    if turn.proposals:
        console.print(
            "proposals: "
            + ", ".join(str(p) for p in turn.proposals)
            + " (vibehq approvals show N; /approve N)"
        )
    for note in turn.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if turn.error:
        console.print(f"[bold red]error:[/] {escape(turn.error)}")
