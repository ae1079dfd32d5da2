"""Glob patterns over POSIX relative paths, with `**` spanning folders (as in .gitignore)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

GLOB_CHARS = frozenset("*?[")


def has_magic(pattern: str) -> bool:
    return any(c in GLOB_CHARS for c in pattern)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(
                    "[^/]" if not body else f"[{'^' + body[1:] if body[0] == '!' else body}]"
                )
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    if pattern.endswith("/"):
        body += ".*"
    # As in .gitignore: a pattern with no slash but a trailing one matches at any depth.
    prefix = "" if "/" in pattern.rstrip("/") else "(?:.*/)?"
    return re.compile(prefix + body)


def matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    compiled = [_compile(p) for p in patterns]
    return lambda path: any(rx.fullmatch(path) for rx in compiled)
