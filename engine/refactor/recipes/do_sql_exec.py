"""do-sql-exec: Durable Object SQL storage (`ctx.storage.sql.exec`) becomes an RPC call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.migrate.models import SqlSite
from engine.refactor.calls import chain_prefixes
from engine.refactor.recipes.base import Recipe, last_shape
from engine.refactor.usage import result_uses_ok

if TYPE_CHECKING:
    from tree_sitter import Node


class DoSqlExec(Recipe):
    name = "do-sql-exec"
    driver = "durable-object-sql"
    call_shapes = (
        "ctx.storage.sql.exec(SQL, ...args)",
        ".toArray()",
        ".one()",
        "for (... of exec(...))",
    )
    rewrites = (
        "A Durable Object `sql.exec(SQL, ...args)` whose cursor is read with toArray(), one(), "
        "a for-of loop, or (for a write) rowsWritten."
    )
    safety = (
        "The RPC method runs the same statement with the same arguments and returns the rows "
        "as plain objects (one() throws on no row on both sides). exec() is synchronous and "
        "the RPC call is not, so every caller in the folder is made async and awaits it, up "
        "to a function that already is async; any sync boundary (constructor, getter, a "
        "callback used synchronously) declines the site."
    )
    example = (
        'this.ctx.storage.sql.exec("SELECT * FROM hits").toArray()  ->  '
        "await this.env.ORCHESTRATOR_X.listHits()"
    )

    def claims(self, site: SqlSite) -> bool:
        return site.driver == "durable-object-sql"

    def arguments(self, call: Node) -> list[Node] | str:
        exec_call = next(n for s, n in chain_prefixes(call) if s.endswith(".exec"))
        args = exec_call.child_by_field_name("arguments")
        return [a for a in (args.named_children if args else []) if a.type != "comment"][1:]

    def usage(self, call: Node, returns: str) -> str | None:
        if call.type != "call_expression" or not last_shape(call).endswith(".exec"):
            return None
        parent = call.parent
        if returns == "rows" and (parent is None or parent.type != "for_in_statement"):
            return "the cursor is used as more than an iteration over its rows"
        used = parent is not None and parent.type != "expression_statement"
        if returns == "result" and used and not result_uses_ok(call):
            return "the cursor of a write is used beyond rowsWritten, which the RPC result carries"
        return None
