"""d1-batch-schema: a D1 `db.batch([...])` of fixed schema statements moves to a migration.

What it rewrites: `await db.batch([db.prepare(CREATE ...), db.prepare(CREATE ...)])` whose
every element is a fixed DDL statement with nothing bound (the finder folds such a batch into
one DDL site holding its statements in order).

Why it is safe: the database now lives behind the orchestrator, which applies numbered
migration files before any RPC call runs, so the worker's bootstrap would reach nothing. The
statements keep their order in one migration file; a batch that mixes data statements, binds
values or holds a statement built elsewhere stays a transaction and is declined.

Example:
    await db.batch([db.prepare("CREATE TABLE IF NOT EXISTS a (id TEXT)"), ...])
    ->  (removed; orchestrator/migrations/NNNN_<folder>.sql holds both statements)
"""

from __future__ import annotations

from engine.migrate.models import SqlSite
from engine.refactor.recipes.base import Recipe


class D1BatchSchema(Recipe):
    name = "d1-batch-schema"
    driver = "d1"
    call_shapes = ("db.batch([db.prepare(DDL), ...])",)
    rewrites = (
        "A D1 batch whose every element is a fixed CREATE/ALTER/DROP statement with nothing "
        "bound, run by the worker to bootstrap its schema."
    )
    safety = (
        "The orchestrator applies its schema from numbered migration files before any RPC call "
        "runs; the statements move verbatim and in order into one migration, so the schema is "
        "the same. A batch with any data statement, bound value or statement built elsewhere "
        "stays a transaction and is declined."
    )
    example = (
        'await db.batch([db.prepare("CREATE TABLE IF NOT EXISTS a (id TEXT)")])  ->  '
        "(removed; orchestrator/migrations/NNNN_<folder>.sql holds it)"
    )
    moves_out = True

    def claims(self, site: SqlSite) -> bool:
        return site.driver == "d1" and site.kind == "ddl" and site.call.endswith(".batch")
