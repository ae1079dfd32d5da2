"""VQ502 constant comparison: a comparison whose result never changes."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import LITERAL_TYPES, occurrences, row, text

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_EQUALITY = frozenset({"===", "==", "!==", "!="})
_TYPEOF_RESULTS = frozenset(
    {"string", "number", "bigint", "boolean", "symbol", "undefined", "object", "function"}
)


def _equalities(src: TsSource, out: Analysis) -> None:
    source = src.source
    for at in occurrences(source, b"==", whole=False):
        if at > 0 and source[at - 1] == ord("="):
            continue
        start = at - 1 if at > 0 and source[at - 1] == ord("!") else at
        end = at + 3 if source[at + 2 : at + 3] == b"=" else at + 2
        token = src.token(start, source[start:end])
        expression = token.parent if token is not None else None
        if expression is None or expression.type != "binary_expression":
            continue
        left = expression.child_by_field_name("left")
        right = expression.child_by_field_name("right")
        if left is None or right is None:
            continue
        shown = text(expression)[:60]
        # An escape against its character ("Ā" !== "\u0100") tests how the file was decoded.
        if (
            left.type in LITERAL_TYPES
            and right.type in LITERAL_TYPES
            and b"\\" not in (left.text or b"") + (right.text or b"")
        ):
            out.add(
                RULE, row(expression), f"`{shown}` compares two literals: the result never changes"
            )
        elif (
            start == at  # `x !== x` is the NaN test: left alone
            and left.type in ("identifier", "member_expression")
            and left.type == right.type
            and left.text == right.text
        ):
            out.add(
                RULE,
                row(expression),
                f"`{shown}` compares a value with itself: always true "
                "(for a NaN test write !Number.isNaN(x))",
            )


def _typeofs(src: TsSource, out: Analysis) -> None:
    for start in occurrences(src.source, b"typeof"):
        token = src.token(start, b"typeof", "typeof")
        unary = token.parent if token is not None else None
        expression = unary.parent if unary is not None else None
        if unary is None or expression is None or expression.type != "binary_expression":
            continue
        op = expression.child_by_field_name("operator")
        if op is None or op.type not in _EQUALITY:
            continue
        left = expression.child_by_field_name("left")
        right = expression.child_by_field_name("right")
        other = right if left == unary else left
        if other is None or other.type != "string":
            continue
        value = text(other)[1:-1]
        if value not in _TYPEOF_RESULTS:
            out.add(
                RULE, row(other), f"typeof never returns {value!r}: the comparison never changes"
            )


def _typescript(src: TsSource, out: Analysis) -> None:
    _equalities(src, out)
    _typeofs(src, out)


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        left, right, op = node.left, node.comparators[0], node.ops[0]
        simple = (ast.Name, ast.Attribute)
        if (
            isinstance(left, simple)
            and isinstance(right, simple)
            and isinstance(op, ast.Eq | ast.Is | ast.Lt | ast.Gt)
            and ast.dump(left) == ast.dump(right)
        ):
            out.add(
                RULE,
                node.lineno,
                f"`{ast.unparse(node)[:60]}` compares a value with itself: the result "
                "never changes; for a NaN test write math.isnan(x)",
            )
        elif isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
            out.add(
                RULE,
                node.lineno,
                f"`{ast.unparse(node)[:60]}` compares two literals: the result never changes",
            )


RULE = Rule(
    code="VQ502",
    name="constant-comparison",
    kind="LOGIC_ERROR",
    summary="a comparison of two literals, of a value with itself, or of typeof with a typo",
    doc="""\
Flags `1 === 1`, `x === x` (with a hint for the NaN test), and `typeof v === "undefnied"`
(a string typeof never returns); in Python `x == x`, `x is x` and `1 == 1`.

Why: a comparison whose result never changes is a typo or a leftover, and the branch it
guards always or never runs. `x !== x` is the NaN test and passes.

Example:
    if (typeof value === "strnig") { ... }
""",
    typescript=_typescript,
    python=_python,
)
