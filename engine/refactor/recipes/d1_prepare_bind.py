"""d1-prepare-bind: an awaited D1 `prepare(SQL).bind(args).first|all|run()` becomes an RPC call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.migrate.models import SqlSite
from engine.refactor.calls import awaited, chain_prefixes
from engine.refactor.models import RpcMethod
from engine.refactor.recipes.base import Recipe
from engine.refactor.recipes.render import cast_suffix, value_text
from engine.refactor.usage import reads_field, result_uses_ok, rows_fields_read
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node


_SUCCESS = frozenset({"success"})


class D1PrepareBind(Recipe):
    name = "d1-prepare-bind"
    driver = "d1"
    call_shapes = ("env.DB.prepare(SQL).bind(args).first()", ".all()", ".run()")
    rewrites = (
        "An awaited D1 chain `env.DB.prepare(SQL).bind(args).first<T>()`, `.all<T>()` or "
        "`.run()` whose result is used as a row, as `{ results }`, or through meta.changes / "
        "meta.last_row_id / meta.rows_written."
    )
    safety = (
        "D1 was already asynchronous and awaited, so no caller changes. The RPC method runs "
        "the same SQL with the bound values in order; `.all()` keeps its `{ results }` shape "
        "and a write result carries the meta numbers the worker reads. Any other use of the "
        "result, a column argument, or an unawaited promise declines the site."
    )
    example = (
        'await env.DB.prepare("SELECT * FROM notes WHERE id = ?").bind(id).first<Note>()  ->  '
        "(await env.ORCHESTRATOR_X.selectNoteById(id)) as unknown as Note | null"
    )
    was_sync = False

    def claims(self, site: SqlSite) -> bool:
        return site.driver == "d1"

    def arguments(self, call: Node) -> list[Node] | str:
        nodes: list[Node] = []
        for shape, node in chain_prefixes(call):
            if shape.endswith(".bind"):
                args = node.child_by_field_name("arguments")
                nodes += [a for a in (args.named_children if args else []) if a.type != "comment"]
        final = call.child_by_field_name("arguments")
        if final is not None and final.named_child_count:
            return "the D1 call takes a column or option argument no RPC method mirrors"
        return nodes

    def usage(self, call: Node, returns: str) -> str | None:
        holder = awaited(call)
        if holder is None:
            return "the D1 promise is not awaited where it is made"
        used = holder.parent is not None and holder.parent.type != "expression_statement"
        if returns == "rows" and used and rows_fields_read(holder) is None:
            return (
                "the D1 result is used beyond `results` and `success` (passed on whole, or "
                "its meta read), which the RPC rows do not carry"
            )
        if returns == "result" and used and not result_uses_ok(holder, _SUCCESS):
            return (
                "the D1 run() result is used beyond success, meta.changes, meta.last_row_id "
                "and meta.rows_written, which the RPC result carries"
            )
        return None

    def rewrite(self, call: Node, method: RpcMethod, invocation: str) -> ByteEdit:
        holder = awaited(call)
        assert holder is not None
        cast = cast_suffix(method, call)
        awaited_value = f"(await {invocation}){cast}" if cast else f"await {invocation}"
        if method.returns == "rows":
            # D1 throws on a failed query, so a result that arrives has `success: true`.
            success = (
                "success: true as const, " if "success" in (rows_fields_read(holder) or ()) else ""
            )
            wrapped = value_text(holder, f"{{ {success}results: {awaited_value} }}", False)
            return ByteEdit(holder.start_byte, holder.end_byte, wrapped)
        if method.returns == "result" and reads_field(holder, "success"):
            # D1 throws on a failed write, so a result that arrives has `success: true`.
            text = f"{{ success: true as const, ...({awaited_value}) }}"
            return ByteEdit(holder.start_byte, holder.end_byte, value_text(holder, text, False))
        if cast or holder is call:
            return ByteEdit(
                holder.start_byte, holder.end_byte, value_text(holder, awaited_value, bool(cast))
            )
        return ByteEdit(call.start_byte, call.end_byte, invocation)
