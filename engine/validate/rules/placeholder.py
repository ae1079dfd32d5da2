"""VQ101 placeholder comment: a comment standing in for code the change left out."""

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

__all__ = ["RULE", "placeholder_reason"]

_ELLIPSIS = r"(?:\.{3,}|…)"
_WORD_RE = re.compile(r"[a-z]+")
# Besides words, a filler-only comment may hold only sentence punctuation: "(same as before)"
# is a note, "**/<rest> -> <rest>" is a code sample.
_FILLER_PUNCTUATION = " \t\n.,;:!?()'-…"
_ONLY_ELLIPSIS = re.compile(rf"^[\s(\[{{<]*{_ELLIPSIS}[\s)\]}}>]*$")
_LEADING_ELLIPSIS = re.compile(rf"^[\s(\[{{]*{_ELLIPSIS}\s*(?P<rest>.*)$", re.DOTALL)
# "... existing code ...": words between the ellipses, not an abbreviated code sample.
_BETWEEN_ELLIPSES = re.compile(rf"^[\w\s,'()-]{{1,80}}{_ELLIPSIS}[\s)\]}}]*$")
_NOUNS = (
    r"(?:code|implementation|logic|methods?|functions?|class(?:es)?|files?|components?"
    r"|handlers?|modules?|body|props|properties|fields|members|routes|endpoints|imports|exports"
    r"|types|helpers|tests|contents?|cases|definitions|declarations|statements|lines|stuff"
    r"|parts?|sections?|blocks?|config(?:uration)?|setup|hooks|actions|utilities)"
)
_TAIL = (
    r"(?:(?:remains?|stays?|is|are|left|kept)\s+"
    r"(?:the\s+same|unchanged|as[- ]is|intact|as\s+before)"
    r"|unchanged|untouched|omitted|elided|not\s+shown|(?:goes\s+|go\s+)?here\W*$|as\s+before)"
)
_STRONG: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\b(?:omitted|elided|removed|skipped|truncated|abbreviated|left\s+out|shortened)"
            r"\s+for\s+(?:brevity|clarity|space|simplicity|readability|conciseness)\b"
        ),
        "says code was omitted",
    ),
    (
        re.compile(
            r"^\W*(?:[\w-]+\s+){0,2}(?:implementation|code|logic|body)\s+(?:goes\s+)?here\W*$"
        ),
        "says the implementation goes here",
    ),
    (re.compile(r"\bsame\s+as\s+before\b"), "says the code is the same as before"),
    (
        re.compile(
            rf"\b(?:rest|remainder)\s+of\s+(?:the\s+|this\s+|your\s+|its\s+)?(?:[\w-]+\s+){{0,2}}?"
            rf"{_NOUNS}\W*(?:{_ELLIPSIS}\s*)?{_TAIL}"
        ),
        "says the rest of the code is elsewhere",
    ),
    (
        re.compile(
            rf"\b(?:other|remaining|existing|previous)\s+(?:[\w-]+\s+)?{_NOUNS}\W*"
            rf"(?:{_ELLIPSIS}\s*)?{_TAIL}"
        ),
        "says other code is left out",
    ),
    (
        re.compile(
            r"\b(?:code|implementation|everything\s+else|all\s+else|the\s+rest)\s+"
            r"(?:remains?|stays?|is|are)\s+(?:the\s+same|unchanged|as[- ]is|intact)"
        ),
        "says the code is unchanged",
    ),
)
# A comment made only of these words, with at least one marker, is a placeholder:
# "rest of the implementation", "existing code", "(same as before)", "unchanged".
_FILLER = frozenset(
    str.split(
        "the a an of and all as in from for this that these your its our old original other others"
        " is are be still so on keep kept left here goes go not no shown more code implementation"
        " logic method methods function functions class classes file files component components"
        " handler handlers module modules body props properties fields members routes endpoints"
        " imports exports types helpers tests content contents cases definitions statements lines"
        " stuff part parts section sections block blocks config setup hooks actions everything else"
        " before above rest remaining remainder remain remains existing previous previously"
        " unchanged untouched intact same omitted elided brevity change changes stays stay"
    )
)
_FILLER_MARKERS = frozenset(
    str.split(
        "rest remaining remainder remain remains existing previous previously unchanged untouched"
        " omitted elided"
    )
)
_WEAK = re.compile(
    r"""
      (?P<rest>\brest\b)
    | (?P<remain>\bremain(?:s|ing|der)?\b(?:\s+(?:the\s+same|unchanged|as[- ]is|intact))?)
    | (?P<unchanged>\b(?:unchanged|untouched)\b)
    | (?P<previous>\bprevious(?:ly)?\b)
    | (?P<existing>\bexisting\b)
    | (?P<omitted>\b(?:omit(?:s|ted)?|elided?)\b)
    | (?P<same>\bsame\b(?:\s+as\s+(?:before|above|original|previous))?)
    | (?P<ellipsis>\A[\s(\[]*(?:\.{3,}|…)|(?:\.{3,}|…)[\s)\]]*\Z)
    """,
    re.VERBOSE,
)
# Words that describe data as often as elided code: they count, but never alone.
_DESCRIPTIVE = frozenset({"rest", "previous", "existing"})
# Elision notes are terse; a longer sentence with two such words describes behaviour
# ("re-recording an unchanged tree gives the same file").
_WEAK_MAX_WORDS = 8
# Quoted text in a comment is an example or code, not the comment's own words.
_QUOTED = re.compile(r'"[^"\n]*"|`[^`\n]*`')


