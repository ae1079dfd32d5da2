"""Relative-import math: the `./` or `../` path from one source file to another."""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

__all__ = ["import_specifier", "relative_path"]


def relative_path(to_file: PurePosixPath, from_dir: PurePosixPath) -> str:
    """The slash path from folder `from_dir` to `to_file`, "." when they are the same.

    Both must be anchored alike (both relative to one root, or both absolute): a path that
    climbs above its root cannot be related to anything, so that raises ValueError.
    """
    to_parts = PurePosixPath(posixpath.normpath(str(to_file))).parts
    from_parts = PurePosixPath(posixpath.normpath(str(from_dir))).parts
    if to_file.is_absolute() != from_dir.is_absolute() or ".." in from_parts[:1]:
        raise ValueError(f"cannot relate {to_file} to {from_dir}: anchored differently")
    common = 0
    for left, right in zip(to_parts, from_parts, strict=False):
        if left != right:
            break
        common += 1
    return "/".join([".."] * (len(from_parts) - common) + list(to_parts[common:])) or "."


def import_specifier(from_file: str, to_file: str) -> str:
    """The extensionless relative specifier a `.ts` file at `from_file` imports `to_file` by."""
    stem = to_file.removesuffix(".ts")
    rel = posixpath.relpath(stem, posixpath.dirname(from_file) or ".")
    return rel if rel.startswith(".") else f"./{rel}"
