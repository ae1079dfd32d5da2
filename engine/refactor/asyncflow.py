"""Async propagation: a call that becomes async makes its enclosing function async, and every
caller inside the folder awaits it, up to a function that already is async."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.refactor.calls import enclosing_class, enclosing_function, is_async, walk
from engine.refactor.scan import FolderPlan, SourceFile
from engine.syntax.kinds import FUNCTION_KINDS, node_text
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node


@dataclass
class AsyncFlow:
    """Functions that must become async and calls that must be awaited, for one site."""

    functions: dict[tuple[str, int], tuple[str, Node]] = field(default_factory=dict)
    awaits: dict[tuple[str, int], tuple[str, Node]] = field(default_factory=dict)
    reason: str | None = None


def callers(plan: FolderPlan, path: str, function: Node) -> list[tuple[str, Node]] | str:
    """Every call of `function` in the given files, or why its callers cannot be followed."""
    name_node = function.child_by_field_name("name")
    if function.type == "method_definition":
        name = node_text(name_node)
        cls = enclosing_class(function)
        class_name = node_text(cls.child_by_field_name("name")) if cls is not None else ""
        found: list[tuple[str, Node]] = []
        for other_path, other in sorted(plan.files.items()):
            receivers = _instances_of(other, class_name)
            for node in walk(other.root):
                if (
                    node.type != "member_expression"
                    or node_text(node.child_by_field_name("property")) != name
                ):
                    continue
                obj = node_text(node.child_by_field_name("object"))
                same_class = other_path == path and obj == "this" and enclosing_class(node) == cls
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
        for node in walk(other.root):
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


def _instances_of(file: SourceFile, class_name: str) -> set[str]:
    """Names (and `this.x` fields) the file binds to instances of `class_name`."""
    names: set[str] = set()
    if not class_name:
        return names
    for node in walk(file.root):
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


def _imports_name(file: SourceFile, name: str, target: str) -> bool:
    for node in file.root.named_children:
        if node.type != "import_statement":
            continue
        source = node.child_by_field_name("source")
        if target not in _resolve_import(file.path, node_text(source).strip("'\"")):
            continue
        for spec in walk(node):
            if (
                spec.type == "import_specifier"
                and node_text(spec.child_by_field_name("name")) == name
            ):
                return True
    return False


def propagate(plan: FolderPlan, path: str, call: Node) -> AsyncFlow:
    result = AsyncFlow()
    pending: list[tuple[str, Node]] = [(path, call)]
    while pending:
        where, node = pending.pop()
        function = enclosing_function(node)
        line = f"{where}:{node.start_point.row + 1}"
        if function is None:
            result.reason = f"the call at {line} runs at module load, outside any function"
            return result
        if is_async(function):
            continue
        key = (where, function.start_byte)
        if key in result.functions:
            continue
        boundary = sync_boundary(function)
        if boundary is not None:
            result.reason = f"the call at {line} sits in a sync boundary: {boundary}"
            return result
        result.functions[key] = (where, function)
        found = callers(plan, where, function)
        if isinstance(found, str):
            result.reason = f"the call at {line} cannot become async: {found}"
            return result
        for caller_path, caller in found:
            parent = caller.parent
            if parent is not None and parent.type == "await_expression":
                continue
            result.awaits[(caller_path, caller.start_byte)] = (caller_path, caller)
            pending.append((caller_path, caller))
    return result


def async_edits(source_node: Node) -> list[ByteEdit]:
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


def await_edits(call: Node) -> list[ByteEdit]:
    parent = call.parent
    if parent is not None and parent.type in ("member_expression", "call_expression"):
        return [
            ByteEdit(call.start_byte, call.start_byte, "(await "),
            ByteEdit(call.end_byte, call.end_byte, ")"),
        ]
    return [ByteEdit(call.start_byte, call.start_byte, "await ")]


# --------------------------------------------------------------------------- sync boundaries

# Callers that use a callback's return value synchronously: a Promise there is a silent bug.
_SYNC_CALLBACK_CALLEES = frozenset(
    {
        "map", "forEach", "filter", "sort", "find", "findIndex", "some", "every", "reduce",
        "reduceRight", "flatMap", "transaction", "replace", "toSorted",
    }
)  # fmt: skip


def sync_boundary(function: Node) -> str | None:
    """Why `function` cannot become async, or None when it can (or already is)."""
    if is_async(function):
        return None
    if function.type == "method_definition":
        name = function.child_by_field_name("name")
        if name is not None and name.text == b"constructor":
            return "a constructor cannot be async"
        for child in function.children:
            if child.type == "get":
                return "a getter cannot be async"
            if child.type == "set":
                return "a setter cannot be async"
        return None
    if any(child.type == "*" for child in function.children):
        return "a generator cannot simply become async"
    parent = function.parent
    if parent is not None and parent.type == "arguments":
        call = parent.parent
        callee = call.child_by_field_name("function") if call is not None else None
        if callee is not None and callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            name_text = (prop.text or b"").decode() if prop is not None else ""
        else:
            name_text = (callee.text or b"").decode() if callee is not None else ""
        if name_text in _SYNC_CALLBACK_CALLEES:
            return f"a callback of {name_text}() must return synchronously"
        return f"a callback passed to {name_text or 'a call'}() may be used synchronously"
    if function.type != "function_declaration" and function.type in FUNCTION_KINDS:
        holder = parent
        if holder is None or holder.type not in ("variable_declarator", "public_field_definition"):
            return "a function value whose callers cannot be followed"
    return None
