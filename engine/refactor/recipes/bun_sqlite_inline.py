"""bun-sqlite-inline: a bun:sqlite / better-sqlite3 statement prepared and run in one expression."""

from __future__ import annotations

from engine.migrate.models import SqlSite
from engine.refactor.recipes.base import Recipe


class BunSqliteInline(Recipe):
    name = "bun-sqlite-inline"
    driver = "bun:sqlite"
    call_shapes = ("db.query(SQL).get(args)", "db.query(SQL).all(args)", "db.query(SQL).run(args)")
    rewrites = "`db.query(SQL).get|all|run(args)` (or `db.prepare(...)`) in one expression."
    safety = (
        "The RPC method runs the same SQL with the same positional arguments and returns the "
        "same shape (a row or null, the rows, or {changes, lastInsertRowid}). The call was "
        "synchronous, so callers become async and await it up to an async boundary."
    )
    example = (
        'db.query("SELECT * FROM notes WHERE id = ?").get(id)  ->  '
        "await this.env.ORCHESTRATOR_X.selectNoteById(id)"
    )

    def claims(self, site: SqlSite) -> bool:
        segments = site.call.split(".")
        return site.driver in ("bun:sqlite", "better-sqlite3") and (
            "query()" in segments or "prepare()" in segments
        )
