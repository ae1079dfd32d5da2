"""Tree-sitter navigation of SQL call chains: `a.b(...).c(...)`, what awaits them, what is
read off their results, and where their names are declared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.syntax.kinds import CLASS_KINDS, FUNCTION_KINDS, node_text

if TYPE_CHECKING:
    from tree_sitter import Node


WRAPPERS = frozenset({"parenthesized_expression", "non_null_expression"})


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def enclosing_function(node: Node) -> Node | None:
    return next((a for a in ancestors(node) if a.type in FUNCTION_KINDS), None)


def enclosing_class(node: Node) -> Node | None:
    return next((a for a in ancestors(node) if a.type in CLASS_KINDS), None)


def is_async(function: Node) -> bool:
    return any(child.type == "async" for child in function.children)


def unwrap(node: Node) -> Node:
    while node.type in WRAPPERS and node.named_child_count:
        inner = node.named_children[0]
        node = inner
    return node


def chain_prefixes(outer: Node) -> list[tuple[str, Node]]:
    """Every call shape along `a.b(...).c(...)` with the call node that ends it, shortest
    first, written as the SQL finder writes shapes (`a.b().c`)."""
    links: list[tuple[str, Node]] = []
    node = outer
    while node.type == "call_expression":
        callee = node.child_by_field_name("function")
        if callee is None:
            return []
        callee = unwrap(callee)
        if callee.type == "await_expression" and callee.named_child_count == 1:
            # tree-sitter reads `await a.b<T>()` as `(await a.b)<T>()`: the await belongs
            # to the whole call, which is the node that gets replaced.
            callee = unwrap(callee.named_children[0])
        if callee.type != "member_expression":
            break
        links.append((node_text(callee.child_by_field_name("property")), node))
        obj = callee.child_by_field_name("object")
        if obj is None:
            return []
        node = unwrap(obj)
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


def is_chain_inner(call: Node) -> bool:
    parent = call.parent
    if parent is None or parent.type != "member_expression":
        return False
    grand = parent.parent
    return grand is not None and grand.type == "call_expression"


def line_span(source: bytes, start: int, end: int) -> tuple[int, int]:
    """Grow [start, end) to whole lines when the node is alone on them."""
    line_start = source.rfind(b"\n", 0, start) + 1
    line_end = source.find(b"\n", end)
    line_end = len(source) if line_end < 0 else line_end + 1
    if source[line_start:start].strip() or source[end:line_end].strip():
        return start, end
    return line_start, line_end


def awaited(call: Node) -> Node | None:
    """The node that awaits `call`: its parent `await`, or the call itself when tree-sitter
    read `await a.b<T>()` as `(await a.b)<T>()`; None when nothing awaits it."""
    parent = call.parent
    if parent is not None and parent.type == "await_expression":
        return parent
    function = call.child_by_field_name("function")
    if function is not None and unwrap(function).type == "await_expression":
        return call
    return None


def same_node(a: Node | None, b: Node) -> bool:
    return a is not None and (a.start_byte, a.end_byte, a.type) == (
        b.start_byte,
        b.end_byte,
        b.type,
    )


def outermost(value: Node) -> Node:
    """`value` with the parentheses and non-null assertions around it."""
    while value.parent is not None and value.parent.type in WRAPPERS:
        value = value.parent
    return value


def member_path(value: Node) -> tuple[str, ...]:
    """The property names read off `value`: `value.meta.changes` gives ("meta", "changes")."""
    path: list[str] = []
    node = outermost(value)
    while (
        node.parent is not None
        and node.parent.type == "member_expression"
        and same_node(node.parent.child_by_field_name("object"), node)
    ):
        path.append(node_text(node.parent.child_by_field_name("property")))
        node = outermost(node.parent)
    return tuple(path)


def receiver(call: Node) -> Node:
    """The object the SQL chain starts from: `db` in `db.query(...).all()`."""
    node = unwrap(call)
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
        node = unwrap(inner)


def declares(block: Node, name: str, before: int) -> bool:
    for child in block.named_children:
        if child.start_byte >= before:
            return False
        if child.type in ("lexical_declaration", "variable_declaration"):
            for declarator in child.named_children:
                if node_text(declarator.child_by_field_name("name")) == name:
                    return True
    return False


def param_names(function: Node) -> list[tuple[str, str]]:
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


def row_type(call: Node) -> str | None:
    """The row type the old call was given (`first<NoteRow>()`, `exec<LineRow>(...)`)."""
    found = None
    for _, node in chain_prefixes(call):
        type_args = node.child_by_field_name("type_arguments")
        if type_args is not None and type_args.named_child_count == 1:
            found = node_text(type_args.named_children[0])
    return found
