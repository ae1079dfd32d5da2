"""Rewrite a worker's own SQL into calls on the orchestrator's RPC entrypoint.

Every change is a byte-range edit on the tree-sitter tree of the original file. A class (or, for
code outside classes, a file) is rewritten whole or not at all: when any of its sites cannot be
proven safe, all of them stay as they are and go to a model, so no class ends up reading half
of its data from a local database and half from the orchestrator.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from engine.errors import BadInput
from engine.migrate.models import SqlSite
from engine.migrate.sqlfinder import find_sql_sites
from engine.patch.models import PatchBatch, PatchOperation
from engine.refactor.methods import (
    ddl_statements,
    dropped_pragmas,
    method_key,
    plan_methods,
)
from engine.refactor.models import RpcMethod, RpcTarget, WorkItem
from engine.refactor.orchestrator import WRITE_RESULT_PATHS
from engine.refactor.recipes import (
    REASON_ESCAPES,
    REASON_PREPARED,
    Recipe,
    choose_recipe,
    recipe_named,
    site_reason,
    sync_boundary,
)
from engine.syntax.kinds import CLASS_KINDS, FUNCTION_KINDS, node_text
from engine.syntax.parse import parse
from engine.syntax.relative import import_specifier
from engine.syntax.splice import ByteEdit, splice

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["SiteDecision", "WorkerRefactor", "refactor_worker", "worker_batch"]


class SiteDecision(BaseModel):
    site: SqlSite
    recipe: str | None = None
    method: str | None = None
    reason: str | None = None


class WorkerRefactor(BaseModel):
    methods: list[RpcMethod] = Field(default_factory=list)
    ddl: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    rewritten: dict[str, str] = Field(default_factory=dict)
    decisions: list[SiteDecision] = Field(default_factory=list)
    work_items: list[WorkItem] = Field(default_factory=list)


# --------------------------------------------------------------------------- syntax helpers

_WRAPPERS = frozenset({"parenthesized_expression", "non_null_expression"})
_ENV_BASES = ("DurableObject", "WorkerEntrypoint", "WorkflowEntrypoint")
_PREPARING = frozenset({"query", "prepare"})
# Members called on the database (or a statement) itself, not on an Env that holds one.
_DATABASE_CALLS = _PREPARING | {"exec", "run", "get", "all", "values", "transaction", "sql"}


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _enclosing_function(node: Node) -> Node | None:
    return next((a for a in _ancestors(node) if a.type in FUNCTION_KINDS), None)


def _enclosing_class(node: Node) -> Node | None:
    return next((a for a in _ancestors(node) if a.type in CLASS_KINDS), None)


def _is_async(function: Node) -> bool:
    return any(child.type == "async" for child in function.children)


def _unwrap(node: Node) -> Node:
    while node.type in _WRAPPERS and node.named_child_count:
        inner = node.named_children[0]
        node = inner
    return node


def _chain_prefixes(outer: Node) -> list[tuple[str, Node]]:
    """Every call shape along `a.b(...).c(...)` with the call node that ends it, shortest
    first, written as the SQL finder writes shapes (`a.b().c`)."""
    links: list[tuple[str, Node]] = []
    node = outer
    while node.type == "call_expression":
        callee = node.child_by_field_name("function")
        if callee is None:
            return []
        callee = _unwrap(callee)
        if callee.type == "await_expression" and callee.named_child_count == 1:
            # tree-sitter reads `await a.b<T>()` as `(await a.b)<T>()`: the await belongs
            # to the whole call, which is the node that gets replaced.
            callee = _unwrap(callee.named_children[0])
        if callee.type != "member_expression":
            break
        links.append((node_text(callee.child_by_field_name("property")), node))
        obj = callee.child_by_field_name("object")
        if obj is None:
            return []
        node = _unwrap(obj)
    if not links:
        return []
    links.reverse()
    root = "".join(node_text(node).split())
    shapes: list[tuple[str, Node]] = []
    shape = root
    for index, (name, call) in enumerate(links):
        shape = f"{shape}{'()' if index else ''}.{name}"
        shapes.append((shape, call))
    return shapes


def _is_chain_inner(call: Node) -> bool:
    parent = call.parent
    if parent is None or parent.type != "member_expression":
        return False
    grand = parent.parent
    return grand is not None and grand.type == "call_expression"


def _line_span(source: bytes, start: int, end: int) -> tuple[int, int]:
    """Grow [start, end) to whole lines when the node is alone on them."""
    line_start = source.rfind(b"\n", 0, start) + 1
    line_end = source.find(b"\n", end)
    line_end = len(source) if line_end < 0 else line_end + 1
    if source[line_start:start].strip() or source[end:line_end].strip():
        return start, end
    return line_start, line_end


# --------------------------------------------------------------------------- edits


def _moot(edit: ByteEdit, by: ByteEdit) -> bool:
    """Whether `by` replaces every byte `edit` touches, so that `edit` has nothing left to do.

    A removal also takes insertions at its ends with it (they would dangle in the gap it
    leaves); a replacement keeps them, since they touch none of the bytes it replaces.
    """
    if by == edit or by.end == by.start or not by.start <= edit.start <= edit.end <= by.end:
        return False
    if edit.start == edit.end:
        return not by.text or by.start < edit.start < by.end
    return by.start < edit.start or edit.end < by.end


def _apply(source: bytes, edits: list[ByteEdit]) -> bytes:
    unique = set(edits)
    kept = [
        edit
        for edit in sorted(unique, key=lambda e: (e.start, e.end != e.start, -e.end, e.text))
        if not any(_moot(edit, by) for by in unique)
    ]
    return splice(source, _close_gaps(source, kept), ordered=True)


def _close_gaps(source: bytes, kept: list[ByteEdit]) -> list[ByteEdit]:
    """Merge touching whole-line removals, and take one blank line with a removal that sits
    between two blank lines, so removed declarations leave no double gap behind."""
    merged: list[ByteEdit] = []
    for edit in kept:
        last = merged[-1] if merged else None
        if last is not None and not last.text and not edit.text and last.end == edit.start:
            merged[-1] = ByteEdit(last.start, edit.end, "")
        else:
            merged.append(edit)
    closed = []
    for edit in merged:
        whole_lines = (
            not edit.text
            and edit.end > edit.start
            and (edit.start == 0 or source[edit.start - 1 : edit.start] == b"\n")
        )
        blank_before = edit.start >= 2 and source[edit.start - 2 : edit.start] == b"\n\n"
        if whole_lines and blank_before and source[edit.end : edit.end + 1] == b"\n":
            edit = ByteEdit(edit.start, edit.end + 1, "")
        closed.append(edit)
    return closed


# --------------------------------------------------------------------------- per-file scan


@dataclass
class _File:
    path: str
    source: bytes
    root: Node
    sites: list[SqlSite]


@dataclass
class _Site:
    site: SqlSite
    file: _File
    node: Node | None
    group: tuple[str, int]
    recipe: Recipe | None = None
    reason: str | None = None
    method: RpcMethod | None = None


def _locate(file: _File) -> list[Node | None]:
    """The call node of each site of the file: the shape matched on the site's lines."""
    by_line: dict[int, list[tuple[str, Node]]] = defaultdict(list)
    for node in _walk(file.root):
        if node.type == "new_expression":
            ctor = node.child_by_field_name("constructor")
            by_line[node.start_point.row + 1].append((f"new {node_text(ctor)}", node))
        elif node.type == "call_expression" and not _is_chain_inner(node):
            for shape, call in _chain_prefixes(node):
                by_line[call.start_point.row + 1].append((shape, call))
                by_line[node.start_point.row + 1].append((shape, call))
    used: set[int] = set()
    located: list[Node | None] = []
    for site in file.sites:
        found: Node | None = None
        for line in range(site.start_line, site.end_line + 1):
            for shape, node in sorted(by_line.get(line, []), key=lambda item: item[1].start_byte):
                if shape == site.call and node.start_byte not in used:
                    found = node
                    break
            if found is not None:
                break
        if found is not None:
            used.add(found.start_byte)
        located.append(found)
    return located


