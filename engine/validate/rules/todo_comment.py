"""VQ201 TODO comment: a TODO, FIXME or XXX marker that opens a comment line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.validate.rules.comments import COMMENT_HINT, Comment
from engine.validate.rules.rule import Rule

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

# A marker opens a comment line; "the TODO rule" in the middle of a sentence is prose.
_TODO_RE = re.compile(
    r"^[\s*/#!-]*(?:(?:TODO|FIXME|XXX)(?![\w-])|(?i:todo|fixme)\s*[:(]|@todo\b)", re.MULTILINE
)


def _judge(comments: Sequence[Comment], out: Analysis) -> None:
    for comment in comments:
        if not COMMENT_HINT.search(comment.body):
            continue
        match = _TODO_RE.search(comment.body)
        if match is None:
            continue
        line = comment.line + comment.body.count("\n", 0, match.start())
        marker = match.group(0).strip(" \t*/#!-:(").upper().lstrip("@")
        out.add(RULE, line, f"{marker} comment: work left unfinished")


def _typescript(src: TsSource, out: Analysis) -> None:
    _judge(src.comments, out)


def _python(src: PySource, out: Analysis) -> None:
    _judge(src.comments, out)


RULE = Rule(
    code="VQ201",
    name="todo-comment",
    kind="INCOMPLETE_CODE",
    summary="a TODO, FIXME or XXX comment: work left unfinished",
    doc="""\
Flags a comment line that opens with TODO, FIXME, XXX, `todo:` or `@todo`.

Why: an agent that leaves a TODO hands back work it was asked to finish. Only a marker that
opens a comment line counts; "the TODO rule" inside a sentence is prose. Only added lines are
judged, so a TODO that was already in the file is not the agent's.

Example:
    // TODO: handle the error case
""",
    typescript=_typescript,
    python=_python,
)
