"""The syntax side of the SQL finder: call chains (`a.b(...).c(...)`) taken apart into links,
the literal or fixed-fragment SQL text of an argument, and the statement and function a call
sits in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from engine.syntax.kinds import CLASS_KINDS, FUNCTION_KINDS, node_text

if TYPE_CHECKING:
    from tree_sitter import Node


BLOCK_TYPES = frozenset(
    {
        "statement_block",
        "program",
        "switch_body",
        "for_statement",
        "for_in_statement",
        "class_static_block",
    }
)


WRAPPERS = frozenset(
    {"parenthesized_expression", "non_null_expression", "as_expression", "satisfies_expression"}
)


# Nodes a call sits in when it is the whole of a statement: the site spans that statement.
STATEMENT_PARTS = WRAPPERS | {
    "await_expression",
    "variable_declarator",
    "lexical_declaration",
    "variable_declaration",
    "assignment_expression",
    "augmented_assignment_expression",
    "expression_statement",
    "return_statement",
    "public_field_definition",
    "export_statement",
}


TAG = "``"


def first_named(node: Node) -> Node | None:
    for child in node.named_children:
        if child.type != "comment":
            return child
    return None


def unwrap(node: Node) -> Node:
    while node.type in WRAPPERS:
        inner = first_named(node)
        if inner is None:
            break
        node = inner
    return node


def member_segments(node: Node) -> list[str] | None:
    """Dotted segments of `a.b.c`, `this.x.y` or `env["DB"]`; None for anything computed."""
    segments: list[str] = []
    while True:
        node = unwrap(node)
        kind = node.type
        if kind == "identifier":
            segments.append(node_text(node))
            break
        if kind == "this":
            segments.append("this")
            break
        obj = node.child_by_field_name("object")
        if obj is None:
            return None
        if kind == "member_expression":
            prop = node.child_by_field_name("property")
            if prop is None:
                return None
            segments.append(node_text(prop))
        elif kind == "subscript_expression":
            index = node.child_by_field_name("index")
            key = literal_text(index) if index is not None and index.type == "string" else None
            if not key:
                return None
            segments.append(key)
        else:
            return None
        node = obj
    segments.reverse()
    return segments


def literal_text(node: Node, depth: int = 0) -> str | None:
    """Text of a string or template literal as written, or of a `+` concatenation of them;
    None when any part is computed at run time. A `const` (or a property of a `const` object
    literal) holding such text stands for its text, in a template's `${...}` too; a template
    part that is not constant is kept as `${...}`, which marks the SQL as built at run time."""
    parts: list[str] = []
    pending = [node]
    # An explicit stack: generated SQL can concatenate thousands of literals.
    while pending:
        current = unwrap(pending.pop())
        if current.type == "string":
            parts.append(node_text(current)[1:-1])
            continue
        if current.type == "template_string":
            parts.append(_template_text(current, depth))
            continue
        if current.type in ("identifier", "member_expression") and depth < _CONST_DEPTH:
            value = const_value(current)
            text = literal_text(value, depth + 1) if value is not None else None
            if text is None:
                return None
            parts.append(text)
            continue
        if current.type != "binary_expression":
            return None
        operator = current.child_by_field_name("operator")
        left = current.child_by_field_name("left")
        right = current.child_by_field_name("right")
        if operator is None or node_text(operator) != "+" or left is None or right is None:
            return None
        pending += (right, left)
    return "".join(parts)


_CONST_DEPTH = 4


def _template_text(template: Node, depth: int) -> str:
    text = node_text(template)
    out: list[str] = []
    at = template.start_byte + 1
    base = template.start_byte
    for child in template.named_children:
        if child.type != "template_substitution":
            continue
        out.append(text[at - base : child.start_byte - base])
        inner = first_named(child)
        value = (
            literal_text(inner, depth + 1) if inner is not None and depth < _CONST_DEPTH else None
        )
        out.append(value if value is not None and "${" not in value else node_text(child))
        at = child.end_byte
    out.append(text[at - base : len(text) - 1])
    return "".join(out)


def const_value(name: Node) -> Node | None:
    """The initialiser of the `const` that `name` (or `NAME.key`) reads, in an enclosing block
    or the module; None when it is not a const, or a property of it is ever assigned."""
    key: str | None = None
    if name.type == "member_expression":
        prop = name.child_by_field_name("property")
        obj = name.child_by_field_name("object")
        if prop is None or obj is None or unwrap(obj).type != "identifier":
            return None
        key, name = node_text(prop), unwrap(obj)
    wanted = node_text(name)
    for scope in _scopes(name):
        for child in scope.named_children:
            declaration = first_named(child) if child.type == "export_statement" else child
            if declaration is None or declaration.type != "lexical_declaration":
                continue
            if not node_text(declaration).startswith("const"):
                continue
            for declarator in declaration.named_children:
                if node_text(declarator.child_by_field_name("name")) != wanted:
                    continue
                value = declarator.child_by_field_name("value")
                if value is None or key is None:
                    return value
                return _property(unwrap(value), key, wanted, scope)
    return None


def _scopes(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        if parent.type in ("statement_block", "program"):
            yield parent
        parent = parent.parent


def _property(value: Node, key: str, owner: str, scope: Node) -> Node | None:
    if value.type != "object":
        return None
    root = scope
    while root.parent is not None:
        root = root.parent
    assigned = rf"\b{re.escape(owner)}\s*\.\s*{re.escape(key)}\s*[-+]?=(?!=)"
    if re.search(assigned, node_text(root)):
        return None
    for pair in value.named_children:
        if pair.type == "pair" and node_text(pair.child_by_field_name("key")) == key:
            return pair.child_by_field_name("value")
    return None


def statement_span(node: Node, lineage: Iterable[Node]) -> Node:
    for parent in lineage:
        if parent.type not in STATEMENT_PARTS:
            break
        node = parent
    return node


def is_awaited(lineage: Iterable[Node]) -> bool:
    for parent in lineage:
        if parent.type == "await_expression":
            return True
        if parent.type not in WRAPPERS:
            return False
    return False


def is_stored(lineage: Iterable[Node]) -> bool:
    """True when the value below `lineage` goes into a variable, field or object property."""
    for parent in lineage:
        if parent.type in ("variable_declarator", "assignment_expression", "pair"):
            return True
        if parent.type == "public_field_definition":
            return True
        if parent.type not in WRAPPERS and parent.type != "await_expression":
            return False
    return False


def function_name(node: Node) -> str | None:
    name = node.child_by_field_name("name")
    if name is not None:
        return node_text(name)
    if node.type not in ("arrow_function", "function_expression", "function"):
        return None
    holder = node.parent
    while holder is not None and holder.type in WRAPPERS:
        holder = holder.parent
    if holder is None:
        return None
    if holder.type in ("variable_declarator", "public_field_definition"):
        target = holder.child_by_field_name("name")
    elif holder.type == "assignment_expression":
        target = holder.child_by_field_name("left")
    elif holder.type == "pair":
        target = holder.child_by_field_name("key")
    else:
        return None
    if target is None:
        return None
    segments = member_segments(target)
    return segments[-1] if segments else node_text(target).strip("'\"")


def enclosing(lineage: Iterable[Node]) -> tuple[str | None, str | None]:
    """The nearest named function (anonymous callbacks are looked through) and class."""
    function: str | None = None
    for parent in lineage:
        if function is None and parent.type in FUNCTION_KINDS:
            function = function_name(parent)
        if parent.type in CLASS_KINDS:
            name = parent.child_by_field_name("name")
            return function, node_text(name) if name is not None else None
    return function, None


class Link(NamedTuple):
    """One call in a chain: `.name(args)`, or a tagged template when name is ``."""

    name: str
    call: Node
    args: Node | None

    def arg(self, index: int = 0) -> Node | None:
        if self.args is None:
            return None
        if self.args.type == "template_string":
            return self.args if index == 0 else None
        items = [child for child in self.args.named_children if child.type != "comment"]
        return items[index] if index < len(items) else None


class Chain(NamedTuple):
    """`root.a(...).b(...)`: the receiver expression and the calls made on it, outermost last."""

    root: Node
    links: tuple[Link, ...]
    outer: Node
    awaited: bool


def is_chain_inner(call: Node) -> bool:
    """True when `call` is the receiver of a further call, so an outer chain covers it."""
    node, parent = call, call.parent
    while parent is not None and parent.type in WRAPPERS:
        node, parent = parent, parent.parent
    if parent is None or parent.type != "member_expression":
        return False
    if parent.child_by_field_name("object") != node:
        return False
    callee, grand = parent, parent.parent
    # `await a.b<T>()` parses with the await inside the callee.
    if grand is not None and grand.type == "await_expression":
        callee, grand = grand, grand.parent
    return (
        grand is not None
        and grand.type == "call_expression"
        and grand.child_by_field_name("function") == callee
    )


def decompose(outer: Node) -> Chain | None:
    links: list[Link] = []
    awaited = False
    node = outer
    while node.type == "call_expression":
        callee = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if callee is None:
            return None
        if callee.type == "await_expression":
            awaited = True
            inner = first_named(callee)
            if inner is None:
                return None
            callee = inner
        callee = unwrap(callee)
        if callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            obj = callee.child_by_field_name("object")
            if prop is None or obj is None:
                return None
            links.append(Link(node_text(prop), node, args))
            node = unwrap(obj)
            continue
        if args is not None and args.type == "template_string":
            links.append(Link(TAG, node, args))
            node = callee
        break
    if not links:
        return None
    links.reverse()
    return Chain(node, tuple(links), outer, awaited)


def shape(root: str, links: Sequence[Link]) -> str:
    out = root
    for index, link in enumerate(links):
        if link.name == TAG:
            out += TAG
        else:
            out += f".{link.name}" + ("" if index == len(links) - 1 else "()")
    return out


def exec_index(
    links: Sequence[Link], start: int, modifiers: frozenset[str], terminals: frozenset[str]
) -> int | None:
    """Index of the first call that runs the statement, looking through modifiers only."""
    for index in range(start, len(links)):
        if links[index].name in terminals:
            return index
        if links[index].name not in modifiers:
            return None
    return None


def function_args(links: Iterable[Link]) -> Iterator[Node]:
    for link in links:
        if link.args is None or link.args.type != "arguments":
            continue
        for child in link.args.named_children:
            if child.type in ("arrow_function", "function_expression", "function"):
                yield child


def first_param(function: Node) -> Node | None:
    single = function.child_by_field_name("parameter")
    if single is not None:
        return single
    params = function.child_by_field_name("parameters")
    first = first_named(params) if params is not None else None
    pattern = first.child_by_field_name("pattern") if first is not None else None
    return pattern if pattern is not None and pattern.type == "identifier" else None


def fragment_text(node: Node | None) -> str | None:
    """SQL of a Drizzle/Kysely fragment: sql`...`, sql.raw('...') or a plain literal."""
    if node is None:
        return None
    node = unwrap(node)
    if node.type == "call_expression":
        args = node.child_by_field_name("arguments")
        if args is not None and args.type == "template_string":
            return literal_text(args)
        first = first_named(args) if args is not None else None
        callee = node.child_by_field_name("function")
        if callee is not None and node_text(callee).endswith(".raw") and first is not None:
            return literal_text(first)
        return None
    return literal_text(node)


def is_object(node: Node | None) -> bool:
    return node is not None and unwrap(node).type == "object"


def binding_root(segments: list[str]) -> str:
    return ".".join(segments[:2]) if segments[0] == "this" else segments[0]


def literal_arg(link: Link) -> str | None:
    arg = link.arg()
    return literal_text(arg) if arg is not None else None
