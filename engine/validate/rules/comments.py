"""Comments as the rules read them: their words, where they stand, and which are worth reading."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["COMMENT_HINT", "COMMENT_HINT_BYTES", "Comment", "comment_body"]

# Anything in a comment that could start a placeholder or TODO finding; most comments have none,
# and the others are never collected.
COMMENT_HINT = re.compile(
    r"\.\.\.|…|rest|remain|unchang|untouch|previous|existing|omit|elide|same|here|brevity"
    r"|todo|fixme|xxx|as before",
    re.IGNORECASE,
)
COMMENT_HINT_BYTES = re.compile(COMMENT_HINT.pattern.encode(), re.IGNORECASE)


@dataclass(frozen=True)
class Comment:
    line: int
    last: int
    body: str
    # Code precedes it on its line: an elision marker stands on a line of its own.
    trailing: bool
    doc: bool
    # A line comment's marker ("//" or "#") when nothing precedes it on its line, else "":
    # such a comment may sit in a paragraph of line comments.
    paragraph_marker: str = ""


def comment_body(raw: str) -> tuple[str, bool]:
    """The words of a comment without its delimiters, and whether it is a doc comment."""
    if raw.startswith("#"):
        return raw.lstrip("#"), False
    if raw.startswith("//"):
        return raw[2:].lstrip("/"), False
    doc = raw.startswith("/**")
    inner = raw[2:-2] if raw.endswith("*/") else raw[2:]
    lines = [line.strip().lstrip("*") for line in inner.split("\n")]
    return "\n".join(lines).strip("*"), doc
