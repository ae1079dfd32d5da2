"""Printers of migration plans."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cli.output import get_console

if TYPE_CHECKING:
    from engine.migrate.planner import MigrationPlan


def print_plan(plan: MigrationPlan, *, details: bool) -> None:
    from rich.table import Table

    console = get_console()
    table = Table(
        "from",
        "to",
        "files",
        "new",
        "same",
        "conflicts",
        "rewrites",
        "unresolved",
        "sql sites",
        title=f"migration plan: {plan.manifest}",
    )
    for f in plan.folders:
        counts = {
            s: sum(1 for p in f.files if p.status == s) for s in ("new", "identical", "conflict")
        }
        table.add_row(
            short_path(f.source_root),
            f.dest_root,
            str(len(f.files)),
            str(counts["new"]),
            str(counts["identical"]),
            str(counts["conflict"]),
            str(len(f.rewrites)),
            str(len(f.unresolved)),
            str(len(f.sql_sites)),
        )
    console.print(table)
    if not details:
        return
    rewrites = [r for f in plan.folders for r in f.rewrites]
    if rewrites:
        t = Table("file:line", "old", "new", "rule", title="import rewrites")
        for r in rewrites:
            t.add_row(f"{r.file}:{r.line}", r.old, r.new, r.rule)
        console.print(t)
    unresolved = [u for f in plan.folders for u in f.unresolved]
    if unresolved:
        t = Table("file:line", "specifier", "why", title="unresolved imports")
        for u in unresolved:
            t.add_row(f"{u.file}:{u.line}", u.specifier, u.reason)
        console.print(t)
    sites = [s for f in plan.folders for s in f.sql_sites]
    if sites:
        t = Table("file:lines", "driver", "call", "kind", "tables", "in", title="SQL sites")
        for s in sites:
            where = ".".join(x for x in (s.class_name, s.function) if x) or "-"
            tables = ", ".join(sorted(set(s.tables_read) | set(s.tables_written))) or "-"
            t.add_row(
                f"{s.file}:{s.start_line}-{s.end_line}", s.driver, s.call, s.kind, tables, where
            )
        console.print(t)
    conflicts = [c for f in plan.folders for c in f.conflicts]
    if conflicts:
        t = Table("destination", "existing sha256", "incoming sha256", title="conflicts")
        for c in conflicts:
            t.add_row(c.dest, (c.existing_sha256 or "")[:12], c.sha256[:12])
        console.print(t)
    if plan.tsconfig_paths_missing:
        console.print(
            "tsconfig paths the manifest asks for and the workspace lacks: "
            + ", ".join(plan.tsconfig_paths_missing)
        )


def short_path(path: str) -> str:
    """A path relative to the current folder when that is shorter."""
    rel = os.path.relpath(path)
    return rel if len(rel) < len(path) else path
