"""VQ204 stub body: a Python function whose body is only `pass` or `...`."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engine.validate.rules.py_nodes import functions, is_filler, real_statements
from engine.validate.rules.rule import Rule

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource

__all__ = ["RULE"]


def _python(src: PySource, out: Analysis) -> None:
    if src.tree is None:
        return
    for name, fn in functions(src.tree):
        if real_statements(fn.body) or id(fn) in src.emptied or id(fn) in src.abstract:
            continue
        filler = [s for s in fn.body if is_filler(s)]
        if not filler:
            continue
        word = "pass" if isinstance(filler[0], ast.Pass) else "..."
        out.add(
            RULE,
            filler[0].lineno,
            f"`{name}` has only `{word}` for a body: the implementation is missing",
        )


RULE = Rule(
    code="VQ204",
    name="stub-body",
    kind="INCOMPLETE_CODE",
    summary="a Python function whose body is only `pass` or `...`",
    doc="""\
Flags a Python function whose body, after its docstring, holds only `pass` or `...`.

Why: a stub keeps the module importable while the work is missing. Functions under
@abstractmethod or @overload, and members of a Protocol class, are declarations and pass.
TypeScript is not judged this way: `noop() {}` is a common, deliberate empty body, so an empty
TypeScript body only counts against an original that had code (VQ203).

Example:
    def charge(order):
        pass
""",
    python=_python,
)