# --------------------------------------------------------------------------- env lookup


def _declares(block: Node, name: str, before: int) -> bool:
    for child in block.named_children:
        if child.start_byte >= before:
            return False
        if child.type in ("lexical_declaration", "variable_declaration"):
            for declarator in child.named_children:
                if node_text(declarator.child_by_field_name("name")) == name:
                    return True
    return False


def _param_names(function: Node) -> list[tuple[str, str]]:
    """(name, type text) of each simple parameter."""
    single = function.child_by_field_name("parameter")
    if single is not None:
        return [(node_text(single), "")]
    params = function.child_by_field_name("parameters")
    out: list[tuple[str, str]] = []
    for param in params.named_children if params is not None else []:
        pattern = param.child_by_field_name("pattern")
        annotation = param.child_by_field_name("type")
        type_text = node_text(annotation).lstrip(":").strip() if annotation is not None else ""
        out.append((node_text(pattern), type_text))
    return out


def _class_has_env(cls: Node) -> bool:
    heritage = next((c for c in cls.children if c.type == "class_heritage"), None)
    if heritage is not None and any(base in node_text(heritage) for base in _ENV_BASES):
        return True
    body = cls.child_by_field_name("body")
    for member in body.named_children if body is not None else []:
        is_field = member.type == "public_field_definition"
        if is_field and node_text(member.child_by_field_name("name")) == "env":
            return True
        if member.type == "method_definition" and node_text(member.child_by_field_name("name")) == (
            "constructor"
        ):
            params = member.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                has_modifier = any(
                    c.type in ("accessibility_modifier", "readonly") for c in param.children
                )
                if has_modifier and node_text(param.child_by_field_name("pattern")) == "env":
                    return True
    return False


def _env_expression(node: Node) -> str | None:
    """The expression that reaches the worker's Env where `node` runs."""
    this_ok = True
    for ancestor in _ancestors(node):
        if ancestor.type == "statement_block" and _declares(ancestor, "env", node.start_byte):
            return "env"
        if ancestor.type in FUNCTION_KINDS:
            for name, type_text in _param_names(ancestor):
                if name == "env":
                    return "env"
                if type_text.startswith("Context") or (name == "c" and not type_text):
                    return "c.env"
            if ancestor.type in ("function_declaration", "function_expression", "function"):
                this_ok = False
        if ancestor.type in CLASS_KINDS:
            return "this.env" if this_ok and _class_has_env(ancestor) else None
    return None


# --------------------------------------------------------------------------- the rewrite


@dataclass
class _Plan:
    target: RpcTarget
    files: dict[str, _File]
    edits: dict[str, list[ByteEdit]] = field(default_factory=lambda: defaultdict(list))
    injected: set[tuple[str, int]] = field(default_factory=set)
    # Files that reach the binding through `import { env } from "cloudflare:workers"`.
    module_env: set[str] = field(default_factory=set)
    # Whether any site reaches the binding through the worker's own Env (a parameter, this.env).
    worker_env: bool = False


def _site_args(item: _Site, recipe: Recipe, call: Node) -> list[Node] | str:
    """The argument nodes the RPC method takes, or why they cannot be used as they are."""
    chain = dict((shape, node) for shape, node in _chain_prefixes(call))
    nodes: list[Node] = []
    if recipe.name == "do-sql-exec":
        exec_call = next(n for s, n in chain.items() if s.endswith(".exec"))
        args = exec_call.child_by_field_name("arguments")
        nodes = [a for a in (args.named_children if args else []) if a.type != "comment"][1:]
    elif recipe.name == "d1-prepare-bind":
        for shape, node in chain.items():
            if shape.endswith(".bind"):
                args = node.child_by_field_name("arguments")
                nodes += [a for a in (args.named_children if args else []) if a.type != "comment"]
        final = call.child_by_field_name("arguments")
        if final is not None and final.named_child_count:
            return "the D1 call takes a column or option argument no RPC method mirrors"
    else:
        args = call.child_by_field_name("arguments")
        nodes = [a for a in (args.named_children if args else []) if a.type != "comment"]
    if any(n.type in ("object", "spread_element", "array") for n in nodes):
        return (
            "the values are bound as an object, array or spread, not one argument per placeholder"
        )
    method = item.method
    if method is not None and len(nodes) != len(method.params):
        return (
            f"the call binds {len(nodes)} value(s) but the SQL has "
            f"{len(method.params)} placeholder(s)"
        )
    return nodes


