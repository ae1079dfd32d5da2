"""pragma-drop: a PRAGMA that configured the worker's local SQLite file is dropped."""

from __future__ import annotations

from engine.migrate.models import SqlSite
from engine.refactor.recipes.base import Recipe


class PragmaDrop(Recipe):
    name = "pragma-drop"
    driver = "bun:sqlite"
    call_shapes = ("db.exec(PRAGMA)", "db.pragma(...)")
    rewrites = "A PRAGMA statement run on the worker's own SQLite file."
    safety = (
        "PRAGMAs (journal mode, foreign keys, synchronous) configure a connection to a local "
        "file the worker no longer opens; D1 and Durable Object storage set their own. The "
        "statement is recorded in the plan's `dropped` list so a human sees what went."
    )
    example = 'db.exec("PRAGMA journal_mode = WAL")  ->  (removed, listed under dropped)'
    moves_out = True

    def claims(self, site: SqlSite) -> bool:
        return site.kind == "pragma"
