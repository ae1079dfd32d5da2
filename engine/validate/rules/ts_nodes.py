"""Reading tree-sitter nodes of TypeScript and JavaScript: texts, lines, literals, constants,
and the places around a node (what holds it, whether it is a message)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.syntax.kinds import node_text

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = [
    "LITERAL_TYPES",
    "WORD_BYTES",
    "concat_operands",
    "holder",
    "in_log_or_error",
    "is_constant",
    "last_row",
    "literal_text",
    "occurrences",
    "row",
    "template_parts",
    "text",
]

WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
LITERAL_TYPES = frozenset({"number", "string", "true", "false", "null"})
CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
LOGGERS = frozenset({"console", "logger", "log", "debug"})
_ASSIGNMENT_FIELDS = {
    "variable_declarator": ("name", "value"),
    "pair": ("key", "value"),
    "assignment_expression": ("left", "right"),
    "public_field_definition": ("name", "value"),
}

text = node_text


def row(node: Node) -> int:
    return node.start_point.row + 1


def last_row(node: Node) -> int:
    return node.end_point.row + 1


def occurrences(source: bytes, word: bytes, *, whole: bool = True) -> Iterator[int]:
    """Offsets of `word` in `source`; with `whole`, only where it is not part of a longer name."""
    size = len(word)
    at = source.find(word)
    while at >= 0:
        if not whole or (
            (at == 0 or source[at - 1] not in WORD_BYTES)
            and (at + size >= len(source) or source[at + size] not in WORD_BYTES)
        ):
            yield at
        at = source.find(word, at + size)


def literal_text(node: Node) -> str | None:
    """A string literal's content, or a template's when it has no substitutions."""
    if node.type == "string":
        return text(node)[1:-1]
    if node.type == "template_string" and not any(
        c.type == "template_substitution" for c in node.named_children
    ):
        return text(node)[1:-1]
    return None


def is_constant(node: Node) -> bool:
    """A literal, an UPPER_CASE name, or placeholders built from literals
    (`ids.map(() => "?").join(", ")`, `Array(n).fill("?").join()`, `"?, ".repeat(n)`)."""
    kind = node.type
    if kind in LITERAL_TYPES:
        return True
    if kind == "identifier":
        return CONSTANT_NAME.match(text(node)) is not None
    if kind == "member_expression":
        prop = node.child_by_field_name("property")
        return prop is not None and CONSTANT_NAME.match(text(prop)) is not None
    if kind == "array":
        return all(is_constant(c) for c in node.named_children if c.type != "comment")
    if kind == "arrow_function":
        body = node.child_by_field_name("body")
        return body is not None and is_constant(body)
    if kind != "call_expression":
        return False
    callee = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    if callee is None or args is None or callee.type != "member_expression":
        return False
    method = callee.child_by_field_name("property")
    receiver = callee.child_by_field_name("object")
    values = [a for a in args.named_children if a.type != "comment"]
    name = text(method) if method is not None else ""
    if name in ("map", "fill"):
        return bool(values) and is_constant(values[0])
    if name in ("join", "repeat") and receiver is not None:
        return is_constant(receiver)
    return False


def holder(node: Node) -> tuple[Node, Node, Node | None] | None:
    """For a name inside an assignment-like node: (that node, its name part, its value)."""
    current = node
    parent = node.parent
    while parent is not None:
        fields = _ASSIGNMENT_FIELDS.get(parent.type)
        if fields is not None:
            name = parent.child_by_field_name(fields[0])
            if name is None or name != current:
                return None
            return parent, name, parent.child_by_field_name(fields[1])
        if parent.type not in ("member_expression", "string", "subscript_expression"):
            return None
        current, parent = parent, parent.parent
    return None


def in_log_or_error(node: Node) -> bool:
    """True when the expression is a message: a console/logger argument or an Error's."""
    parent = node.parent
    while parent is not None and parent.type in ("parenthesized_expression", "binary_expression"):
        parent = parent.parent
    if parent is None:
        return False
    if parent.type == "throw_statement":
        return True
    call = parent.parent if parent.type == "arguments" else None
    if call is None:
        return False
    callee = call.child_by_field_name("function") or call.child_by_field_name("constructor")
    if callee is None:
        return False
    name = text(callee)
    return name.split(".", 1)[0] in LOGGERS or name.endswith(("Error", "Exception"))


def template_parts(node: Node) -> list[str | None]:
    """A template's text, with None for each substitution that is not a constant."""
    parts: list[str | None] = []
    cursor = node.start_byte + 1
    for child in node.named_children:
        if child.type != "template_substitution":
            continue
        parts.append(_text_between(node, cursor, child.start_byte))
        constant = all(is_constant(e) for e in child.named_children)
        parts.append("x" if constant else None)
        cursor = child.end_byte
    parts.append(_text_between(node, cursor, node.end_byte - 1))
    return parts


def _text_between(node: Node, start: int, end: int) -> str:
    data = node.text or b""
    return data[start - node.start_byte : end - node.start_byte].decode("utf-8", "replace")


def concat_operands(node: Node) -> list[Node] | None:
    """The operands of a chain of `+`, left to right; None when another operator joins them."""
    operands: list[Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if current.type == "parenthesized_expression" and current.named_children:
            current = current.named_children[0]
        if current.type == "binary_expression":
            op = current.child_by_field_name("operator")
            left = current.child_by_field_name("left")
            right = current.child_by_field_name("right")
            if op is None or op.type != "+" or left is None or right is None:
                return None
            pending += (right, left)
        else:
            operands.append(current)
    return operands
