"""Printer of the configuration in force."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from cli.output import escape, get_console

if TYPE_CHECKING:
    from engine.config.show import ConfigView


def print_config(root: str, view: ConfigView) -> None:
    console = get_console()
    file = f"{root}/{view.file}" if view.file else f"no vibehq.toml in {root}"
    console.print(f"[bold]settings in force[/] ({escape(file)})")
    width = max(len(v.key) for v in view.values)
    section = None
    for v in view.values:
        top = v.key.split(".", 1)[0].split("[", 1)[0]
        if top != section:
            section = top
            console.print()
        origin = f": {v.origin}" if v.origin else ""
        shown = escape(f"{v.key:<{width}} = {json.dumps(v.value, default=str)}")
        where = escape(f"({v.source}{origin})")
        console.print(
            f"  {shown}  [dim]{where}[/]" if v.source == "default" else f"  {shown}  {where}"
        )
    if view.unused_litellm_groups:
        console.print(
            "\n[yellow]not used:[/] litellm config groups no tier takes: "
            + escape(", ".join(view.unused_litellm_groups))
        )
    for problem in view.problems:
        console.print(f"[bold red]problem:[/] {escape(problem)}")