def _awaited(call: Node) -> Node | None:
    """The node that awaits `call`: its parent `await`, or the call itself when tree-sitter
    read `await a.b<T>()` as `(await a.b)<T>()`; None when nothing awaits it."""
    parent = call.parent
    if parent is not None and parent.type == "await_expression":
        return parent
    function = call.child_by_field_name("function")
    if function is not None and _unwrap(function).type == "await_expression":
        return call
    return None


def _same(a: Node | None, b: Node) -> bool:
    return a is not None and (a.start_byte, a.end_byte, a.type) == (
        b.start_byte,
        b.end_byte,
        b.type,
    )


def _outermost(value: Node) -> Node:
    """`value` with the parentheses and non-null assertions around it."""
    while value.parent is not None and value.parent.type in _WRAPPERS:
        value = value.parent
    return value


def _member_path(value: Node) -> tuple[str, ...]:
    """The property names read off `value`: `value.meta.changes` gives ("meta", "changes")."""
    path: list[str] = []
    node = _outermost(value)
    while (
        node.parent is not None
        and node.parent.type == "member_expression"
        and _same(node.parent.child_by_field_name("object"), node)
    ):
        path.append(node_text(node.parent.child_by_field_name("property")))
        node = _outermost(node.parent)
    return tuple(path)


def _reads_write_result(path: tuple[str, ...], prefix: tuple[str, ...] = ()) -> bool:
    """True when `prefix + path` reads one number of a WriteResult (and nothing else)."""
    full = prefix + path
    if not full or full == ("meta",):
        return False
    return full[:2] in WRITE_RESULT_PATHS or full[:1] in WRITE_RESULT_PATHS - {("meta",)}


def _name_reads(scope: Node, name: str, after: int) -> list[Node]:
    return [
        n
        for n in _walk(scope)
        if n.type == "identifier" and n.start_byte >= after and node_text(n) == name
    ]


def _result_uses_ok(value: Node) -> bool:
    """Whether every use of a write's result reads a number the RPC WriteResult carries:
    `x.meta.last_row_id`, `const { meta } = x` then `meta.changes`, `x.rowsWritten`..."""
    path = _member_path(value)
    if path:
        return _reads_write_result(path)
    holder = _outermost(value).parent
    if holder is None or holder.type != "variable_declarator":
        return False
    scope = _enclosing_function(holder) or holder
    while scope.parent is not None and scope.type not in FUNCTION_KINDS:
        scope = scope.parent
    pattern = holder.child_by_field_name("name")
    if pattern is None:
        return False
    if pattern.type == "identifier":
        reads = _name_reads(scope, node_text(pattern), holder.end_byte)
        return all(_reads_write_result(_member_path(r)) for r in reads)
    if pattern.type != "object_pattern":
        return False
    for part in pattern.named_children:
        if part.type != "shorthand_property_identifier_pattern":
            return False
        prefix = (node_text(part),)
        if prefix not in WRITE_RESULT_PATHS:
            return False
        reads = _name_reads(scope, prefix[0], holder.end_byte)
        if prefix == ("meta",) and not all(
            _reads_write_result(_member_path(r), prefix) for r in reads
        ):
            return False
    return True


def _receiver(call: Node) -> Node:
    """The object the SQL chain starts from: `db` in `db.query(...).all()`."""
    node = _unwrap(call)
    while True:
        if node.type == "call_expression":
            inner = node.child_by_field_name("function")
        elif node.type == "member_expression":
            inner = node.child_by_field_name("object")
        elif node.type == "await_expression" and node.named_child_count:
            inner = node.named_children[0]
        else:
            return node
        if inner is None:
            return node
        node = _unwrap(inner)


def _parameter_receiver(call: Node) -> str | None:
    """The parameter name when the chain starts from a function's parameter (a Database or
    statement handed in by the caller), else None."""
    receiver = _receiver(call)
    holder = _outermost(receiver).parent
    if receiver.type != "identifier" or holder is None or holder.type != "member_expression":
        return None
    if node_text(holder.child_by_field_name("property")) not in _DATABASE_CALLS:
        # `env.DB.prepare(...)`: the parameter is the Env, and the binding hangs off it.
        return None
    name = node_text(receiver)
    for ancestor in _ancestors(call):
        if ancestor.type == "statement_block" and _declares(ancestor, name, call.start_byte):
            return None
        if ancestor.type in FUNCTION_KINDS and name in (n for n, _ in _param_names(ancestor)):
            return name
    return None


def _usage_reason(recipe: Recipe, returns: str, call: Node) -> str | None:
    """Result-shape parity: uses of the old result the RPC result does not support."""
    parent = call.parent
    if recipe.name == "d1-prepare-bind":
        awaited = _awaited(call)
        if awaited is None:
            return "the D1 promise is not awaited where it is made"
        used = awaited.parent is not None and awaited.parent.type != "expression_statement"
        if returns == "result" and used and not _result_uses_ok(awaited):
            return (
                "the D1 run() result is used beyond meta.changes, meta.last_row_id and "
                "meta.rows_written, which the RPC result carries"
            )
        return None
    if recipe.name == "do-sql-exec" and call.type == "call_expression":
        shape = _chain_prefixes(call)[-1][0]
        if shape.endswith(".exec"):
            if returns == "rows" and (parent is None or parent.type != "for_in_statement"):
                return "the cursor is used as more than an iteration over its rows"
            used = parent is not None and parent.type != "expression_statement"
            if returns == "result" and used and not _result_uses_ok(call):
                return (
                    "the cursor of a write is used beyond rowsWritten, which the RPC result carries"
                )
    return None


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


def _row_type(call: Node) -> str | None:
    """The row type the old call was given (`first<NoteRow>()`, `exec<LineRow>(...)`)."""
    found = None
    for _, node in _chain_prefixes(call):
        type_args = node.child_by_field_name("type_arguments")
        if type_args is not None and type_args.named_child_count == 1:
            found = node_text(type_args.named_children[0])
    return found


