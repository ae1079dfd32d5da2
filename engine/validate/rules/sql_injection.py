"""VQ403 SQL injection: a run-time value spliced into SQL text instead of bound."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engine.validate.rules.py_nodes import (
    concat_operands,
    format_parts,
    is_constant,
    literal,
    name_of,
)
from engine.validate.rules.rule import Rule
from engine.validate.rules.sql_values import splices_sql_value
from engine.validate.rules.ts_nodes import (
    LOGGERS,
    in_log_or_error,
    last_row,
    literal_text,
    occurrences,
    row,
    template_parts,
)
from engine.validate.rules.ts_nodes import (
    concat_operands as ts_concat_operands,
)
from engine.validate.rules.ts_nodes import (
    is_constant as ts_is_constant,
)

if TYPE_CHECKING:
    from tree_sitter import Node

    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_SQL_WORDS = (b"select", b"insert", b"update", b"delete", b"replace", b"with")
_SPACE_BYTES = frozenset(b" \t\r\n")
_QUOTE_BYTES = frozenset(b"\"'`")
_MESSAGE = "SQL with a run-time value spliced in by {how}: injection risk; bind it as a parameter"


def _opens_literal(source: bytes, start: int, size: int) -> bool:
    """Whether the word at `start` is the first word of a string or template literal."""
    if start + size >= len(source) or source[start + size] not in _SPACE_BYTES:
        return False
    before = start - 1
    while before >= 0 and source[before] in _SPACE_BYTES:
        before -= 1
    return before >= 0 and source[before] in _QUOTE_BYTES


def _finding(node: Node, how: str, out: Analysis) -> None:
    out.add(RULE, row(node), _MESSAGE.format(how=how), last_row(node))


def _template(node: Node, out: Analysis) -> None:
    parent = node.parent
    if (
        parent is not None
        and parent.type == "call_expression"
        and parent.child_by_field_name("arguments") == node
    ):
        return  # a tagged template (sql`...`) binds its values as parameters
    if splices_sql_value(template_parts(node)) and not in_log_or_error(node):
        _finding(node, "template interpolation", out)


def _concat(node: Node, out: Analysis) -> None:
    top = node
    while top.parent is not None and top.parent.type in (
        "binary_expression",
        "parenthesized_expression",
    ):
        top = top.parent
    if top == node:
        return
    operands = ts_concat_operands(top)
    if not operands or operands[0] != node:
        return
    parts = [literal_text(o) or ("x" if ts_is_constant(o) else None) for o in operands]
    if splices_sql_value(parts) and not in_log_or_error(top):
        _finding(top, "string concatenation", out)


def _typescript(src: TsSource, out: Analysis) -> None:
    lowered = src.lowered
    seen: set[int] = set()
    for word in _SQL_WORDS:
        for start in occurrences(lowered, word):
            if not _opens_literal(lowered, start, len(word)):
                continue
            fragment = src.at(start, start + len(word))
            literal_node = fragment.parent if fragment is not None else None
            if fragment is None or literal_node is None or fragment.type != "string_fragment":
                continue
            if literal_node.id in seen or not literal_node.named_children:
                continue
            seen.add(literal_node.id)
            # Only a literal that opens with the keyword can be a statement.
            if literal_node.named_children[0] != fragment:
                continue
            if literal_node.type == "template_string":
                _template(literal_node, out)
            elif literal_node.type == "string":
                _concat(literal_node, out)


def _in_log_or_raise(src: PySource, node: ast.AST) -> bool:
    for parent in src.ancestors(node):
        if isinstance(parent, ast.Raise):
            return True
        if isinstance(parent, ast.Call):
            name = name_of(parent.func)
            head = name.split(".", 1)[0]
            if (
                head in LOGGERS
                or head in ("print", "logging")
                or name.endswith(("Error", "Exception"))
            ):
                return True
        if isinstance(parent, ast.stmt):
            return False
    return False


def _slots(src: PySource, node: ast.expr, parts: list[str | None], how: str, out: Analysis) -> None:
    if None in parts and splices_sql_value(parts) and not _in_log_or_raise(src, node):
        out.add(RULE, node.lineno, _MESSAGE.format(how=how), node.end_lineno or node.lineno)


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
                template = literal(node.func.value)
                values = [*node.args, *(k.value for k in node.keywords)]
                if template is not None and not all(map(is_constant, values)):
                    _slots(src, node, format_parts(template), "str.format", out)
        elif isinstance(node, ast.JoinedStr):
            parts: list[str | None] = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                elif isinstance(value, ast.FormattedValue):
                    parts.append("x" if is_constant(value.value) else None)
            _slots(src, node, parts, "an f-string", out)
        elif isinstance(node, ast.BinOp):
            _python_binop(src, node, out)


def _python_binop(src: PySource, node: ast.BinOp, out: Analysis) -> None:
    if isinstance(node.op, ast.Mod):
        template = literal(node.left)
        if template is not None and not is_constant(node.right):
            _slots(src, node, format_parts(template), "%-formatting", out)
        return
    parent = src.parents.get(id(node))
    outermost = not (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add))
    if isinstance(node.op, ast.Add) and outermost:
        operands = concat_operands(node)
        if literal(operands[0]) is not None:
            parts = [
                literal(o) if literal(o) is not None else ("x" if is_constant(o) else None)
                for o in operands
            ]
            _slots(src, node, parts, "string concatenation", out)


RULE = Rule(
    code="VQ403",
    name="sql-injection",
    kind="SECURITY_RISK",
    summary="SQL built with a run-time value spliced into a value position",
    doc="""\
Flags SQL text (a string or template that opens with SELECT, INSERT, UPDATE, DELETE, REPLACE
or WITH) with a run-time value spliced into a value position: `= ${id}`, `IN (${ids})`,
`LIKE '%${q}%'`, `LIMIT ${n}`, `'` + name + `'`; in Python f-strings, %-formatting,
str.format and concatenation.

Why: a value spliced into SQL is an injection; bound parameters are not. A table or column
name, a query builder's WHERE fragment, a list of `?` marks, a tagged sql`` template, and SQL
in a log or error message are SQL text chosen by the program and pass.

Example:
    db.prepare(`SELECT * FROM users WHERE id = ${id}`);
""",
    typescript=_typescript,
    python=_python,
)
