"""How the result of a SQL call is used: whether every read of a write result is a number the
RPC result carries, and whether the database arrives as a parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.refactor.calls import (
    ancestors,
    declares,
    enclosing_function,
    member_path,
    outermost,
    param_names,
    receiver,
    walk,
)
from engine.refactor.orchestrator import WRITE_RESULT_PATHS
from engine.syntax.kinds import FUNCTION_KINDS, node_text

if TYPE_CHECKING:
    from tree_sitter import Node


_PREPARING = frozenset({"query", "prepare"})


# Members called on the database (or a statement) itself, not on an Env that holds one.
_DATABASE_CALLS = _PREPARING | {"exec", "run", "get", "all", "values", "transaction", "sql"}


def _reads_write_result(
    path: tuple[str, ...], prefix: tuple[str, ...] = (), extra: frozenset[str] = frozenset()
) -> bool:
    """True when `prefix + path` reads one number of a WriteResult (and nothing else), or one
    of the `extra` fields the rewrite adds."""
    full = prefix + path
    if not full or full == ("meta",):
        return False
    if len(full) == 1 and full[0] in extra:
        return True
    return full[:2] in WRITE_RESULT_PATHS or full[:1] in WRITE_RESULT_PATHS - {("meta",)}


def name_reads(scope: Node, name: str, after: int) -> list[Node]:
    return [
        n
        for n in walk(scope)
        if n.type == "identifier" and n.start_byte >= after and node_text(n) == name
    ]


def result_uses_ok(value: Node, extra: frozenset[str] = frozenset()) -> bool:
    """Whether every use of a write's result reads a number the RPC WriteResult carries:
    `x.meta.last_row_id`, `const { meta } = x` then `meta.changes`, `x.rowsWritten`..."""
    path = member_path(value)
    if path:
        return _reads_write_result(path, extra=extra)
    holder = outermost(value).parent
    if holder is None or holder.type != "variable_declarator":
        return False
    scope = enclosing_function(holder) or holder
    while scope.parent is not None and scope.type not in FUNCTION_KINDS:
        scope = scope.parent
    pattern = holder.child_by_field_name("name")
    if pattern is None:
        return False
    if pattern.type == "identifier":
        reads = name_reads(scope, node_text(pattern), holder.end_byte)
        return all(_reads_write_result(member_path(r), extra=extra) for r in reads)
    if pattern.type != "object_pattern":
        return False
    for part in pattern.named_children:
        if part.type != "shorthand_property_identifier_pattern":
            return False
        prefix = (node_text(part),)
        if prefix not in WRITE_RESULT_PATHS and prefix[0] not in extra:
            return False
        reads = name_reads(scope, prefix[0], holder.end_byte)
        if prefix == ("meta",) and not all(
            _reads_write_result(member_path(r), prefix) for r in reads
        ):
            return False
    return True


def parameter_receiver(call: Node) -> str | None:
    """The parameter name when the chain starts from a function's parameter (a Database or
    statement handed in by the caller), else None."""
    start = receiver(call)
    holder = outermost(start).parent
    if start.type != "identifier" or holder is None or holder.type != "member_expression":
        return None
    if node_text(holder.child_by_field_name("property")) not in _DATABASE_CALLS:
        # `env.DB.prepare(...)`: the parameter is the Env, and the binding hangs off it.
        return None
    name = node_text(start)
    for ancestor in ancestors(call):
        if ancestor.type == "statement_block" and declares(ancestor, name, call.start_byte):
            return None
        if ancestor.type in FUNCTION_KINDS and name in (n for n, _ in param_names(ancestor)):
            return name
    return None


# What the RPC rows stand in for in a D1Result: `{ success: true, results }`.
D1_ROWS_FIELDS = frozenset({"results", "success"})


def rows_fields_read(value: Node) -> set[str] | None:
    """The D1Result fields read off an awaited `all()`/`run()` result, or None when it is used
    some other way (passed on whole, meta read, returned)."""
    path = member_path(value)
    if path:
        return {path[0]} if path[0] in D1_ROWS_FIELDS else None
    holder = outermost(value).parent
    if holder is None:
        return None
    if holder.type == "expression_statement":
        return set()
    if holder.type != "variable_declarator":
        return None
    scope = enclosing_function(holder) or holder
    pattern = holder.child_by_field_name("name")
    if pattern is None:
        return None
    if pattern.type == "identifier":
        fields: set[str] = set()
        for read in name_reads(scope, node_text(pattern), holder.end_byte):
            path = member_path(read)
            if not path or path[0] not in D1_ROWS_FIELDS:
                return None
            fields.add(path[0])
        return fields
    if pattern.type != "object_pattern":
        return None
    names = set()
    for part in pattern.named_children:
        if part.type != "shorthand_property_identifier_pattern":
            return None
        names.add(node_text(part))
    return names if names <= D1_ROWS_FIELDS else None


def reads_field(value: Node, field: str) -> bool:
    """Whether `field` is read off the value (directly, through the variable holding it, or
    by destructuring it)."""
    path = member_path(value)
    if path:
        return path[0] == field
    holder = outermost(value).parent
    if holder is None or holder.type != "variable_declarator":
        return False
    pattern = holder.child_by_field_name("name")
    if pattern is None:
        return False
    if pattern.type == "object_pattern":
        return any(node_text(part) == field for part in pattern.named_children)
    scope = enclosing_function(holder) or holder
    reads = name_reads(scope, node_text(pattern), holder.end_byte)
    return any(member_path(r)[:1] == (field,) for r in reads)
