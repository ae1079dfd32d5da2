"""VQ501 unreachable code: a statement after return, throw, break or continue."""

from __future__ import annotations

import ast
import itertools
from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import occurrences, row

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_JUMP_WORDS = (b"return", b"throw", b"break", b"continue")
_BLOCKS = frozenset({"statement_block", "switch_case", "switch_default"})
# Declarations that are hoisted or only types: placing them after a return is legal and common.
_HOISTED = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "ambient_declaration",
        "empty_statement",
    }
)
_PY_JUMPS = (ast.Return, ast.Raise, ast.Break, ast.Continue)
_MESSAGE = "unreachable code: this statement follows a `{keyword}` in the same block"


def _typescript(src: TsSource, out: Analysis) -> None:
    for word in _JUMP_WORDS:
        kind = word.decode()
        for start in occurrences(src.source, word):
            token = src.token(start, word, kind)
            statement = token.parent if token is not None else None
            if statement is None or statement.type != f"{kind}_statement":
                continue
            if statement.parent is None or statement.parent.type not in _BLOCKS:
                continue
            following = statement.next_named_sibling
            while following is not None and following.type == "comment":
                following = following.next_named_sibling
            if following is None or following.type in _HOISTED:
                continue
            out.add(RULE, row(following), _MESSAGE.format(keyword=kind))


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(node, name, None)
            if not isinstance(stmts, list):
                continue
            for prev, stmt in itertools.pairwise(stmts):
                if isinstance(prev, _PY_JUMPS):
                    out.add(RULE, stmt.lineno, _MESSAGE.format(keyword=type(prev).__name__.lower()))
                    break


RULE = Rule(
    code="VQ501",
    name="unreachable-code",
    kind="LOGIC_ERROR",
    summary="a statement after return, throw, break or continue in the same block",
    doc="""\
Flags the first statement that follows a `return`, `throw`, `break` or `continue` in the same
block (Python: `return`, `raise`, `break`, `continue`). Hoisted function declarations and
type-only declarations after a return are legal and pass.

Why: code that can never run usually means a change put an early return in the wrong place,
or left the old code behind after the new one.

Example:
    return total;
    console.log("done");
""",
    typescript=_typescript,
    python=_python,
)
