"""How an RPC call is written where the SQL call was: awaited, parenthesised where its holder
binds tighter, and cast to the row type the old call named."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.refactor.calls import chain_prefixes, outermost, row_type
from engine.refactor.models import RpcMethod
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node

# Places where `a as T` needs no parentheses around it.
_LOOSE_HOLDERS = frozenset(
    {
        "variable_declarator",
        "return_statement",
        "arguments",
        "parenthesized_expression",
        "pair",
        "array",
        "arrow_function",
        "expression_statement",
        "as_expression",
    }
)


def cast_suffix(method: RpcMethod, call: Node) -> str:
    """` as unknown as T[]` (or `T | null`) when the old call named its row type: the RPC
    method returns plain rows, and the worker keeps reading them as it did."""
    holder = outermost(call).parent
    if holder is not None and holder.type == "as_expression" and method.returns != "result":
        # The worker casts the rows itself (`.all() as LogRow[]`); the RPC rows are plain
        # records, so the cast goes through unknown first.
        return " as unknown"
    row = row_type(call)
    if row is None or method.returns == "result":
        return ""
    if method.returns == "rows":
        return f" as unknown as {row}[]"
    if call.type == "call_expression" and chain_prefixes(call)[-1][0].endswith(".one"):
        # `.one()` threw when there was no row; the worker never checked for null.
        return f" as unknown as {row}"
    return f" as unknown as {row} | null"


def value_text(target: Node, text: str, cast: bool) -> str:
    holder = outermost(target).parent
    tight = holder is not None and holder.type in ("member_expression", "call_expression")
    if tight or (cast and holder is not None and holder.type not in _LOOSE_HOLDERS):
        return f"({text})"
    return text


def awaited_call(call: Node, method: RpcMethod, invocation: str) -> ByteEdit:
    """`await <invocation>` (cast when the old call named its row type) in place of `call`."""
    cast = cast_suffix(method, call)
    text = f"(await {invocation}){cast}" if cast else f"await {invocation}"
    return ByteEdit(call.start_byte, call.end_byte, value_text(call, text, bool(cast)))
