"""Printers of refactor plans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import escape, get_console
from cli.render.common import print_diff

if TYPE_CHECKING:
    from engine.refactor.pipeline import RefactorPlan
    from engine.refactor.recipes import RecipeInfo


def print_recipes(recipes: list[RecipeInfo]) -> None:
    from rich.table import Table

    table = Table("recipe", "driver", "shapes", "rewrites")
    for info in recipes:
        table.add_row(
            info.name, info.driver, escape("\n".join(info.call_shapes)), escape(info.rewrites)
        )
    get_console().print(table)
    get_console().print(f"{len(recipes)} recipes, tried in this order")


def print_refactor(plan: RefactorPlan, *, diffs: bool = True) -> None:
    from rich.table import Table

    console = get_console()
    table = Table("site", "call", "kind", "recipe / method", "needs a model because")
    for d in plan.decisions:
        site = d.site
        table.add_row(
            f"{site.file}:{site.start_line}",
            site.call,
            site.kind,
            f"{d.recipe or '-'} / {d.method or '-'}",
            escape(d.reason or ""),
        )
    console.print(table)
    share = plan.share()
    console.print(
        f"{share['sites']} sites: {share['recipes']} rewritten by recipes, "
        f"{share['needs_model']} need a model; {len(plan.methods)} RPC methods on "
        f"{plan.target.class_name} via {plan.target.binding}"
    )
    if plan.dropped:
        console.print("dropped (the orchestrator's D1 owns these): " + "; ".join(plan.dropped))
    if diffs and plan.diff:
        print_diff(plan.diff)
