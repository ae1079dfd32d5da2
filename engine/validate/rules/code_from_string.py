"""VQ402 code from a string: eval, new Function, exec."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engine.validate.rules.py_nodes import name_of
from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import occurrences, row, text

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_EVAL_HOLDERS = frozenset({"window", "globalThis", "self", "global"})


def _eval_at(src: TsSource, start: int, out: Analysis) -> None:
    node = src.token(start, b"eval")
    if node is None or node.type not in ("identifier", "property_identifier"):
        return
    callee = node
    if node.type == "property_identifier":
        member = node.parent
        holder = member.child_by_field_name("object") if member is not None else None
        if member is None or holder is None or text(holder) not in _EVAL_HOLDERS:
            return
        callee = member
    call = callee.parent
    if (
        call is not None
        and call.type == "call_expression"
        and (call.child_by_field_name("function") == callee)
    ):
        out.add(RULE, row(call), f"`{text(call)[:40]}` runs code built from a string")


def _function_constructor_at(src: TsSource, start: int, out: Analysis) -> None:
    node = src.token(start, b"Function", "identifier")
    call = node.parent if node is not None else None
    if node is None or call is None:
        return
    if (call.type == "new_expression" and call.child_by_field_name("constructor") == node) or (
        call.type == "call_expression" and call.child_by_field_name("function") == node
    ):
        out.add(RULE, row(call), f"`{text(call)[:40]}` runs code built from a string")


def _typescript(src: TsSource, out: Analysis) -> None:
    for start in occurrences(src.source, b"eval(", whole=False):
        _eval_at(src, start, out)
    for start in occurrences(src.source, b"Function(", whole=False):
        _function_constructor_at(src, start, out)


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if isinstance(node, ast.Call):
            name = name_of(node.func)
            if name in ("eval", "exec"):
                out.add(RULE, node.lineno, f"`{name}()` runs code built from a string")


RULE = Rule(
    code="VQ402",
    name="code-from-string",
    kind="SECURITY_RISK",
    summary="eval, new Function or exec: code built from a string",
    doc="""\
Flags calls of `eval` (bare or on window/globalThis/self/global), `new Function(...)` and
`Function(...)`, and Python's `eval()` and `exec()`.

Why: code run from a string escapes type checking and review, and is the usual way an
injected value becomes executed code. `obj.eval()` on an object of our own is not flagged.

Example:
    const result = eval(userExpression);
""",
    typescript=_typescript,
    python=_python,
)
