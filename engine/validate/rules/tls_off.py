"""VQ404 TLS verification off: certificates or host names no longer checked."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import holder, literal_text, occurrences, row, text

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_OPTION = b"rejectUnauthorized"
_ENV = b"NODE_TLS_REJECT_UNAUTHORIZED"


def _typescript(src: TsSource, out: Analysis) -> None:
    for start in occurrences(src.source, _OPTION):
        node = src.at(start, start + len(_OPTION))
        held = holder(node) if node is not None else None
        if held is None or held[0].type != "pair" or held[2] is None:
            continue
        if held[2].type == "false":
            out.add(
                RULE,
                row(held[0]),
                "`rejectUnauthorized: false` turns off TLS certificate verification",
            )
    for start in occurrences(src.source, _ENV):
        node = src.at(start, start + len(_ENV))
        held = holder(node) if node is not None else None
        if held is None or held[2] is None:
            continue
        if (literal_text(held[2]) or text(held[2])) == "0":
            out.add(
                RULE,
                row(held[0]),
                "NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS certificate verification",
            )


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if (
                    keyword.arg == "verify"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is False
                ):
                    out.add(
                        RULE, node.lineno, "`verify=False` turns off TLS certificate verification"
                    )
        elif isinstance(node, ast.Attribute):
            if node.attr == "_create_unverified_context":
                out.add(
                    RULE,
                    node.lineno,
                    "ssl._create_unverified_context turns off TLS certificate verification",
                )
            elif node.attr == "CERT_NONE":
                out.add(RULE, node.lineno, "CERT_NONE turns off TLS certificate verification")
        elif isinstance(node, ast.Name) and node.id == "CERT_NONE":
            out.add(RULE, node.lineno, "CERT_NONE turns off TLS certificate verification")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "check_hostname"
                    and isinstance(node.value, ast.Constant)
                    and node.value.value is False
                ):
                    out.add(
                        RULE,
                        node.lineno,
                        "`check_hostname = False` turns off TLS host name verification",
                    )


RULE = Rule(
    code="VQ404",
    name="tls-verification-off",
    kind="SECURITY_RISK",
    summary="TLS certificate or host name verification turned off",
    doc="""\
Flags `rejectUnauthorized: false`, `NODE_TLS_REJECT_UNAUTHORIZED = "0"`, and in Python
`verify=False`, `ssl._create_unverified_context`, `CERT_NONE` and `check_hostname = False`.

Why: turning verification off "to make it work" lets anyone on the path read and change the
traffic, and it tends to stay in place once it ships.

Example:
    const agent = new https.Agent({ rejectUnauthorized: false });
""",
    typescript=_typescript,
    python=_python,
)