def _cast(item: _Site, call: Node) -> str:
    """` as unknown as T[]` (or `T | null`) when the old call named its row type: the RPC
    method returns plain rows, and the worker keeps reading them as it did."""
    assert item.method is not None
    holder = _outermost(call).parent
    if holder is not None and holder.type == "as_expression" and item.method.returns != "result":
        # The worker casts the rows itself (`.all() as LogRow[]`); the RPC rows are plain
        # records, so the cast goes through unknown first.
        return " as unknown"
    row = _row_type(call)
    if row is None or item.method.returns == "result":
        return ""
    if item.method.returns == "rows":
        return f" as unknown as {row}[]"
    if call.type == "call_expression" and _chain_prefixes(call)[-1][0].endswith(".one"):
        # `.one()` threw when there was no row; the worker never checked for null.
        return f" as unknown as {row}"
    return f" as unknown as {row} | null"


def _value(target: Node, text: str, cast: bool) -> str:
    holder = _outermost(target).parent
    tight = holder is not None and holder.type in ("member_expression", "call_expression")
    if tight or (cast and holder is not None and holder.type not in _LOOSE_HOLDERS):
        return f"({text})"
    return text


def _replacement(item: _Site, env: str, args: list[Node], call: Node, binding: str) -> ByteEdit:
    assert item.method is not None
    invocation = f"{env}.{binding}.{item.method.name}({', '.join(node_text(a) for a in args)})"
    cast = _cast(item, call)
    awaited_value = f"(await {invocation}){cast}" if cast else f"await {invocation}"
    recipe = item.recipe
    if recipe is not None and recipe.name == "d1-prepare-bind":
        awaited = _awaited(call)
        assert awaited is not None
        if item.method.returns == "rows":
            wrapped = _value(awaited, f"{{ results: {awaited_value} }}", False)
            return ByteEdit(awaited.start_byte, awaited.end_byte, wrapped)
        if cast or awaited is call:
            return ByteEdit(
                awaited.start_byte, awaited.end_byte, _value(awaited, awaited_value, bool(cast))
            )
        return ByteEdit(call.start_byte, call.end_byte, invocation)
    return ByteEdit(call.start_byte, call.end_byte, _value(call, awaited_value, bool(cast)))


@dataclass
class _Async:
    """Functions that must become async and calls that must be awaited, for one site."""

    functions: dict[tuple[str, int], tuple[str, Node]] = field(default_factory=dict)
    awaits: dict[tuple[str, int], tuple[str, Node]] = field(default_factory=dict)
    reason: str | None = None


def _callers(plan: _Plan, path: str, function: Node) -> list[tuple[str, Node]] | str:
    """Every call of `function` in the given files, or why its callers cannot be followed."""
    name_node = function.child_by_field_name("name")
    if function.type == "method_definition":
        name = node_text(name_node)
        cls = _enclosing_class(function)
        class_name = node_text(cls.child_by_field_name("name")) if cls is not None else ""
        found: list[tuple[str, Node]] = []
        for other_path, other in sorted(plan.files.items()):
            receivers = _instances_of(other, class_name)
            for node in _walk(other.root):
                if (
                    node.type != "member_expression"
                    or node_text(node.child_by_field_name("property")) != name
                ):
                    continue
                obj = node_text(node.child_by_field_name("object"))
                same_class = other_path == path and obj == "this" and _enclosing_class(node) == cls
                if not same_class and obj not in receivers:
                    continue
                parent = node.parent
                if parent is None or parent.type != "call_expression":
                    where = f"{other_path}:{node.start_point.row + 1}"
                    return f"{class_name}.{name} is used as a value at {where}"
                found.append((other_path, parent))
        return found
    if function.type == "function_declaration":
        name = node_text(name_node)
    elif function.parent is not None and function.parent.type == "variable_declarator":
        name = node_text(function.parent.child_by_field_name("name"))
    else:
        return "its callers cannot be followed"
    found = []
    for other_path, other in sorted(plan.files.items()):
        if other_path != path and not _imports_name(other, name, path):
            continue
        for node in _walk(other.root):
            if node.type != "identifier" or node_text(node) != name:
                continue
            parent = node.parent
            if parent is None or parent.type in (
                "import_specifier",
                "function_declaration",
                "variable_declarator",
            ):
                continue
            if parent.type == "call_expression" and parent.child_by_field_name("function") == node:
                found.append((other_path, parent))
            else:
                return f"{name} is used as a value at {other_path}:{node.start_point.row + 1}"
    return found


def _instances_of(file: _File, class_name: str) -> set[str]:
    """Names (and `this.x` fields) the file binds to instances of `class_name`."""
    names: set[str] = set()
    if not class_name:
        return names
    for node in _walk(file.root):
        if node.type in (
            "variable_declarator",
            "public_field_definition",
            "required_parameter",
            "optional_parameter",
        ):
            name = node.child_by_field_name("name") or node.child_by_field_name("pattern")
            value = node.child_by_field_name("value")
            annotation = node.child_by_field_name("type")
            typed = (
                annotation is not None and node_text(annotation).lstrip(":").strip() == class_name
            )
            built = (
                value is not None
                and value.type == "new_expression"
                and node_text(value.child_by_field_name("constructor")) == class_name
            )
            if typed or built:
                prefix = "this." if node.type == "public_field_definition" else ""
                names.add(prefix + node_text(name))
    return names


def _resolve_import(importer: str, specifier: str) -> list[str]:
    if not specifier.startswith("."):
        return []
    base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
    stem = base[:-3] if base.endswith((".js", ".ts")) else base
    return [f"{stem}.ts", f"{stem}.tsx", f"{stem}/index.ts"]


def _imports_name(file: _File, name: str, target: str) -> bool:
    for node in file.root.named_children:
        if node.type != "import_statement":
            continue
        source = node.child_by_field_name("source")
        if target not in _resolve_import(file.path, node_text(source).strip("'\"")):
            continue
        for spec in _walk(node):
            if (
                spec.type == "import_specifier"
                and node_text(spec.child_by_field_name("name")) == name
            ):
                return True
    return False


