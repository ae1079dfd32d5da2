"""Unified diffs of whole-file changes, `git apply`-compatible (a/ and b/ prefixes)."""

from __future__ import annotations

import difflib


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    # Split on "\n" only: str.splitlines also breaks on \x0c and \u2028, which git does not.
    parts = data.decode("utf-8", "surrogateescape").split("\n")
    tail = parts.pop()
    return [p + "\n" for p in parts] + ([tail] if tail else [])


def unified_diff(path: str, old: bytes | None, new: bytes | None, context: int = 3) -> str:
    a, b = _lines(old), _lines(new)
    fromfile = "/dev/null" if old is None else f"a/{path}"
    tofile = "/dev/null" if new is None else f"b/{path}"
    out: list[str] = []
    for line in difflib.unified_diff(a, b, fromfile, tofile, n=context):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    header = f"diff --git a/{path} b/{path}\n"
    if old is None:
        header += "new file mode 100644\n"
    elif new is None:
        header += "deleted file mode 100644\n"
    return header + "".join(out) if out else ""
