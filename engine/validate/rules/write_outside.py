"""VQ405 write outside the workspace: a file write to an absolute or escaping path."""

from __future__ import annotations

import ast
import posixpath
import re
from typing import TYPE_CHECKING

from engine.validate.rules.py_nodes import literal, name_of
from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import WORD_BYTES, literal_text, occurrences, row, text

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE", "outside_workspace"]

_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")
_WRITE_FUNCTIONS = str.split(
    "writeFile writeFileSync appendFile appendFileSync createWriteStream outputFile"
    " outputFileSync write copyFile copyFileSync cp cpSync rename renameSync rm rmSync"
    " unlink unlinkSync mkdir mkdirSync"
)
# The destination is the second argument of these; the first for the rest.
_SECOND_ARG_IS_TARGET = frozenset(
    {"copyFile", "copyFileSync", "cp", "cpSync", "rename", "renameSync"}
)
_PY_WRITE_MODES = frozenset("wax+")


def outside_workspace(literal_path: str, file_path: str) -> bool:
    """Whether a path written in `file_path` (workspace-relative) leaves the workspace."""
    p = literal_path.replace("\\", "/")
    if not p:
        return False
    if p.startswith(("/", "~")) or _WINDOWS_ABSOLUTE.match(literal_path):
        return True
    if ".." not in p.split("/"):
        return False
    base = file_path.replace("\\", "/")
    folder = "" if base.startswith("/") else posixpath.dirname(base)
    joined = posixpath.normpath(posixpath.join(folder, p))
    return joined == ".." or joined.startswith("../")


def _write_at(src: TsSource, start: int, name: str, out: Analysis) -> None:
    node = src.at(start, start + len(name))
    if node is None or node.type not in ("identifier", "property_identifier"):
        return
    callee = node.parent if node.type == "property_identifier" else node
    if callee is None:
        return
    if name == "write" and text(callee) != "Bun.write":
        return
    call = callee.parent
    if call is None or call.type != "call_expression":
        return
    if call.child_by_field_name("function") != callee:
        return
    args = call.child_by_field_name("arguments")
    values = [a for a in args.named_children if a.type != "comment"] if args else []
    index = 1 if name in _SECOND_ARG_IS_TARGET else 0
    if len(values) <= index:
        return
    target = literal_text(values[index])
    if target is not None and outside_workspace(target, src.path):
        out.add(RULE, row(call), f"`{name}` writes to {target!r}, outside the workspace")


def _typescript(src: TsSource, out: Analysis) -> None:
    source = src.source
    # Every write API named here comes from an `fs` module or is Bun.write.
    if b"fs" not in source and b"Bun.write" not in source:
        return
    for name in _WRITE_FUNCTIONS:
        # Formatted code puts no space between a callee and its `(`.
        for start in occurrences(source, name.encode() + b"(", whole=False):
            if start == 0 or source[start - 1] not in WORD_BYTES:
                _write_at(src, start, name, out)


def _python_target(node: ast.Call) -> str | None:
    name = name_of(node.func)
    if name == "open" and node.args:
        mode_node = node.args[1] if len(node.args) > 1 else None
        for keyword in node.keywords:
            if keyword.arg == "mode":
                mode_node = keyword.value
        mode = literal(mode_node) if mode_node is not None else None
        if mode is not None and _PY_WRITE_MODES.intersection(mode):
            return literal(node.args[0])
    elif isinstance(node.func, ast.Attribute) and node.func.attr in ("write_text", "write_bytes"):
        holder = node.func.value
        if isinstance(holder, ast.Call) and name_of(holder.func).endswith("Path"):
            return literal(holder.args[0]) if holder.args else None
    return None


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        if not isinstance(node, ast.Call):
            continue
        target = _python_target(node)
        if target is not None and outside_workspace(target, src.path):
            out.add(RULE, node.lineno, f"writes to {target!r}, outside the workspace")


RULE = Rule(
    code="VQ405",
    name="write-outside-workspace",
    kind="SECURITY_RISK",
    summary="a file write to an absolute path or one that climbs out of the workspace",
    doc="""\
Flags fs writes (writeFile, appendFile, createWriteStream, copyFile, rename, rm, mkdir...),
Bun.write, and Python `open(..., "w")` and `Path(...).write_text`, whose target is a literal
absolute path, a home path, or a relative path that climbs above the workspace root from the
file's own folder.

Why: an agent's code should change the project, not the machine it runs on.

Example:
    await fs.writeFile("/etc/app.conf", settings);
""",
    typescript=_typescript,
    python=_python,
)