def _propagate(plan: _Plan, path: str, call: Node) -> _Async:
    result = _Async()
    pending: list[tuple[str, Node]] = [(path, call)]
    while pending:
        where, node = pending.pop()
        function = _enclosing_function(node)
        line = f"{where}:{node.start_point.row + 1}"
        if function is None:
            result.reason = f"the call at {line} runs at module load, outside any function"
            return result
        if _is_async(function):
            continue
        key = (where, function.start_byte)
        if key in result.functions:
            continue
        boundary = sync_boundary(function)
        if boundary is not None:
            result.reason = f"the call at {line} sits in a sync boundary: {boundary}"
            return result
        result.functions[key] = (where, function)
        callers = _callers(plan, where, function)
        if isinstance(callers, str):
            result.reason = f"the call at {line} cannot become async: {callers}"
            return result
        for caller_path, caller in callers:
            parent = caller.parent
            if parent is not None and parent.type == "await_expression":
                continue
            result.awaits[(caller_path, caller.start_byte)] = (caller_path, caller)
            pending.append((caller_path, caller))
    return result


def _async_edits(source_node: Node) -> list[ByteEdit]:
    function = source_node
    edits: list[ByteEdit] = []
    if function.type == "method_definition":
        name = function.child_by_field_name("name")
        assert name is not None
        edits.append(ByteEdit(name.start_byte, name.start_byte, "async "))
    else:
        edits.append(ByteEdit(function.start_byte, function.start_byte, "async "))
    returns = function.child_by_field_name("return_type")
    if returns is not None and returns.named_child_count:
        type_node = returns.named_children[0]
        type_text = node_text(type_node)
        if not type_text.startswith("Promise<"):
            edits.append(
                ByteEdit(type_node.start_byte, type_node.end_byte, f"Promise<{type_text}>")
            )
    return edits


def _await_edits(call: Node) -> list[ByteEdit]:
    parent = call.parent
    if parent is not None and parent.type in ("member_expression", "call_expression"):
        return [
            ByteEdit(call.start_byte, call.start_byte, "(await "),
            ByteEdit(call.end_byte, call.end_byte, ")"),
        ]
    return [ByteEdit(call.start_byte, call.start_byte, "await ")]


# --------------------------------------------------------------------------- declarations


def _statement_of(node: Node) -> Node | None:
    for ancestor in _ancestors(node):
        if ancestor.type == "public_field_definition":
            return ancestor
        if ancestor.type in ("expression_statement", "lexical_declaration", "variable_declaration"):
            if ancestor.type != "expression_statement" and ancestor.named_child_count != 1:
                return None
            return ancestor
        if ancestor.type in FUNCTION_KINDS or ancestor.type in ("statement_block", "program"):
            return None
    return None


def _assigned_name(statement: Node) -> str | None:
    """`this.x` or `x` that a removable statement binds, if any."""
    if statement.type == "expression_statement":
        expr = statement.named_children[0] if statement.named_child_count else None
        if expr is not None and expr.type == "assignment_expression":
            return "".join(node_text(expr.child_by_field_name("left")).split())
        return None
    if statement.type == "public_field_definition":
        return "this." + node_text(statement.child_by_field_name("name"))
    declarator = statement.named_children[0]
    return node_text(declarator.child_by_field_name("name"))


def _group_removals(plan: _Plan, items: list[_Site]) -> list[ByteEdit] | str:
    """Edits that remove the group's database, statements and schema calls; or why they cannot
    go (some other use of them is left)."""
    file = items[0].file
    removed: list[Node] = []
    replaced: list[Node] = []
    owned: set[str] = set()
    for item in items:
        if item.node is None:
            return "the site could not be located in the syntax tree"
        if item.recipe is not None and item.recipe.name in ("ddl-to-migration", "pragma-drop"):
            statement = _statement_of(item.node)
            if statement is None or statement.type != "expression_statement":
                return "the schema statement is not a statement of its own"
            removed.append(statement)
        elif item.recipe is None:
            statement = _statement_of(item.node)
            name = _assigned_name(statement) if statement is not None else None
            if statement is None or name is None:
                return "the database or statement is created inside an expression"
            if statement.type != "public_field_definition":
                removed.append(statement)
            owned.add(name)
        else:
            replaced.append(item.node)
    cls = _enclosing_class(items[0].node) if items[0].node is not None else None
    scope = cls if cls is not None else file.root
    fields: list[Node] = []
    if cls is not None:
        body = cls.child_by_field_name("body")
        for member in body.named_children if body is not None else []:
            if member.type == "public_field_definition":
                name = "this." + node_text(member.child_by_field_name("name"))
                if name in owned:
                    fields.append(member)
    spans = [(n.start_byte, n.end_byte) for n in removed + replaced + fields]
    for node in _walk(scope):
        text = (
            "".join(node_text(node).split())
            if node.type in ("member_expression", "identifier")
            else ""
        )
        if text not in owned:
            continue
        holder = node.parent
        if (
            node.type == "identifier"
            and holder is not None
            and holder.type == "member_expression"
            and holder.child_by_field_name("property") == node
        ):
            continue
        if any(start <= node.start_byte and node.end_byte <= end for start, end in spans):
            continue
        if (
            node.type == "identifier"
            and node.parent is not None
            and node.parent.type == "variable_declarator"
        ):
            continue
        parent = node.parent
        if parent is not None and parent.type in (
            "arguments",
            "return_statement",
            "pair",
            "assignment_expression",
            "variable_declarator",
        ):
            return REASON_ESCAPES
        line = node.start_point.row + 1
        return f"{text} is used at line {line} outside the SQL calls the recipes cover"
    edits = [ByteEdit(*_line_span(file.source, n.start_byte, n.end_byte), "") for n in removed]
    for member in fields:
        # The field's `;` is a sibling token in the class body, not part of the field node.
        after = member.next_sibling
        end = after.end_byte if after is not None and after.type == ";" else member.end_byte
        start, end = _line_span(file.source, member.start_byte, end)
        # Fields that opened the class body take the blank line under them along.
        first = _line_span(file.source, fields[0].start_byte, fields[0].end_byte)[0]
        opens_body = file.source[:first].rstrip(b" \t").endswith(b"{\n")
        if member is fields[-1] and file.source[end : end + 1] == b"\n" and opens_body:
            end += 1
        edits.append(ByteEdit(start, end, ""))
    constructor = _emptied_constructor(file, removed)
    if constructor is not None:
        params = constructor.child_by_field_name("parameters")
        body = constructor.child_by_field_name("body")
        injected = cls is not None and (file.path, cls.start_byte) in plan.injected
        if (params is not None and params.named_child_count) or injected:
            if body is not None:
                edits.append(ByteEdit(body.start_byte, body.end_byte, "{}"))
        else:
            span = _line_span(file.source, constructor.start_byte, constructor.end_byte)
            edits.append(ByteEdit(*span, ""))
    return edits


