"""VQ503 constant condition: `if (true)`, `if (false)`, `while (false)`."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import occurrences, row

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]


def _typescript(src: TsSource, out: Analysis) -> None:
    for word in (b"true", b"false"):
        for start in occurrences(src.source, word):
            token = src.token(start, word, word.decode())
            wrapper = token.parent if token is not None else None
            statement = wrapper.parent if wrapper is not None else None
            if wrapper is None or statement is None:
                continue
            if wrapper.type != "parenthesized_expression":
                continue
            # `while (true)` is a deliberate loop; `while (false)` never runs.
            if statement.type == "if_statement" or (
                statement.type == "while_statement" and word == b"false"
            ):
                keyword = statement.type.removesuffix("_statement")
                out.add(
                    RULE,
                    row(wrapper),
                    f"`{keyword} ({word.decode()})` has a constant condition: "
                    "its branch always or never runs",
                )


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Constant)
            and isinstance(node.test.value, bool)
        ):
            out.add(
                RULE,
                node.lineno,
                f"`if {node.test.value}:` has a constant condition: "
                "its branch always or never runs",
            )
        elif (
            isinstance(node, ast.While)
            and isinstance(node.test, ast.Constant)
            and node.test.value is False
        ):
            out.add(RULE, node.lineno, "`while False:` never runs its body")


RULE = Rule(
    code="VQ503",
    name="constant-condition",
    kind="LOGIC_ERROR",
    summary="`if (true)`, `if (false)` or `while (false)`: a branch that always or never runs",
    doc="""\
Flags an `if` whose condition is the literal true or false, and a `while (false)` loop; in
Python `if True:`, `if False:` and `while False:`. `while (true)` and `do ... while (false)`
are deliberate idioms and pass.

Why: a constant condition is debugging left behind, or a way to switch code off without
deleting it, and either way the code does not do what it reads as.

Example:
    if (true) {
      sendInvoice(order);
    }
""",
    typescript=_typescript,
    python=_python,
)