def _weak_hits(body: str) -> set[str]:
    return {m.lastgroup for m in _WEAK.finditer(body) if m.lastgroup is not None}


def placeholder_reason(
    comment: Comment, *, lenient: bool = False, in_prose: bool = False
) -> str | None:
    """Why this comment stands for elided code, or None. `lenient`: inside a shrunk region,
    where one weak keyword is enough and the comment's position does not matter. `in_prose`:
    the comment is one line of a paragraph that also says other things."""
    body = _QUOTED.sub(" ", comment.body).strip().lower()
    if not body or not COMMENT_HINT.search(body):
        return None
    prose = in_prose and not lenient
    if _ONLY_ELLIPSIS.match(body):
        return None if prose else "is only an ellipsis"
    for pattern, reason in _STRONG:
        if pattern.search(body):
            return reason
    # A note after code on the same line annotates that code; elisions stand on their own.
    if comment.trailing and not lenient:
        return None
    leading = _LEADING_ELLIPSIS.match(body)
    if leading is not None:
        rest = leading.group("rest")
        if rest.startswith("("):
            return "is an ellipsis with a note, the `// ... (...)` form"
        if not prose and _BETWEEN_ELLIPSES.match(rest):
            return "is text between ellipses, the `// ... code ...` form"
        if not prose and (_weak_hits(rest) or lenient):
            return "starts with an ellipsis and says code is elsewhere"
    if prose:
        return None
    words = _WORD_RE.findall(body)
    if (
        words
        and len(words) <= 12
        and all(w in _FILLER for w in words)
        and not _WORD_RE.sub("", body).strip(_FILLER_PUNCTUATION)
        and (_FILLER_MARKERS.intersection(words) or "as before" in body)
    ):
        return "only says that code is elsewhere"
    hits = _weak_hits(body)
    if lenient and hits:
        return "names elided code"
    if comment.doc or len(words) > _WEAK_MAX_WORDS:
        return None
    if len(hits) >= 2 and hits - _DESCRIPTIVE:
        return f"has several elision keywords ({', '.join(sorted(hits))})"
    return None


def _in_prose_run(lines: Sequence[str], row: int, marker: str) -> bool:
    """Whether the line comment on 1-based `row` has neighbours on the lines around it (a
    paragraph of `marker` comments), one of which says something other than an elision."""
    neighbours: list[str] = []
    for step in (-1, 1):
        at = row - 1 + step
        while 0 <= at < len(lines):
            text = lines[at].lstrip()
            if not text.startswith(marker):
                break
            neighbours.append(text.lstrip(marker[0]))
            at += step
    return any(
        placeholder_reason(Comment(0, 0, body, False, False), lenient=True) is None
        for body in neighbours
    )


def _judge(comments: Sequence[Comment], lines: Sequence[str], out: Analysis) -> None:
    for comment in comments:
        if not COMMENT_HINT.search(comment.body):
            continue
        prose = bool(comment.paragraph_marker) and _in_prose_run(
            lines, comment.line, comment.paragraph_marker
        )
        reason = placeholder_reason(comment, in_prose=prose)
        if reason is not None:
            out.add(
                RULE,
                comment.line,
                f"placeholder comment {reason}: the code it stands for is missing",
                comment.last,
            )


def _typescript(src: TsSource, out: Analysis) -> None:
    _judge(src.comments, src.lines, out)


def _python(src: PySource, out: Analysis) -> None:
    _judge(src.comments, src.lines, out)


RULE = Rule(
    code="VQ101",
    name="placeholder-comment",
    kind="PLACEHOLDER_DROPPED",
    summary="a comment standing in for elided code (`// ... existing code`)",
    doc="""\
Flags a comment that stands for code the change dropped: `// ... existing code ...`,
`# rest of the implementation unchanged`, `/* omitted for brevity */`.

Why: a model that answers with an elision marker deletes whatever the marker replaces, and the
file still parses. Strong phrases fire alone; weak keywords (rest, unchanged, same, an ellipsis)
need two distinct hits in a short stand-alone comment, one of which marks elision rather than
describing data, so "keep existing entries; the rest are dropped" passes. In a region that a
change shrank to under half its lines, one weak hit is enough.

Example:
    export function total(items: Item[]): number {
      // ... existing code ...
    }
""",
    typescript=_typescript,
    python=_python,
)