def _emptied_constructor(file: _File, removed: list[Node]) -> Node | None:
    """A parameterless constructor whose every statement is being removed."""
    owners = {id(n.parent) for n in removed}
    for statement in removed:
        body = statement.parent
        function = body.parent if body is not None else None
        if function is None or function.type != "method_definition":
            continue
        if node_text(function.child_by_field_name("name")) != "constructor":
            continue
        gone = {n.start_byte for n in removed}
        if id(body) in owners and all(
            c.type == "comment" or c.start_byte in gone
            for c in (body.named_children if body else [])
        ):
            return function
    return None


# --------------------------------------------------------------------------- Env and imports


def _import_line(names: str, from_file: str, to_file: str) -> str:
    return f'import type {{ {names} }} from "{import_specifier(from_file, to_file)}";\n'


def _insert_import(source: bytes, line: str) -> bytes:
    head = _after_imports(source)
    # A file without imports gets a blank line between the new import and its code.
    spacer = "\n" if head == 0 and source.strip() and not source.startswith(b"\n") else ""
    return source[:head] + (line + spacer).encode() + source[head:]


def _after_imports(source: bytes) -> int:
    root = parse(source, "x.ts").root_node
    end = 0
    for child in root.named_children:
        if child.type != "import_statement":
            break
        end = _line_span(source, child.start_byte, child.end_byte)[1]
    return end


def _is_module(root: Node) -> bool:
    return any(c.type in ("import_statement", "export_statement") for c in root.named_children)


def _binding_member(target: RpcTarget, path: str, module: bool) -> str:
    # Service<T> from @cloudflare/workers-types types the stub by the entrypoint class, so every
    # RPC method the worker calls is checked against the orchestrator's real signature. A file
    # that is not a module (a global Env in a .d.ts) takes an inline import() type instead, as
    # an import statement would turn its global declarations into module ones.
    type_name = (
        target.class_name
        if module
        else f'import("{import_specifier(path, target.entrypoint_path)}").{target.class_name}'
    )
    return (
        f"  // Service binding to the orchestrator's {target.class_name} RPC entrypoint.\n"
        f"  {target.binding}: Service<{type_name}>;\n"
    )


def _add_env_binding(texts: dict[str, bytes], target: RpcTarget, rewritten: list[str]) -> None:
    binding = target.binding
    for path in sorted(texts):
        source = texts[path]
        root = parse(source, path).root_node
        for node in _walk(root):
            if node.type not in ("interface_declaration", "type_alias_declaration"):
                continue
            if node_text(node.child_by_field_name("name")) != "Env":
                continue
            body = node.child_by_field_name("body") or node.child_by_field_name("value")
            if body is None or body.type not in ("interface_body", "object_type"):
                continue
            if f"{binding}:" in node_text(body) or f"{binding}?:" in node_text(body):
                return
            module = _is_module(root)
            member = _binding_member(target, path, module)
            close = body.end_byte - 1
            line_start = source.rfind(b"\n", 0, close) + 1
            at = line_start if not source[line_start:close].strip() else close
            prefix = "" if at == line_start else "\n"
            updated = source[:at] + (prefix + member).encode() + source[at:]
            if module:
                line = _import_line(target.class_name, path, target.entrypoint_path)
                updated = _insert_import(updated, line)
            texts[path] = updated
            return
    types_path = posixpath.join(posixpath.dirname(rewritten[0]), "types.ts")
    existing = texts.get(types_path, b"")
    line = _import_line(target.class_name, types_path, target.entrypoint_path)
    with_import = _insert_import(existing, line)
    declaration = f"\nexport interface Env {{\n{_binding_member(target, types_path, True)}}}\n"
    texts[types_path] = with_import.rstrip(b"\n") + b"\n" + declaration.encode()
    for path in rewritten:
        if path == types_path:
            continue
        source = texts[path]
        tree = parse(source, path).root_node
        uses = any(n.type == "type_identifier" and n.text == b"Env" for n in _walk(tree))
        if uses and b"import type { Env }" not in source:
            texts[path] = _insert_import(source, _import_line("Env", path, types_path))


def _drop_unused_driver_imports(source: bytes, path: str) -> bytes:
    root = parse(source, path).root_node
    used = {
        node_text(n)
        for n in _walk(root)
        if n.type in ("identifier", "type_identifier")
        and not any(a.type == "import_statement" for a in _ancestors(n))
    }
    edits: list[ByteEdit] = []
    for statement in root.named_children:
        if statement.type != "import_statement":
            continue
        if node_text(statement.child_by_field_name("source")).strip("'\"") not in (
            "bun:sqlite",
            "better-sqlite3",
        ):
            continue
        specs = [n for n in _walk(statement) if n.type == "import_specifier"]
        keep = [
            s
            for s in specs
            if node_text(s.child_by_field_name("alias") or s.child_by_field_name("name")) in used
        ]
        if len(keep) == len(specs) and specs:
            continue
        if not keep:
            edits.append(
                ByteEdit(*_line_span(source, statement.start_byte, statement.end_byte), "")
            )
            continue
        clause = next(n for n in _walk(statement) if n.type == "named_imports")
        edits.append(
            ByteEdit(
                clause.start_byte,
                clause.end_byte,
                "{ " + ", ".join(node_text(s) for s in keep) + " }",
            )
        )
    if not edits:
        return source
    updated = _apply(source, edits)
    # A dropped first import leaves the blank line that separated it from the code.
    return updated.lstrip(b"\n") if not source.startswith(b"\n") else updated


# --------------------------------------------------------------------------- work items


def _context(file: _File, node: Node | None, site: SqlSite) -> str:
    function = _enclosing_function(node) if node is not None else None
    start = function.start_point.row + 1 if function is not None else site.start_line
    end = function.end_point.row + 1 if function is not None else site.end_line
    lines = file.source.decode("utf-8", "replace").splitlines()
    first = max(1, start - 10)
    last = min(len(lines), end + 10)
    width = len(str(last))
    return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in range(first, last + 1))


