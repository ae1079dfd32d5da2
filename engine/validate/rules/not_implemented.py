"""VQ202 not implemented: a throw or raise that says the implementation is missing."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from engine.validate.rules.py_nodes import literal, name_of
from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import last_row, occurrences, row, text

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["NOT_IMPLEMENTED", "RULE"]

# Markers count only in capitals: "todo 42 not found" is a message about a to-do item.
NOT_IMPLEMENTED = re.compile(
    r"(?i:\bnot\s*(?:yet\s+)?implemented|\bunimplemented\b|\bimplement\s+me\b|\bstub\b)"
    r"|\bTODO\b|\bFIXME\b"
)
_NOT_IMPLEMENTED_BYTES = re.compile(NOT_IMPLEMENTED.pattern.encode())


def _typescript(src: TsSource, out: Analysis) -> None:
    for start in occurrences(src.source, b"throw"):
        # Most throws carry a real message: read a window before asking the tree.
        if not _NOT_IMPLEMENTED_BYTES.search(src.source, start, start + 300):
            continue
        token = src.token(start, b"throw", "throw")
        statement = token.parent if token is not None else None
        if statement is None or statement.type != "throw_statement":
            continue
        value = statement.named_children[0] if statement.named_children else None
        message: str | None = None
        if value is not None and value.type in ("new_expression", "call_expression"):
            callee = value.child_by_field_name("constructor") or value.child_by_field_name(
                "function"
            )
            args = value.child_by_field_name("arguments")
            first = args.named_children[0] if args is not None and args.named_children else None
            if callee is not None and NOT_IMPLEMENTED.search(text(callee)):
                message = text(callee)
            elif first is not None and first.type in ("string", "template_string"):
                message = text(first)
        elif value is not None and value.type in ("string", "template_string"):
            message = text(value)
        if message is not None and NOT_IMPLEMENTED.search(message):
            out.add(
                RULE,
                row(statement),
                f"throws {message[:60]}: the implementation is missing",
                last_row(statement),
            )


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if not isinstance(node, ast.Raise):
            continue
        exc = node.exc
        target = exc.func if isinstance(exc, ast.Call) else exc
        name = name_of(target) if target is not None else ""
        if name.rsplit(".", 1)[-1] == "NotImplementedError" and not src.in_abstract(node):
            out.add(RULE, node.lineno, "raises NotImplementedError: the implementation is missing")
        elif isinstance(exc, ast.Call) and exc.args:
            message = literal(exc.args[0])
            if message is not None and NOT_IMPLEMENTED.search(message):
                out.add(
                    RULE,
                    node.lineno,
                    f"raises {message[:60]!r}: the implementation is missing",
                )


RULE = Rule(
    code="VQ202",
    name="not-implemented",
    kind="INCOMPLETE_CODE",
    summary='a throw/raise of "not implemented" (NotImplementedError, "TODO", "stub")',
    doc="""\
Flags `throw new Error("Not implemented")`, `throw new NotImplementedError()`, and in Python
`raise NotImplementedError` or a raise whose message says not implemented, TODO or stub.

Why: a stub that throws compiles and passes review at a glance, then fails at run time.
Abstract methods, @overload and Protocol members may raise NotImplementedError.

Example:
    export function refund(id: string): Promise<void> {
      throw new Error("not implemented");
    }
""",
    typescript=_typescript,
    python=_python,
)
