"""ddl-to-migration: a schema statement leaves the worker for the orchestrator's migrations."""

from __future__ import annotations

from engine.migrate.models import SqlSite
from engine.refactor.recipes.base import Recipe


class DdlToMigration(Recipe):
    name = "ddl-to-migration"
    driver = "bun:sqlite"
    call_shapes = ("db.exec(DDL)", "ctx.storage.sql.exec(DDL)", "env.DB.prepare(DDL).run()")
    rewrites = "A CREATE/ALTER/DROP statement run by the worker on its own database."
    safety = (
        "The database now lives behind the orchestrator, which applies its schema from "
        "numbered migration files before any RPC call runs; the worker's statement would "
        "reach nothing. The statement is moved verbatim, so the schema is the same."
    )
    example = (
        'db.exec("CREATE TABLE IF NOT EXISTS tags (id INTEGER)")  ->  (removed; '
        "orchestrator/migrations/NNN_<folder>.sql holds it)"
    )
    moves_out = True

    def claims(self, site: SqlSite) -> bool:
        return site.kind == "ddl"