def _work_item(target: RpcTarget, item: _Site, methods: list[RpcMethod]) -> WorkItem:
    site = item.site
    context = _context(item.file, item.node, site)
    key = method_key(site)
    usable = [m.name for m in methods if key is not None and (m.sql, m.returns) == key]
    if not usable:
        usable = [
            m.name
            for m in methods
            if any(
                t in m.tables_read + m.tables_written
                for t in site.tables_read + site.tables_written
            )
        ]
    return WorkItem(
        id=f"{target.folder}:{site.file}:{site.start_line}",
        folder=target.folder,
        file=site.file,
        start_line=site.start_line,
        end_line=site.end_line,
        reason=item.reason or "no recipe applies",
        site=site,
        context=context,
        methods=usable,
    )


# --------------------------------------------------------------------------- entry points


def refactor_worker(ws_root: Path, target: RpcTarget, files: Mapping[str, bytes]) -> WorkerRefactor:
    """Plan and rewrite one worker folder's SQL sites into RPC calls on `target`.

    `files` maps workspace-relative paths to their bytes; `ws_root` only anchors error messages
    and is never read, so a dry run and the real run see exactly the same input.
    """
    del ws_root
    parsed: dict[str, _File] = {}
    for path in sorted(files):
        source = files[path]
        parsed[path] = _File(
            path, source, parse(source, path).root_node, find_sql_sites(source, path)
        )
    plan = _Plan(target, parsed)
    all_sites = [site for file in parsed.values() for site in file.sites]
    methods = plan_methods(all_sites)
    by_key = {(m.sql, m.returns): m for m in methods}

    items: list[_Site] = []
    for file in parsed.values():
        for site, node in zip(file.sites, _locate(file), strict=True):
            cls = _enclosing_class(node) if node is not None else None
            group = (file.path, cls.start_byte if cls is not None else -1)
            item = _Site(site, file, node, group)
            chosen = choose_recipe(site)
            item.recipe = chosen
            item.reason = site_reason(site)
            key = method_key(site)
            item.method = by_key.get(key) if key is not None else None
            items.append(item)

    groups: dict[tuple[str, int], list[_Site]] = defaultdict(list)
    for item in items:
        groups[item.group].append(item)

    for group_key in sorted(groups):
        _plan_group(plan, groups[group_key])

    texts = {path: file.source for path, file in parsed.items()}
    rewritten_paths = sorted(path for path, edits in plan.edits.items() if edits)
    for path in rewritten_paths:
        updated = _apply(texts[path], plan.edits[path])
        texts[path] = _drop_unused_driver_imports(updated, path)
    if plan.worker_env:
        _add_env_binding(texts, target, rewritten_paths)
    if plan.module_env:
        _add_module_env(texts, target, plan.module_env)

    decisions = [
        SiteDecision(
            site=item.site,
            recipe=item.recipe.name if item.recipe is not None and item.reason is None else None,
            method=item.method.name if item.method is not None and item.reason is None else None,
            reason=item.reason,
        )
        for item in items
    ]
    needs_model = [item for item in items if item.reason is not None]
    return WorkerRefactor(
        methods=methods,
        ddl=ddl_statements(all_sites),
        dropped=dropped_pragmas(all_sites),
        rewritten={
            path: text.decode("utf-8")
            for path, text in sorted(texts.items())
            if files.get(path) != text
        },
        decisions=decisions,
        work_items=[_work_item(target, item, methods) for item in needs_model],
    )


def _plan_group(plan: _Plan, items: list[_Site]) -> None:
    """Rewrite the whole group, or leave all of it and say why for each site."""
    blocker = next((i for i in items if i.reason not in (None, REASON_PREPARED)), None)
    if blocker is None:
        injected = set(plan.injected)
        module_env, worker_env = set(plan.module_env), plan.worker_env
        outcome = _group_edits(plan, items)
        if isinstance(outcome, dict):
            for item in items:
                if item.reason == REASON_PREPARED:
                    item.reason = None
                    item.recipe = recipe_named(
                        "bun-sqlite-prepared-field"
                        if item.site.call.rsplit(".", 1)[-1] in ("query", "prepare")
                        else "bun-sqlite-inline"
                    )
            for path, edits in outcome.items():
                plan.edits[path].extend(edits)
            return
        plan.injected = injected
        plan.module_env, plan.worker_env = module_env, worker_env
        blocker = outcome
    scope = _scope(items)
    for item in items:
        if item is not blocker:
            item.reason = (
                f"{GROUP_REASON_PREFIX}{blocker.site.start_line} of the same {scope} needs a model "
                f"({blocker.reason}), and a {scope} is rewritten whole or not at all"
            )


# The reason of a site that only waits on another site of its class or file.
GROUP_REASON_PREFIX = "line "


def _scope(items: list[_Site]) -> str:
    name = items[0].site.class_name
    return f"class {name}" if name and items[0].group[1] >= 0 else "file"


def _group_edits(plan: _Plan, items: list[_Site]) -> dict[str, list[ByteEdit]] | _Site:
    """The edits of every file the group touches, or the site that stops the group."""
    binding = plan.target.binding
    edits: list[ByteEdit] = []
    by_file: dict[str, list[ByteEdit]] = defaultdict(list)

    def stop(item: _Site, reason: str) -> _Site:
        item.reason = reason
        return item

    for item in items:
        recipe = item.recipe
        if recipe is None or recipe.name in ("ddl-to-migration", "pragma-drop"):
            continue
        if item.node is None or item.method is None:
            return stop(item, "the site could not be located in the syntax tree")
        args = _site_args(item, recipe, item.node)
        if isinstance(args, str):
            return stop(item, args)
        usage = _usage_reason(recipe, item.method.returns, item.node)
        if usage is not None:
            return stop(item, usage)
        handed_in = _parameter_receiver(item.node)
        if handed_in is not None:
            return stop(
                item,
                f"the database arrives as parameter `{handed_in}`, so the callers that pass it "
                "and its other uses must change too",
            )
        env = _env_expression(item.node)
        if env is None:
            env_or_reason = _inject_env(plan, item, by_file)
            if env_or_reason.startswith("!"):
                blocked = _module_env_blocker(item.file)
                if blocked is not None:
                    return stop(item, f"{env_or_reason[1:]}, and {blocked}")
                plan.module_env.add(item.file.path)
                env = MODULE_ENV
            else:
                env = env_or_reason
                plan.worker_env = True
        else:
            plan.worker_env = True
        edits.append(_replacement(item, env, args, item.node, binding))
        if recipe.name != "d1-prepare-bind":
            flow = _propagate(plan, item.file.path, item.node)
            if flow.reason is not None:
                return stop(item, flow.reason)
            for path, function in flow.functions.values():
                by_file[path].extend(_async_edits(function))
            for path, call in flow.awaits.values():
                by_file[path].extend(_await_edits(call))
    removals = _group_removals(plan, items)
    if isinstance(removals, str):
        culprit = next((i for i in items if i.reason == REASON_PREPARED), items[0])
        return stop(culprit, removals)
    by_file[items[0].file.path].extend(edits + removals)
    return dict(by_file)


