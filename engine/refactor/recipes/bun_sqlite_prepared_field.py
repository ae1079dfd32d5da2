"""bun-sqlite-prepared-field: a statement prepared once into a field or variable, run later."""

from __future__ import annotations

from engine.migrate.models import SqlSite
from engine.refactor.recipes.base import Recipe


class BunSqlitePreparedField(Recipe):
    name = "bun-sqlite-prepared-field"
    driver = "bun:sqlite"
    call_shapes = (
        "this.<stmt> = db.query(SQL)",
        "<stmt>.run(args)",
        "<stmt>.all(args)",
        "<stmt>.get(args)",
    )
    rewrites = (
        "Each run of a statement held in a field or variable (`this.stmt.run(args)`), and the "
        "preparation itself once every run of it is rewritten."
    )
    safety = (
        "Each run becomes the RPC call of the statement's SQL. The preparation (and the "
        "database it was prepared on) is removed only when no use of it is left, so nothing "
        "reads a statement that is gone; otherwise the class goes to a model."
    )
    example = (
        'this.byId = db.query("SELECT * FROM t WHERE id = ?"); this.byId.get(id)  ->  '
        "await this.env.ORCHESTRATOR_X.selectTById(id)"
    )

    def claims(self, site: SqlSite) -> bool:
        return site.driver in ("bun:sqlite", "better-sqlite3")