# Workers expose the bindings at module scope too (`import { env } from "cloudflare:workers"`),
# typed by the global `Cloudflare.Env`: the seed's own before/after example reads them so.
MODULE_ENV = "env"
MODULE_ENV_IMPORT = 'import { env } from "cloudflare:workers";\n'
MODULE_ENV_FILE = "cloudflare-env.d.ts"


def _module_env_blocker(file: _File) -> str | None:
    """Why the file cannot read the module-scope `env`, or None when it can."""
    for node in _walk(file.root):
        if node.type in ("identifier", "shorthand_property_identifier_pattern") and (
            node_text(node) == MODULE_ENV
        ):
            return f"the name `{MODULE_ENV}` is already used in {file.path}"
    return None


def _module_env_declaration(target: RpcTarget, path: str) -> str:
    return (
        '// Bindings read through `import { env } from "cloudflare:workers"` (vibehq D1-to-RPC).\n'
        f"{_import_line(target.class_name, path, target.entrypoint_path)}\n"
        "declare global {\n"
        "  namespace Cloudflare {\n"
        "    interface Env {\n"
        + "".join(f"    {line}\n" for line in _binding_member(target, path, True).splitlines())
        + "    }\n"
        "  }\n"
        "}\n"
    )


def _add_module_env(texts: dict[str, bytes], target: RpcTarget, users: set[str]) -> None:
    """Import the module-scope `env` where it is read, and declare the binding on
    `Cloudflare.Env` in one declaration file beside the first such file."""
    for path in sorted(users):
        texts[path] = _insert_import(texts[path], MODULE_ENV_IMPORT)
    declaration = posixpath.join(posixpath.dirname(min(users)), MODULE_ENV_FILE)
    existing = texts.get(declaration)
    if existing is not None and f"{target.binding}:".encode() in existing:
        return
    if existing is not None:
        raise BadInput(f"{declaration} exists and does not declare {target.binding}; add it there")
    texts[declaration] = _module_env_declaration(target, declaration).encode()


def _inject_env(plan: _Plan, item: _Site, by_file: dict[str, list[ByteEdit]]) -> str:
    """Give the class an `env` constructor parameter when every `new` of it can pass one.
    Returns the env expression, or `!reason`."""
    assert item.node is not None
    cls = _enclosing_class(item.node)
    no_env = "no Env is reachable here"
    if cls is None:
        return f"!{no_env}"
    key = (item.file.path, cls.start_byte)
    if key in plan.injected:
        return "this.env"
    class_name = node_text(cls.child_by_field_name("name"))
    news: list[tuple[str, Node, str]] = []
    for path, file in sorted(plan.files.items()):
        for node in _walk(file.root):
            if node.type == "class_heritage" and f"extends {class_name}" in node_text(node):
                return f"!{no_env}, and {class_name} is extended, so its constructor cannot change"
            if (
                node.type != "new_expression"
                or node_text(node.child_by_field_name("constructor")) != class_name
            ):
                continue
            env = _env_expression(node)
            if env is None:
                where = f"{path}:{node.start_point.row + 1}"
                return f"!{no_env}, and `new {class_name}` at {where} has no Env to pass"
            news.append((path, node, env))
    if not news:
        return f"!{no_env}, and no `new {class_name}` in the worker can pass one"
    body = cls.child_by_field_name("body")
    constructor = next(
        (
            m
            for m in (body.named_children if body is not None else [])
            if m.type == "method_definition"
            and node_text(m.child_by_field_name("name")) == "constructor"
        ),
        None,
    )
    path = item.file.path
    if constructor is None:
        assert body is not None
        by_file[path].append(
            ByteEdit(
                body.start_byte + 1,
                body.start_byte + 1,
                "\n  constructor(private readonly env: Env) {}\n",
            )
        )
    else:
        params = constructor.child_by_field_name("parameters")
        assert params is not None
        separator = ", " if params.named_child_count else ""
        by_file[path].append(
            ByteEdit(
                params.start_byte + 1,
                params.start_byte + 1,
                f"private readonly env: Env{separator}",
            )
        )
    for new_path, node, env in news:
        args = node.child_by_field_name("arguments")
        if args is None:
            by_file[new_path].append(ByteEdit(node.end_byte, node.end_byte, f"({env})"))
        else:
            separator = ", " if args.named_child_count else ""
            by_file[new_path].append(
                ByteEdit(args.start_byte + 1, args.start_byte + 1, f"{env}{separator}")
            )
    plan.injected.add(key)
    return "this.env"


def worker_batch(
    result: WorkerRefactor, *, requester: str = "codex-recipes", task_id: str | int | None = None
) -> PatchBatch | None:
    """One `create` (overwrite) per rewritten file, for the patch engine to journal and
    validate; None when nothing changed."""
    if not result.rewritten:
        return None
    digest = hashlib.sha256(
        "\n".join(f"{path}\0{text}" for path, text in sorted(result.rewritten.items())).encode()
    ).hexdigest()[:16]
    return PatchBatch(
        batch_id=f"rpc-refactor-{digest}",
        requester=requester,
        reason=f"D1/SQLite-to-RPC: {len(result.rewritten)} file(s) rewritten by recipes",
        task_id=task_id,
        patches=[
            PatchOperation(op="create", file=path, block=text, overwrite=True, task_id=task_id)
            for path, text in sorted(result.rewritten.items())
        ],
    )
