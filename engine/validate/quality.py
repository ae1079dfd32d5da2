"""Quality monitor: finds what AI agents leave behind in a change, deterministically, with no model.

Five kinds of violation, each with a fixed severity:

    PLACEHOLDER_DROPPED  critical  a comment standing in for elided code (`// ... existing code`)
    INCOMPLETE_CODE      high      emptied bodies, "not implemented" throws, TODO/FIXME/XXX, `pass`
    MALFORMED_SYNTAX     high      parse errors, unbalanced brackets
    SECURITY_RISK        critical  secrets, eval, SQL built from variables, TLS off, writes outside
    LOGIC_ERROR          medium    unreachable statements, always-true/false comparisons

A violation quarantines the agent that made it, so every rule leans towards precision: the
syntax tree decides what a piece of text is (a comment, a string, a call), and regexes only read
the texts of the nodes it hands over. Over a whole file there are only substring searches, which
find the few places worth asking the tree about; Python files go through `tokenize` and `ast`.
Whole-file scans of many files fork one worker per core, since parsing holds the GIL.

Only the agent's lines are judged. `check_batch` diffs each file against its original and keeps
the violations on added lines: a placeholder that was already in the file is not the agent's
fault. Two rules compare with the original instead, and count wherever they land, because a
deletion adds no lines: a function that had statements and is now empty, and a syntax error in
a file whose original parsed cleanly.

Choices, pinned by tests:
- Placeholders: strong phrases fire alone; weak keywords need two distinct hits, and at least one
  of them must mark elision (unchanged, omitted, same, an ellipsis...) rather than describe data
  (rest, existing, previous), so "keep existing entries; the rest are dropped" passes. Weak
  keywords are read only in stand-alone, non-JSDoc comments of at most 8 words, outside quotes,
  and an ellipsis counts only at a comment's start or end. A note after code on its line, or a
  line in a paragraph of comments that says other things too, is prose: only strong phrases
  count there (and a bare `/* ... */` after code). In a region that a change shrank to less
  than half, one weak hit is enough.
- SQL: only a run-time value spliced into a value position (`= ${id}`, `IN (${ids})`, `'%s'`)
  is a finding. A table or column name, a query builder's WHERE fragment, or a list of `?`
  placeholders is SQL text chosen by the program.
- `x !== x` and `x != x` are not flagged: that is the NaN test. `x === x` is, with a hint.
- Keys that say they are fake (example, test, dummy, fake, sample, placeholder, your, xxxx,
  redacted) or that use at most four distinct characters are not secrets: no real key reads like
  that, and test fixtures need such values. So "sk-test-..." and "AKIA" + "X" * 16 pass.
- Empty TypeScript bodies (`noop() {}`) are only flagged against an original that had code.
  Python bodies of only `pass` or `...` are flagged anywhere, except under @abstractmethod,
  @overload and in Protocol classes, which also may raise NotImplementedError.
"""

from __future__ import annotations

import ast
import difflib
import io
import itertools
import math
import multiprocessing
import os
import posixpath
import re
import threading
import tokenize
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.errors import BadInput
from engine.patch.models import PatchBatch
from engine.patch.plan import plan_batch
from engine.sql.classify import looks_like_statement
from engine.syntax.parse import SOURCE_SUFFIXES, parse
from engine.workspace import STATE_DIR, Workspace, resolve_inside

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Query, Tree

__all__ = [
    "KINDS",
    "SEVERITY",
    "Kind",
    "QualityReport",
    "Severity",
    "Violation",
    "added_lines_of",
    "check_batch",
    "is_judged",
    "scan_paths",
    "scan_text",
]

Kind = Literal[
    "PLACEHOLDER_DROPPED", "INCOMPLETE_CODE", "MALFORMED_SYNTAX", "SECURITY_RISK", "LOGIC_ERROR"
]
Severity = Literal["critical", "high", "medium", "low"]
KINDS: tuple[Kind, ...] = (
    "PLACEHOLDER_DROPPED",
    "INCOMPLETE_CODE",
    "MALFORMED_SYNTAX",
    "SECURITY_RISK",
    "LOGIC_ERROR",
)
SEVERITY: dict[Kind, Severity] = {
    "PLACEHOLDER_DROPPED": "critical",
    "INCOMPLETE_CODE": "high",
    "MALFORMED_SYNTAX": "high",
    "SECURITY_RISK": "critical",
    "LOGIC_ERROR": "medium",
}
PY_SUFFIXES = frozenset({".py"})
JUDGED_SUFFIXES = SOURCE_SUFFIXES | PY_SUFFIXES
SKIPPED_DIRS = frozenset({"node_modules", ".git", STATE_DIR})
_SNIPPET_MAX = 120
# Below this many files a scan runs in-process: forking costs more than it saves.
_PARALLEL_MIN_FILES = 200
_MAX_WORKERS = 8
_MAX_SYNTAX_REPORTS = 3
# Kept lines (a brace, a statement) up to this many do not split a rewritten region.
_SHRINK_GAP = 2


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    severity: Severity
    file: str
    line: int = Field(ge=1, description="1-based line in the judged content")
    message: str
    snippet: str = Field(description="the line, stripped, at most 120 characters")


class QualityReport(BaseModel):
    violations: list[Violation] = Field(default_factory=list)
    files_checked: int = 0
    lines_judged: int = 0

    @property
    def critical(self) -> bool:
        return any(v.severity == "critical" for v in self.violations)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(v.kind for v in self.violations)
        return {kind: found[kind] for kind in KINDS}


def is_judged(path: str | os.PathLike[str]) -> bool:
    return PurePosixPath(os.fspath(path)).suffix in JUDGED_SUFFIXES


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class _Finding:
    kind: Kind
    line: int
    message: str
    # Last line of the evidence: a finding counts when any line of its span was added.
    last: int = 0
    # Judged whatever was added: the rule already compares with the original.
    always: bool = False


@dataclass(frozen=True)
class _Comment:
    line: int
    last: int
    body: str
    # Code precedes it on its line: an elision marker stands on a line of its own.
    trailing: bool
    doc: bool
    # One line of a paragraph of line comments that also holds other text: an example or an
    # explanation, where "..." and "the rest" are prose.
    in_prose: bool = False


@dataclass
class _Analysis:
    findings: list[_Finding] = field(default_factory=list)
    comments: list[_Comment] = field(default_factory=list)

    def add(self, kind: Kind, line: int, message: str, last: int = 0, always: bool = False) -> None:
        self.findings.append(_Finding(kind, line, message, max(last, line), always))


def _analyse(text: str, path: str, original: str | None) -> _Analysis:
    suffix = PurePosixPath(path).suffix
    if suffix in SOURCE_SUFFIXES:
        source = text.encode("utf-8", "surrogateescape")
        old = None if original is None else original.encode("utf-8", "surrogateescape")
        return _TsFile(source, text, path, old).analyse()
    if suffix in PY_SUFFIXES:
        return _PyFile(text, path, original).analyse()
    return _Analysis()


def _to_violations(
    findings: Sequence[_Finding], text: str, path: str, added: set[int] | None
) -> list[Violation]:
    lines = text.split("\n")
    seen: set[tuple[str, int, str]] = set()
    out: list[Violation] = []
    for finding in findings:
        line = finding.line
        if added is not None:
            hits = [n for n in range(finding.line, finding.last + 1) if n in added]
            if hits:
                line = hits[0]
            elif not finding.always:
                continue
        # One syntax report per line: the parser and the bracket count often name the same.
        message = "" if finding.kind == "MALFORMED_SYNTAX" else finding.message
        key = (finding.kind, line, message)
        if key in seen:
            continue
        seen.add(key)
        raw = lines[line - 1] if 0 < line <= len(lines) else ""
        out.append(
            Violation(
                kind=finding.kind,
                severity=SEVERITY[finding.kind],
                file=path,
                line=line,
                message=finding.message,
                snippet=raw.strip()[:_SNIPPET_MAX],
            )
        )
    out.sort(key=lambda v: (v.line, KINDS.index(v.kind), v.message))
    return out


# --------------------------------------------------------------------------- placeholders

_ELLIPSIS = r"(?:\.{3,}|…)"
_WORD_RE = re.compile(r"[a-z]+")
# Besides words, a filler-only comment may hold only sentence punctuation: "(same as before)"
# is a note, "**/<rest> -> <rest>" is a code sample.
_FILLER_PUNCTUATION = " \t\n.,;:!?()'-…"
# Anything in a comment that could start a placeholder or TODO finding; most comments have none.
_COMMENT_HINT = re.compile(
    r"\.\.\.|…|rest|remain|unchang|untouch|previous|existing|omit|elide|same|here|brevity"
    r"|todo|fixme|xxx|as before",
    re.IGNORECASE,
)
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
# A marker opens a comment line; "the TODO rule" in the middle of a sentence is prose.
_TODO_RE = re.compile(
    r"^[\s*/#!-]*(?:(?:TODO|FIXME|XXX)(?![\w-])|(?i:todo|fixme)\s*[:(]|@todo\b)", re.MULTILINE
)
# Quoted text in a comment is an example or code, not the comment's own words.
_QUOTED = re.compile(r'"[^"\n]*"|`[^`\n]*`')


def _weak_hits(body: str) -> set[str]:
    return {m.lastgroup for m in _WEAK.finditer(body) if m.lastgroup is not None}


def _placeholder_reason(comment: _Comment, *, lenient: bool = False) -> str | None:
    """Why this comment stands for elided code, or None. `lenient`: inside a shrunk region,
    where one weak keyword is enough and the comment's position does not matter."""
    body = _QUOTED.sub(" ", comment.body).strip().lower()
    if not body or not _COMMENT_HINT.search(body):
        return None
    prose = comment.in_prose and not lenient
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
        _placeholder_reason(_Comment(0, 0, body, False, False), lenient=True) is None
        for body in neighbours
    )


def _judge_comments(analysis: _Analysis) -> None:
    for comment in analysis.comments:
        if not _COMMENT_HINT.search(comment.body):
            continue
        reason = _placeholder_reason(comment)
        if reason is not None:
            analysis.add(
                "PLACEHOLDER_DROPPED",
                comment.line,
                f"placeholder comment {reason}: the code it stands for is missing",
                comment.last,
            )
        for match in _TODO_RE.finditer(comment.body):
            line = comment.line + comment.body.count("\n", 0, match.start())
            marker = match.group(0).strip(" \t*/#!-:(").upper().lstrip("@")
            analysis.add("INCOMPLETE_CODE", line, f"{marker} comment: work left unfinished")
            break


def _comment_body(raw: str) -> tuple[str, bool]:
    """The words of a comment without its delimiters, and whether it is a doc comment."""
    if raw.startswith("#"):
        return raw.lstrip("#"), False
    if raw.startswith("//"):
        return raw[2:].lstrip("/"), False
    doc = raw.startswith("/**")
    inner = raw[2:-2] if raw.endswith("*/") else raw[2:]
    lines = [line.strip().lstrip("*") for line in inner.split("\n")]
    return "\n".join(lines).strip("*"), doc


# --------------------------------------------------------------------------- shared rules

_SECRET_NAME = re.compile(
    r"secret|token|api[_-]?key|password|passwd|credential|private[_-]?key", re.IGNORECASE
)
# Lower-cased spellings of the names above, searched for in the lower-cased source.
_SECRET_NAME_BYTES = (
    b"secret",
    b"token",
    b"apikey",
    b"api_key",
    b"api-key",
    b"password",
    b"passwd",
    b"credential",
    b"privatekey",
    b"private_key",
    b"private-key",
)
# (literal the key starts with, the whole key, what it is). Each pattern opens with its literal,
# which the regex engine finds with a fast substring search; the boundary before it is checked
# by hand, since a look-behind in front would make it test every position of the file.
_KNOWN_KEYS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("AKIA", re.compile(r"AKIA[0-9A-Z]{16}(?![A-Za-z0-9])"), "an AWS access key id"),
    ("gh", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"), "a GitHub token"),
    ("sk-ant-", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"), "an Anthropic API key"),
    ("sk-", re.compile(r"sk-(?!ant-)[A-Za-z0-9_-]{20,}"), "an OpenAI-style API key"),
    ("xox", re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (
        "PRIVATE KEY-----",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:\\[rn]|\s|[\"'`+])*[A-Za-z0-9+/=]{40,}"
        ),
        "a private key block",
    ),
)
_FAKE_MARKERS = (
    "example",
    "fake",
    "dummy",
    "test",
    "sample",
    "placeholder",
    "redacted",
    "your",
    "xxxx",
    "changeme",
    "change-me",
    "change_me",
    "<",
    "${",
    "{{",
)
_SECRET_RUN = re.compile(r"[A-Za-z0-9+/=_-]{24,}")
_ENTROPY_MIN = 4.0
# The text before a spliced value: a comparison, LIKE, LIMIT/OFFSET, an open VALUES or IN
# list, or an opening quote.
_SQL_VALUE_SLOT = re.compile(
    r"(?:[=<>]|\blike|\blimit|\boffset)\s*['\"%]*\Z|\b(?:values|in)\s*\([^()]*\Z|'\Z",
    re.IGNORECASE,
)
_PY_FORMAT_SLOT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]|\{[^{}]*\}")
_CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Markers count only in capitals: "todo 42 not found" is a message about a to-do item.
_NOT_IMPLEMENTED = re.compile(
    r"(?i:\bnot\s*(?:yet\s+)?implemented|\bunimplemented\b|\bimplement\s+me\b|\bstub\b)"
    r"|\bTODO\b|\bFIXME\b"
)
_NOT_IMPLEMENTED_BYTES = re.compile(_NOT_IMPLEMENTED.pattern.encode())
_TYPEOF_RESULTS = frozenset(
    {"string", "number", "bigint", "boolean", "symbol", "undefined", "object", "function"}
)
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _looks_fake(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in _FAKE_MARKERS)


def _known_keys(text: str, analysis: _Analysis) -> None:
    for prefix, pattern, what in _KNOWN_KEYS:
        if prefix not in text:
            continue
        for match in pattern.finditer(text):
            start = match.start()
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "-"):
                continue
            key = match.group(0)
            body = key.split("-", 1)[-1] if key.startswith(("sk-", "xox")) else key[4:]
            if _looks_fake(key) or len(set(body)) <= 4:
                continue
            analysis.add(
                "SECURITY_RISK",
                text.count("\n", 0, start) + 1,
                f"hard-coded secret: {what}; read it from the environment",
            )


def _secret_value(name: str, value: str) -> bool:
    """A high-entropy literal held by a name that says it is a secret."""
    if not _SECRET_NAME.search(name) or _looks_fake(value):
        return False
    return any(
        _entropy(run) > _ENTROPY_MIN and len(set(run)) > 4 for run in _SECRET_RUN.findall(value)
    )


def _splices_sql_value(parts: Sequence[str | None]) -> bool:
    """Whether literal parts (str) and run-time values (None) make SQL with a value spliced in.

    Only value positions count (`= ${id}`, `IN (${ids})`, `'${name}'`): a column list, a table
    name or a WHERE fragment from a query builder is SQL text, not a value an attacker sends.
    """
    if not looks_like_statement("".join("x" if p is None else p for p in parts)):
        return False
    before = ""
    for part in parts:
        if part is None:
            if _SQL_VALUE_SLOT.search(before[-200:]):
                return True
            before += "x"
        else:
            before += part
    return False


def _outside_workspace(literal: str, file_path: str) -> bool:
    """Whether a path written in `file_path` (workspace-relative) leaves the workspace."""
    p = literal.replace("\\", "/")
    if not p:
        return False
    if p.startswith(("/", "~")) or _WINDOWS_ABSOLUTE.match(literal):
        return True
    if ".." not in p.split("/"):
        return False
    base = file_path.replace("\\", "/")
    folder = "" if base.startswith("/") else posixpath.dirname(base)
    joined = posixpath.normpath(posixpath.join(folder, p))
    return joined == ".." or joined.startswith("../")


# --------------------------------------------------------------------------- TypeScript / JS
#
# No tree query runs over a whole file: walking every node costs a third of the parse again.
# Each rule finds its few candidate places with a byte search (a keyword, an operator, a name)
# and asks the tree what sits there, so text in strings and comments never counts as code.

_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_COMMENT_HINT_BYTES = re.compile(_COMMENT_HINT.pattern.encode(), re.IGNORECASE)
_JUMP_WORDS = (b"return", b"throw", b"break", b"continue")
_BLOCKS = frozenset({"statement_block", "switch_case", "switch_default"})
_EQUALITY = frozenset({"===", "==", "!==", "!="})
_LITERAL_TYPES = frozenset({"number", "string", "true", "false", "null"})
_SQL_WORDS = (b"select", b"insert", b"update", b"delete", b"replace", b"with")
_SPACE_BYTES = frozenset(b" \t\r\n")
_QUOTE_BYTES = frozenset(b"\"'`")
_WRITE_FUNCTIONS = str.split(
    "writeFile writeFileSync appendFile appendFileSync createWriteStream outputFile"
    " outputFileSync write copyFile copyFileSync cp cpSync rename renameSync rm rmSync"
    " unlink unlinkSync mkdir mkdirSync"
)
# The destination is the second argument of these; the first for the rest.
_SECOND_ARG_IS_TARGET = frozenset(
    {"copyFile", "copyFileSync", "cp", "cpSync", "rename", "renameSync"}
)
_EVAL_HOLDERS = frozenset({"window", "globalThis", "self", "global"})
_HOISTED = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "ambient_declaration",
        "empty_statement",
    }
)
_SCOPE_OWNERS = frozenset(
    {
        "class_declaration",
        "abstract_class_declaration",
        "class",
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
    }
)
_ASSIGNMENT_FIELDS = {
    "variable_declarator": ("name", "value"),
    "pair": ("key", "value"),
    "assignment_expression": ("left", "right"),
    "public_field_definition": ("name", "value"),
}
_LOGGERS = frozenset({"console", "logger", "log", "debug"})
_FUNCTION_VALUE = (
    "[(arrow_function body: (statement_block) @body)"
    " (function_expression body: (statement_block) @body)]"
)
# Run only by check_batch, on the changed files, and only to compare with the original.
_BODY_QUERY = f"""
(function_declaration name: (_) @name body: (statement_block) @body)
(generator_function_declaration name: (_) @name body: (statement_block) @body)
(method_definition name: (_) @name body: (statement_block) @body)
(variable_declarator name: (identifier) @name value: {_FUNCTION_VALUE})
(public_field_definition name: (_) @name value: {_FUNCTION_VALUE})
(pair key: (_) @name value: {_FUNCTION_VALUE})
(assignment_expression left: (_) @name right: {_FUNCTION_VALUE})
"""


@cache
def _query(language: Language, source: str) -> Query:
    import tree_sitter

    return tree_sitter.Query(language, source)


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _row(node: Node) -> int:
    return node.start_point.row + 1


def _last_row(node: Node) -> int:
    return node.end_point.row + 1


def _occurrences(source: bytes, word: bytes, *, whole: bool = True) -> Iterator[int]:
    """Offsets of `word` in `source`; with `whole`, only where it is not part of a longer name."""
    size = len(word)
    at = source.find(word)
    while at >= 0:
        if not whole or (
            (at == 0 or source[at - 1] not in _WORD_BYTES)
            and (at + size >= len(source) or source[at + size] not in _WORD_BYTES)
        ):
            yield at
        at = source.find(word, at + size)


def _literal_text(node: Node) -> str | None:
    """A string literal's content, or a template's when it has no substitutions."""
    if node.type == "string":
        return _text(node)[1:-1]
    if node.type == "template_string" and not any(
        c.type == "template_substitution" for c in node.named_children
    ):
        return _text(node)[1:-1]
    return None


def _is_constant(node: Node) -> bool:
    """A literal, an UPPER_CASE name, or placeholders built from literals
    (`ids.map(() => "?").join(", ")`, `Array(n).fill("?").join()`, `"?, ".repeat(n)`)."""
    kind = node.type
    if kind in _LITERAL_TYPES:
        return True
    if kind == "identifier":
        return _CONSTANT_NAME.match(_text(node)) is not None
    if kind == "member_expression":
        prop = node.child_by_field_name("property")
        return prop is not None and _CONSTANT_NAME.match(_text(prop)) is not None
    if kind == "array":
        return all(_is_constant(c) for c in node.named_children if c.type != "comment")
    if kind == "arrow_function":
        body = node.child_by_field_name("body")
        return body is not None and _is_constant(body)
    if kind != "call_expression":
        return False
    callee = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    if callee is None or args is None or callee.type != "member_expression":
        return False
    method = callee.child_by_field_name("property")
    receiver = callee.child_by_field_name("object")
    values = [a for a in args.named_children if a.type != "comment"]
    name = _text(method) if method is not None else ""
    if name in ("map", "fill"):
        return bool(values) and _is_constant(values[0])
    if name in ("join", "repeat") and receiver is not None:
        return _is_constant(receiver)
    return False


def _function_is_empty(body: Node) -> bool:
    return all(child.type == "comment" for child in body.named_children)


def _qualified_name(name: Node) -> str:
    parts = [_text(name)]
    node = name.parent
    while node is not None:
        if node.type in _SCOPE_OWNERS:
            owner = node.child_by_field_name("name")
            # The name node's own declaration is its first owner: skip it.
            if owner is not None and owner != name:
                parts.append(_text(owner))
        node = node.parent
    return ".".join(reversed(parts))


def _bodies(tree: Tree) -> Iterator[tuple[str, Node]]:
    import tree_sitter

    cursor = tree_sitter.QueryCursor(_query(tree.language, _BODY_QUERY))
    for _, caps in cursor.matches(tree.root_node):
        names, bodies = caps.get("name"), caps.get("body")
        if names and bodies:
            yield _qualified_name(names[0]), bodies[0]


def _holder(node: Node) -> tuple[Node, Node, Node | None] | None:
    """For a name inside an assignment-like node: (that node, its name part, its value)."""
    current = node
    parent = node.parent
    while parent is not None:
        fields = _ASSIGNMENT_FIELDS.get(parent.type)
        if fields is not None:
            name = parent.child_by_field_name(fields[0])
            if name is None or name != current:
                return None
            return parent, name, parent.child_by_field_name(fields[1])
        if parent.type not in ("member_expression", "string", "subscript_expression"):
            return None
        current, parent = parent, parent.parent
    return None


def _in_log_or_error(node: Node) -> bool:
    """True when the expression is a message: a console/logger argument or an Error's."""
    parent = node.parent
    while parent is not None and parent.type in ("parenthesized_expression", "binary_expression"):
        parent = parent.parent
    if parent is None:
        return False
    if parent.type == "throw_statement":
        return True
    call = parent.parent if parent.type == "arguments" else None
    if call is None:
        return False
    callee = call.child_by_field_name("function") or call.child_by_field_name("constructor")
    if callee is None:
        return False
    name = _text(callee)
    return name.split(".", 1)[0] in _LOGGERS or name.endswith(("Error", "Exception"))


def _template_parts(node: Node) -> list[str | None]:
    """A template's text, with None for each substitution that is not a constant."""
    parts: list[str | None] = []
    cursor = node.start_byte + 1
    for child in node.named_children:
        if child.type != "template_substitution":
            continue
        parts.append(_text_between(node, cursor, child.start_byte))
        constant = all(_is_constant(e) for e in child.named_children)
        parts.append("x" if constant else None)
        cursor = child.end_byte
    parts.append(_text_between(node, cursor, node.end_byte - 1))
    return parts


def _text_between(node: Node, start: int, end: int) -> str:
    data = node.text or b""
    return data[start - node.start_byte : end - node.start_byte].decode("utf-8", "replace")


def _concat_operands(node: Node) -> list[Node] | None:
    operands: list[Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if current.type == "parenthesized_expression" and current.named_children:
            current = current.named_children[0]
        if current.type == "binary_expression":
            op = current.child_by_field_name("operator")
            left = current.child_by_field_name("left")
            right = current.child_by_field_name("right")
            if op is None or op.type != "+" or left is None or right is None:
                return None
            pending += (right, left)
        else:
            operands.append(current)
    return operands


_OPENERS = {"{": "}", "(": ")", "[": "]", "${": "}"}
_CLOSERS = frozenset({"}", ")", "]"})


def _unbalanced_brackets(root: Node) -> tuple[int, str] | None:
    """The first bracket that closes nothing or is never closed, from the tree's own tokens,
    so brackets inside strings, comments, templates and regexes are never counted."""
    stack: list[tuple[str, int]] = []
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None and node.child_count == 0 and not node.is_missing:
            kind = node.type
            if kind in _OPENERS:
                stack.append((kind, _row(node)))
            elif kind in _CLOSERS:
                if not stack or _OPENERS[stack[-1][0]] != kind:
                    return _row(node), f"unbalanced brackets: `{kind}` closes nothing"
                stack.pop()
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            break
    if stack:
        opener, line = stack[-1]
        return line, f"unbalanced brackets: `{opener}` opened here is never closed"
    return None


def _opens_literal(source: bytes, start: int, size: int) -> bool:
    """Whether the word at `start` is the first word of a string or template literal."""
    if start + size >= len(source) or source[start + size] not in _SPACE_BYTES:
        return False
    before = start - 1
    while before >= 0 and source[before] in _SPACE_BYTES:
        before -= 1
    return before >= 0 and source[before] in _QUOTE_BYTES


class _TsFile:
    def __init__(self, source: bytes, text: str, path: str, original: bytes | None) -> None:
        self.source = source
        self.text = text
        self.path = path
        self.original = original
        self.out = _Analysis()
        self.root: Node | None = None

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def analyse(self) -> _Analysis:
        tree = parse(self.source, self.path)
        self.root = tree.root_node
        self._comments()
        _judge_comments(self.out)
        self._unreachable()
        self._throws()
        self._equalities()
        self._typeofs()
        self._constant_conditions()
        if self.root.has_error:
            self._syntax(self.root)
        if self.original is not None:
            self._emptied(tree)
        self._security()
        return self.out

    def _at(self, start: int, end: int) -> Node | None:
        assert self.root is not None
        return self.root.descendant_for_byte_range(start, end)

    def _token(self, start: int, word: bytes, kind: str | None = None) -> Node | None:
        """The leaf at `start` if it is exactly `word` (of type `kind`), not text in a string."""
        node = self._at(start, start + len(word))
        if node is None or node.start_byte != start or node.end_byte != start + len(word):
            return None
        if kind is not None and node.type != kind:
            return None
        return node

    # -- comments

    def _comments(self) -> None:
        source = self.source
        for opener in (b"//", b"/*"):
            for start in _occurrences(source, opener, whole=False):
                if opener == b"//":
                    end = source.find(b"\n", start)
                else:
                    close = source.find(b"*/", start + 2)
                    end = -1 if close < 0 else close + 2
                end = len(source) if end < 0 else end
                if not _COMMENT_HINT_BYTES.search(source, start, end):
                    continue
                node = self._at(start, start + 2)
                if node is None or node.type != "comment" or node.start_byte != start:
                    continue
                body, doc = _comment_body(_text(node))
                line_start = source.rfind(b"\n", 0, start) + 1
                prefix = source[line_start:start].strip()
                row = _row(node)
                prose = opener == b"//" and not prefix and _in_prose_run(self.lines, row, "//")
                self.out.comments.append(
                    _Comment(row, _last_row(node), body, prefix not in (b"", b"{"), doc, prose)
                )
        self.out.comments.sort(key=lambda c: c.line)

    # -- logic

    def _unreachable(self) -> None:
        for word in _JUMP_WORDS:
            kind = word.decode()
            for start in _occurrences(self.source, word):
                token = self._token(start, word, kind)
                statement = token.parent if token is not None else None
                if statement is None or statement.type != f"{kind}_statement":
                    continue
                if statement.parent is None or statement.parent.type not in _BLOCKS:
                    continue
                following = statement.next_named_sibling
                while following is not None and following.type == "comment":
                    following = following.next_named_sibling
                if following is None or following.type in _HOISTED:
                    continue
                self.out.add(
                    "LOGIC_ERROR",
                    _row(following),
                    f"unreachable code: this statement follows a `{kind}` in the same block",
                )

    def _equalities(self) -> None:
        source = self.source
        for at in _occurrences(source, b"==", whole=False):
            if at > 0 and source[at - 1] == ord("="):
                continue
            start = at - 1 if at > 0 and source[at - 1] == ord("!") else at
            end = at + 3 if source[at + 2 : at + 3] == b"=" else at + 2
            token = self._token(start, source[start:end])
            expression = token.parent if token is not None else None
            if expression is None or expression.type != "binary_expression":
                continue
            left = expression.child_by_field_name("left")
            right = expression.child_by_field_name("right")
            if left is None or right is None:
                continue
            shown = _text(expression)[:60]
            # An escape against its character ("Ā" !== "\u0100") tests how the file was decoded.
            if (
                left.type in _LITERAL_TYPES
                and right.type in _LITERAL_TYPES
                and b"\\" not in (left.text or b"") + (right.text or b"")
            ):
                self.out.add(
                    "LOGIC_ERROR",
                    _row(expression),
                    f"`{shown}` compares two literals: the result never changes",
                )
            elif (
                start == at  # `x !== x` is the NaN test: left alone
                and left.type in ("identifier", "member_expression")
                and left.type == right.type
                and left.text == right.text
            ):
                self.out.add(
                    "LOGIC_ERROR",
                    _row(expression),
                    f"`{shown}` compares a value with itself: always true "
                    "(for a NaN test write !Number.isNaN(x))",
                )

    def _typeofs(self) -> None:
        for start in _occurrences(self.source, b"typeof"):
            token = self._token(start, b"typeof", "typeof")
            unary = token.parent if token is not None else None
            expression = unary.parent if unary is not None else None
            if unary is None or expression is None or expression.type != "binary_expression":
                continue
            op = expression.child_by_field_name("operator")
            if op is None or op.type not in _EQUALITY:
                continue
            left = expression.child_by_field_name("left")
            right = expression.child_by_field_name("right")
            other = right if left == unary else left
            if other is None or other.type != "string":
                continue
            value = _text(other)[1:-1]
            if value not in _TYPEOF_RESULTS:
                self.out.add(
                    "LOGIC_ERROR",
                    _row(other),
                    f"typeof never returns {value!r}: the comparison never changes",
                )

    def _constant_conditions(self) -> None:
        for word in (b"true", b"false"):
            for start in _occurrences(self.source, word):
                token = self._token(start, word, word.decode())
                wrapper = token.parent if token is not None else None
                statement = wrapper.parent if wrapper is not None else None
                if wrapper is None or statement is None:
                    continue
                if wrapper.type != "parenthesized_expression":
                    continue
                if statement.type == "if_statement" or (
                    statement.type == "while_statement" and word == b"false"
                ):
                    keyword = statement.type.removesuffix("_statement")
                    self.out.add(
                        "LOGIC_ERROR",
                        _row(wrapper),
                        f"`{keyword} ({word.decode()})` has a constant condition: "
                        "its branch always or never runs",
                    )

    # -- incomplete code

    def _throws(self) -> None:
        for start in _occurrences(self.source, b"throw"):
            # Most throws carry a real message: read a window before asking the tree.
            if not _NOT_IMPLEMENTED_BYTES.search(self.source, start, start + 300):
                continue
            token = self._token(start, b"throw", "throw")
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
                if callee is not None and _NOT_IMPLEMENTED.search(_text(callee)):
                    message = _text(callee)
                elif first is not None and first.type in ("string", "template_string"):
                    message = _text(first)
            elif value is not None and value.type in ("string", "template_string"):
                message = _text(value)
            if message is not None and _NOT_IMPLEMENTED.search(message):
                self.out.add(
                    "INCOMPLETE_CODE",
                    _row(statement),
                    f"throws {message[:60]}: the implementation is missing",
                    _last_row(statement),
                )

    def _emptied(self, tree: Tree) -> None:
        empty: list[tuple[str, Node]] = []
        kept: Counter[str] = Counter()
        for name, body in _bodies(tree):
            if _function_is_empty(body):
                empty.append((name, body))
            else:
                kept[name] += 1
        if not empty or self.original is None:
            return
        before: Counter[str] = Counter()
        for name, body in _bodies(parse(self.original, self.path)):
            if not _function_is_empty(body):
                before[name] += 1
        for name, body in empty:
            if before[name] > kept[name]:
                self.out.add(
                    "INCOMPLETE_CODE",
                    _row(body),
                    f"`{name}` had statements in the original and now has an empty body",
                    _last_row(body),
                    always=True,
                )

    # -- syntax

    def _syntax(self, root: Node) -> None:
        always = False
        if self.original is not None:
            always = not parse(self.original, self.path).root_node.has_error
        reported = 0
        pending = [root]
        while pending and reported < _MAX_SYNTAX_REPORTS:
            node = pending.pop()
            if node.is_missing:
                message = f"syntax error: missing `{node.type}`"
            elif node.type == "ERROR":
                first = _text(node).strip().split("\n", 1)[0][:40]
                message = f"syntax error: cannot parse `{first}`"
            else:
                pending.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
                continue
            self.out.add("MALFORMED_SYNTAX", _row(node), message, always=always)
            reported += 1
        unbalanced = _unbalanced_brackets(root)
        if unbalanced is not None:
            self.out.add("MALFORMED_SYNTAX", unbalanced[0], unbalanced[1], always=always)

    # -- security

    def _security(self) -> None:
        source = self.source
        lowered = source.lower()
        _known_keys(self.text, self.out)
        for word in _SECRET_NAME_BYTES:
            for start in _occurrences(lowered, word, whole=False):
                self._secret_at(start, len(word))
        for start in _occurrences(source, b"eval(", whole=False):
            self._eval_at(start)
        for start in _occurrences(source, b"Function(", whole=False):
            self._function_constructor_at(start)
        seen: set[int] = set()
        for word in _SQL_WORDS:
            for start in _occurrences(lowered, word):
                if _opens_literal(lowered, start, len(word)):
                    self._sql_at(start, len(word), seen)
        for start in _occurrences(source, b"rejectUnauthorized"):
            self._tls_option_at(start)
        for start in _occurrences(source, b"NODE_TLS_REJECT_UNAUTHORIZED"):
            self._tls_env_at(start)
        # Every write API named here comes from an `fs` module or is Bun.write.
        if b"fs" in source or b"Bun.write" in source:
            self._writes()

    def _writes(self) -> None:
        source = self.source
        for name in _WRITE_FUNCTIONS:
            # Formatted code puts no space between a callee and its `(`.
            for start in _occurrences(source, name.encode() + b"(", whole=False):
                if start == 0 or source[start - 1] not in _WORD_BYTES:
                    self._write_at(start, name)

    def _secret_at(self, start: int, size: int) -> None:
        node = self._at(start, start + size)
        if node is None or node.type == "comment":
            return
        held = _holder(node)
        if held is None or held[2] is None:
            return
        _, name, value = held
        literal = _literal_text(value) if value is not None else None
        name_text = _text(name).strip("\"'`")
        if literal is not None and _secret_value(name_text, literal):
            self.out.add(
                "SECURITY_RISK",
                _row(value) if value is not None else _row(name),
                f"hard-coded secret in `{name_text[:40]}`: a high-entropy literal; "
                "read it from the environment",
            )

    def _eval_at(self, start: int) -> None:
        node = self._token(start, b"eval")
        if node is None or node.type not in ("identifier", "property_identifier"):
            return
        callee = node
        if node.type == "property_identifier":
            member = node.parent
            holder = member.child_by_field_name("object") if member is not None else None
            if member is None or holder is None or _text(holder) not in _EVAL_HOLDERS:
                return
            callee = member
        call = callee.parent
        if (
            call is not None
            and call.type == "call_expression"
            and (call.child_by_field_name("function") == callee)
        ):
            self.out.add(
                "SECURITY_RISK",
                _row(call),
                f"`{_text(call)[:40]}` runs code built from a string",
            )

    def _function_constructor_at(self, start: int) -> None:
        node = self._token(start, b"Function", "identifier")
        if node is None:
            return
        call = node.parent
        if call is None:
            return
        if (call.type == "new_expression" and call.child_by_field_name("constructor") == node) or (
            call.type == "call_expression" and call.child_by_field_name("function") == node
        ):
            self.out.add(
                "SECURITY_RISK",
                _row(call),
                f"`{_text(call)[:40]}` runs code built from a string",
            )

    def _sql_at(self, start: int, size: int, seen: set[int]) -> None:
        fragment = self._at(start, start + size)
        literal = fragment.parent if fragment is not None else None
        if fragment is None or literal is None or fragment.type != "string_fragment":
            return
        if literal.id in seen or not literal.named_children:
            return
        seen.add(literal.id)
        # Only a literal that opens with the keyword can be a statement.
        if literal.named_children[0] != fragment:
            return
        if literal.type == "template_string":
            self._sql_template(literal)
        elif literal.type == "string":
            self._sql_concat(literal)

    def _sql_template(self, node: Node) -> None:
        parent = node.parent
        if (
            parent is not None
            and parent.type == "call_expression"
            and parent.child_by_field_name("arguments") == node
        ):
            return  # a tagged template (sql`...`) binds its values as parameters
        if _splices_sql_value(_template_parts(node)) and not _in_log_or_error(node):
            self._sql_finding(node, "template interpolation")

    def _sql_concat(self, node: Node) -> None:
        top = node
        while top.parent is not None and top.parent.type in (
            "binary_expression",
            "parenthesized_expression",
        ):
            top = top.parent
        if top == node:
            return
        operands = _concat_operands(top)
        if not operands or operands[0] != node:
            return
        parts = [_literal_text(o) or ("x" if _is_constant(o) else None) for o in operands]
        if _splices_sql_value(parts) and not _in_log_or_error(top):
            self._sql_finding(top, "string concatenation")

    def _sql_finding(self, node: Node, how: str) -> None:
        self.out.add(
            "SECURITY_RISK",
            _row(node),
            f"SQL with a run-time value spliced in by {how}: injection risk; "
            "bind it as a parameter",
            _last_row(node),
        )

    def _tls_option_at(self, start: int) -> None:
        node = self._at(start, start + len("rejectUnauthorized"))
        held = _holder(node) if node is not None else None
        if held is None or held[0].type != "pair" or held[2] is None:
            return
        if held[2].type == "false":
            self.out.add(
                "SECURITY_RISK",
                _row(held[0]),
                "`rejectUnauthorized: false` turns off TLS certificate verification",
            )

    def _tls_env_at(self, start: int) -> None:
        node = self._at(start, start + len("NODE_TLS_REJECT_UNAUTHORIZED"))
        held = _holder(node) if node is not None else None
        if held is None or held[2] is None:
            return
        if (_literal_text(held[2]) or _text(held[2])) == "0":
            self.out.add(
                "SECURITY_RISK",
                _row(held[0]),
                "NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS certificate verification",
            )

    def _write_at(self, start: int, name: str) -> None:
        node = self._at(start, start + len(name))
        if node is None or node.type not in ("identifier", "property_identifier"):
            return
        callee = node.parent if node.type == "property_identifier" else node
        if callee is None:
            return
        if name == "write" and _text(callee) != "Bun.write":
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
        target = _literal_text(values[index])
        if target is not None and _outside_workspace(target, self.path):
            self.out.add(
                "SECURITY_RISK",
                _row(call),
                f"`{name}` writes to {target!r}, outside the workspace",
            )


# --------------------------------------------------------------------------- Python

_PY_ABSTRACT = frozenset({"abstractmethod", "overload"})
_PY_WRITE_MODES = frozenset("wax+")
_PY_JUMPS = (ast.Return, ast.Raise, ast.Break, ast.Continue)


def _py_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_py_name(node.value)}.{node.attr}"
    return ""


def _py_is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _py_is_filler(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is Ellipsis
    )


def _py_real_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    start = 1 if body and _py_is_docstring(body[0]) else 0
    return [s for s in body[start:] if not _py_is_filler(s)]


def _py_functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    pending: list[tuple[str, ast.AST]] = [("", tree)]
    while pending:
        prefix, node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                yield name, child
                pending.append((f"{name}.", child))
            elif isinstance(child, ast.ClassDef):
                pending.append((f"{prefix}{child.name}.", child))
            else:
                pending.append((prefix, child))


def _py_literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _py_is_constant(node: ast.expr) -> bool:
    """A literal, an UPPER_CASE name, or placeholders built from literals
    (`", ".join("?" for _ in cols)`, `",".join(["?"] * n)`, `"?, " * n`)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return all(_py_is_constant(e) for e in node.elts)
    if isinstance(node, ast.GeneratorExp | ast.ListComp):
        return _py_is_constant(node.elt)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _py_is_constant(node.left) or _py_is_constant(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "join" and isinstance(node.func.value, ast.Constant):
            return all(_py_is_constant(a) for a in node.args)
        return False
    name = _py_name(node)
    return bool(name) and _CONSTANT_NAME.match(name.rsplit(".", 1)[-1]) is not None


class _PyFile:
    def __init__(self, text: str, path: str, original: str | None) -> None:
        self.text = text
        self.path = path
        self.original = original
        self.out = _Analysis()

    def analyse(self) -> _Analysis:
        tree: ast.Module | None
        try:
            tree = ast.parse(self.text, filename=self.path)
        except (SyntaxError, ValueError) as exc:
            tree = None
            error = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
            # The parser's message comes first: it wins over a bracket note on the same line.
            self._syntax_error(error)
        self._tokens()
        _judge_comments(self.out)
        if tree is not None:
            _PyRules(self).visit(tree)
            self._functions(tree)
        _known_keys(self.text, self.out)
        return self.out

    def _original_parses(self) -> bool:
        if self.original is None:
            return False
        try:
            ast.parse(self.original)
        except (SyntaxError, ValueError):
            return False
        return True

    def _syntax_error(self, exc: SyntaxError) -> None:
        self.out.add(
            "MALFORMED_SYNTAX",
            max(exc.lineno or 1, 1),
            f"syntax error: {exc.msg}",
            always=self._original_parses(),
        )

    def _tokens(self) -> None:
        stack: list[tuple[str, int]] = []
        lines = self.text.split("\n")
        try:
            for tok in tokenize.generate_tokens(io.StringIO(self.text).readline):
                if tok.type == tokenize.COMMENT:
                    row, col = tok.start
                    if row == 1 and tok.string.startswith("#!"):
                        continue
                    if not _COMMENT_HINT.search(tok.string):
                        continue
                    before = lines[row - 1][:col].strip() if row <= len(lines) else ""
                    prose = not before and _in_prose_run(lines, row, "#")
                    self.out.comments.append(
                        _Comment(row, row, tok.string.lstrip("#"), bool(before), False, prose)
                    )
                elif tok.type == tokenize.OP and tok.string in "([{":
                    stack.append((tok.string, tok.start[0]))
                elif tok.type == tokenize.OP and tok.string in ")]}":
                    if not stack or _OPENERS[stack[-1][0]] != tok.string:
                        self._unbalanced(tok.start[0], f"`{tok.string}` closes nothing")
                        return
                    stack.pop()
        except tokenize.TokenError:
            if stack:
                opener, line = stack[-1]
                self._unbalanced(line, f"`{opener}` opened here is never closed")
        except SyntaxError as exc:
            # tokenize raises IndentationError for a dedent that matches no outer level.
            self._syntax_error(exc)

    def _unbalanced(self, line: int, what: str) -> None:
        self.out.add(
            "MALFORMED_SYNTAX",
            line,
            f"unbalanced brackets: {what}",
            always=self._original_parses(),
        )

    def _functions(self, tree: ast.Module) -> None:
        abstract = _py_abstract_functions(tree)
        before: Counter[str] = Counter()
        if self.original is not None:
            try:
                old_tree = ast.parse(self.original)
            except (SyntaxError, ValueError):
                old_tree = None
            if old_tree is not None:
                for name, fn in _py_functions(old_tree):
                    if _py_real_statements(fn.body):
                        before[name] += 1
        kept: Counter[str] = Counter()
        empty: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
        for name, fn in _py_functions(tree):
            if _py_real_statements(fn.body):
                kept[name] += 1
            else:
                empty.append((name, fn))
        for name, fn in empty:
            first = fn.body[0]
            filler = [s for s in fn.body if _py_is_filler(s)]
            if before[name] > kept[name]:
                self.out.add(
                    "INCOMPLETE_CODE",
                    first.lineno,
                    f"`{name}` had statements in the original and now has none",
                    fn.body[-1].end_lineno or first.lineno,
                    always=True,
                )
            elif filler and id(fn) not in abstract:
                word = "pass" if isinstance(filler[0], ast.Pass) else "..."
                self.out.add(
                    "INCOMPLETE_CODE",
                    filler[0].lineno,
                    f"`{name}` has only `{word}` for a body: the implementation is missing",
                )


def _py_abstract_functions(tree: ast.Module) -> set[int]:
    """ids of functions allowed to have no body: @abstractmethod, @overload, Protocol members."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = {_py_name(d).rsplit(".", 1)[-1] for d in node.decorator_list}
            if names & _PY_ABSTRACT:
                allowed.add(id(node))
        elif isinstance(node, ast.ClassDef):
            bases = {_py_name(b).rsplit(".", 1)[-1] for b in node.bases}
            if "Protocol" in bases:
                allowed.update(
                    id(s)
                    for s in node.body
                    if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                )
    return allowed


class _PyRules(ast.NodeVisitor):
    """The per-node Python rules: one walk, with the enclosing nodes at hand."""

    def __init__(self, file: _PyFile) -> None:
        self.file = file
        self.out = file.out
        self.parents: list[ast.AST] = []
        self.abstract: set[int] = set()

    def visit_Module(self, node: ast.Module) -> None:
        self.abstract = _py_abstract_functions(node)
        self._descend(node)

    def _descend(self, node: ast.AST) -> None:
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(node, name, None)
            if isinstance(stmts, list):
                self._unreachable(stmts)
        self.parents.append(node)
        self.generic_visit(node)
        self.parents.pop()

    def generic_visit(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            method = getattr(self, f"visit_{type(child).__name__}", None)
            if method is not None:
                method(child)
            else:
                self._descend(child)

    def _unreachable(self, stmts: list[ast.stmt]) -> None:
        for prev, stmt in itertools.pairwise(stmts):
            if isinstance(prev, _PY_JUMPS):
                keyword = type(prev).__name__.lower()
                self.out.add(
                    "LOGIC_ERROR",
                    stmt.lineno,
                    f"unreachable code: this statement follows a `{keyword}` in the same block",
                )
                return

    def _in_abstract(self) -> bool:
        return any(id(p) in self.abstract for p in self.parents)

    def _in_log_or_raise(self) -> bool:
        for parent in reversed(self.parents):
            if isinstance(parent, ast.Raise):
                return True
            if isinstance(parent, ast.Call):
                name = _py_name(parent.func)
                head = name.split(".", 1)[0]
                if (
                    head in _LOGGERS
                    or head in ("print", "logging")
                    or name.endswith(("Error", "Exception"))
                ):
                    return True
            if isinstance(parent, ast.stmt):
                return False
        return False

    # -- incomplete code

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc
        target = exc.func if isinstance(exc, ast.Call) else exc
        name = _py_name(target) if target is not None else ""
        if name.rsplit(".", 1)[-1] == "NotImplementedError" and not self._in_abstract():
            self.out.add(
                "INCOMPLETE_CODE",
                node.lineno,
                "raises NotImplementedError: the implementation is missing",
            )
        elif isinstance(exc, ast.Call) and exc.args:
            message = _py_literal(exc.args[0])
            if message is not None and _NOT_IMPLEMENTED.search(message):
                self.out.add(
                    "INCOMPLETE_CODE",
                    node.lineno,
                    f"raises {message[:60]!r}: the implementation is missing",
                )
        self._descend(node)

    # -- logic

    def visit_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1:
            left, right, op = node.left, node.comparators[0], node.ops[0]
            simple = (ast.Name, ast.Attribute)
            if (
                isinstance(left, simple)
                and isinstance(right, simple)
                and isinstance(op, ast.Eq | ast.Is | ast.Lt | ast.Gt)
                and ast.dump(left) == ast.dump(right)
            ):
                self.out.add(
                    "LOGIC_ERROR",
                    node.lineno,
                    f"`{ast.unparse(node)[:60]}` compares a value with itself: the result "
                    "never changes; for a NaN test write math.isnan(x)",
                )
            elif isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
                self.out.add(
                    "LOGIC_ERROR",
                    node.lineno,
                    f"`{ast.unparse(node)[:60]}` compares two literals: the result never changes",
                )
        self._descend(node)

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Constant) and isinstance(node.test.value, bool):
            self.out.add(
                "LOGIC_ERROR",
                node.lineno,
                f"`if {node.test.value}:` has a constant condition: "
                "its branch always or never runs",
            )
        self._descend(node)

    def visit_While(self, node: ast.While) -> None:
        if isinstance(node.test, ast.Constant) and node.test.value is False:
            self.out.add("LOGIC_ERROR", node.lineno, "`while False:` never runs its body")
        self._descend(node)

    # -- security

    def visit_Call(self, node: ast.Call) -> None:
        name = _py_name(node.func)
        if name in ("eval", "exec"):
            self.out.add("SECURITY_RISK", node.lineno, f"`{name}()` runs code built from a string")
        for keyword in node.keywords:
            if (
                keyword.arg == "verify"
                and isinstance(keyword.value, ast.Constant)
                and keyword.value.value is False
            ):
                self.out.add(
                    "SECURITY_RISK",
                    node.lineno,
                    "`verify=False` turns off TLS certificate verification",
                )
            if keyword.arg is not None:
                self._secret(keyword.arg, keyword.value, node.lineno)
        self._write(node, name)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            template = _py_literal(node.func.value)
            values = [*node.args, *(k.value for k in node.keywords)]
            if template is not None and not all(map(_py_is_constant, values)):
                self._sql_slots(node, _py_format_parts(template), "str.format")
        self._descend(node)

    def _write(self, node: ast.Call, name: str) -> None:
        target: str | None = None
        if name == "open" and node.args:
            mode_node = node.args[1] if len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "mode":
                    mode_node = keyword.value
            mode = _py_literal(mode_node) if mode_node is not None else None
            if mode is not None and _PY_WRITE_MODES.intersection(mode):
                target = _py_literal(node.args[0])
        elif isinstance(node.func, ast.Attribute) and node.func.attr in (
            "write_text",
            "write_bytes",
        ):
            holder = node.func.value
            if isinstance(holder, ast.Call) and _py_name(holder.func).endswith("Path"):
                target = _py_literal(holder.args[0]) if holder.args else None
        if target is not None and _outside_workspace(target, self.file.path):
            self.out.add(
                "SECURITY_RISK",
                node.lineno,
                f"writes to {target!r}, outside the workspace",
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "_create_unverified_context":
            self.out.add(
                "SECURITY_RISK",
                node.lineno,
                "ssl._create_unverified_context turns off TLS certificate verification",
            )
        elif node.attr == "CERT_NONE":
            self.out.add(
                "SECURITY_RISK", node.lineno, "CERT_NONE turns off TLS certificate verification"
            )
        self._descend(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "CERT_NONE":
            self.out.add(
                "SECURITY_RISK", node.lineno, "CERT_NONE turns off TLS certificate verification"
            )

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._secret(_py_name(target), node.value, node.lineno)
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "check_hostname"
                and isinstance(node.value, ast.Constant)
                and node.value.value is False
            ):
                self.out.add(
                    "SECURITY_RISK",
                    node.lineno,
                    "`check_hostname = False` turns off TLS host name verification",
                )
        self._descend(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._secret(_py_name(node.target), node.value, node.lineno)
        self._descend(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            name = _py_literal(key) if key is not None else None
            if name is not None:
                self._secret(name, value, value.lineno)
        self._descend(node)

    def _secret(self, name: str, value: ast.expr, line: int) -> None:
        literal = _py_literal(value)
        if name and literal is not None and _secret_value(name, literal):
            self.out.add(
                "SECURITY_RISK",
                line,
                f"hard-coded secret in `{name[:40]}`: a high-entropy literal; "
                "read it from the environment",
            )

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        parts: list[str | None] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif isinstance(value, ast.FormattedValue):
                parts.append("x" if _py_is_constant(value.value) else None)
        self._sql_slots(node, parts, "an f-string")
        self._descend(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        parent = self.parents[-1] if self.parents else None
        outermost = not (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add))
        if isinstance(node.op, ast.Mod):
            template = _py_literal(node.left)
            if template is not None and not _py_is_constant(node.right):
                self._sql_slots(node, _py_format_parts(template), "%-formatting")
        elif isinstance(node.op, ast.Add) and outermost:
            operands = _py_concat_operands(node)
            if _py_literal(operands[0]) is not None:
                parts = [
                    _py_literal(o) if _py_literal(o) is not None else _py_constant_part(o)
                    for o in operands
                ]
                self._sql_slots(node, parts, "string concatenation")
        self._descend(node)

    def _sql_slots(self, node: ast.expr, parts: list[str | None], how: str) -> None:
        if None in parts and _splices_sql_value(parts) and not self._in_log_or_raise():
            self.out.add(
                "SECURITY_RISK",
                node.lineno,
                f"SQL with a run-time value spliced in by {how}: injection risk; "
                "bind it as a parameter",
                node.end_lineno or node.lineno,
            )


def _py_constant_part(node: ast.expr) -> str | None:
    return "x" if _py_is_constant(node) else None


def _py_format_parts(template: str) -> list[str | None]:
    """A %- or {}-template's text, with None for each slot a value is formatted into."""
    parts: list[str | None] = []
    cursor = 0
    for match in _PY_FORMAT_SLOT.finditer(template):
        parts += [template[cursor : match.start()], None]
        cursor = match.end()
    parts.append(template[cursor:])
    return parts


def _py_concat_operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _py_concat_operands(node.left) + _py_concat_operands(node.right)
    return [node]


# --------------------------------------------------------------------------- entry points


def scan_text(
    text: str,
    path: str,
    *,
    added_lines: set[int] | None = None,
    original: str | None = None,
) -> list[Violation]:
    """Judge one file's content. With `added_lines` (1-based lines of `text`), only violations
    on those lines count; `original` is the file before the change, for the rules that compare."""
    analysis = _analyse(text, path, original)
    return _to_violations(analysis.findings, text, path, added_lines)


def scan_paths(ws_root: Path, paths: Sequence[str]) -> QualityReport:
    """Judge whole files: the given files, and the judged sources under the given folders."""
    root = Path(ws_root).resolve()
    files = _collect(root, paths)
    workers = _worker_count(len(files))
    if workers > 1:
        chunks = [(str(root), files[i :: workers * 4]) for i in range(workers * 4)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_scan_chunk, chunks)
    else:
        parts = [_scan_chunk((str(root), files))]
    report = QualityReport(files_checked=len(files))
    for violations, lines in parts:
        report.violations.extend(violations)
        report.lines_judged += lines
    report.violations.sort(key=lambda v: (v.file, v.line, KINDS.index(v.kind), v.message))
    return report


def _worker_count(files: int) -> int:
    """Processes for a whole-file scan. Parsing holds the GIL, so only processes help; they
    are forked, which is only safe while this process runs a single thread."""
    if files < _PARALLEL_MIN_FILES or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, _MAX_WORKERS, files // (_PARALLEL_MIN_FILES // 2)))


def _scan_chunk(job: tuple[str, list[str]]) -> tuple[list[Violation], int]:
    root, files = job
    violations: list[Violation] = []
    lines = 0
    for rel in files:
        with open(os.path.join(root, rel), "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8", "replace")
        if os.path.splitext(rel)[1] in SOURCE_SUFFIXES:
            # Parse the bytes as read: no round trip through str for the tree.
            analysis = _TsFile(data, text, rel, None).analyse()
        else:
            analysis = _analyse(text, rel, None)
        violations.extend(_to_violations(analysis.findings, text, rel, None))
        lines += data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return violations, lines


def _collect(root: Path, paths: Sequence[str]) -> list[str]:
    """Workspace-relative POSIX paths of the judged files named by or under `paths`."""
    base = str(root)
    found: set[str] = set()
    for rel in paths:
        start = base if rel in ("", ".") else str(resolve_inside(root, rel, what="path"))
        if os.path.isfile(start):
            if is_judged(start):
                found.add(os.path.relpath(start, base).replace(os.sep, "/"))
            continue
        if not os.path.isdir(start):
            raise BadInput(f"path {rel!r} does not exist in the workspace")
        for folder, dirs, files in os.walk(start):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            prefix = os.path.relpath(folder, base).replace(os.sep, "/")
            for name in files:
                if os.path.splitext(name)[1] not in JUDGED_SUFFIXES:
                    continue
                full = os.path.join(folder, name)
                # A symlink may lead out of the workspace; never read through one that does.
                if os.path.islink(full) and not _inside(base, full):
                    continue
                found.add(name if prefix == "." else f"{prefix}/{name}")
    return sorted(found)


def _inside(base: str, path: str) -> bool:
    return os.path.realpath(path).startswith(base.rstrip(os.sep) + os.sep)


def added_lines_of(old: bytes | None, new: bytes) -> set[int]:
    """1-based numbers of the lines of `new` that are not carried over from `old`."""
    added, _ = _line_changes(old, new)
    return added


@dataclass(frozen=True)
class _Shrink:
    """A changed region that lost more than half its lines: `removed` old lines became the
    new lines in `lines` (1-based)."""

    removed: int
    lines: frozenset[int]


def _split(data: bytes | None) -> list[bytes]:
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def _line_changes(old: bytes | None, new: bytes) -> tuple[set[int], list[_Shrink]]:
    new_lines = _split(new)
    if old is None:
        return set(range(1, len(new_lines) + 1)), []
    matcher = difflib.SequenceMatcher(None, _split(old), new_lines, autojunk=False)
    added: set[int] = set()
    regions: list[list[tuple[int, int, int, int]]] = []
    gap = _SHRINK_GAP + 1
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            gap = i2 - i1
            continue
        added.update(range(j1 + 1, j2 + 1))
        # A kept brace or statement inside a rewrite splits difflib's opcodes; it does not
        # split the region the agent rewrote.
        if regions and gap <= _SHRINK_GAP:
            regions[-1].append((i1, i2, j1, j2))
        else:
            regions.append([(i1, i2, j1, j2)])
        gap = 0
    shrinks: list[_Shrink] = []
    for region in regions:
        removed = sum(i2 - i1 for i1, i2, _, _ in region)
        lines = frozenset(n for _, _, j1, j2 in region for n in range(j1 + 1, j2 + 1))
        if lines and removed > 2 * len(lines):
            shrinks.append(_Shrink(removed, lines))
    return added, shrinks


def _shrink_findings(analysis: _Analysis, shrinks: list[_Shrink]) -> list[_Finding]:
    """Placeholder findings, upgraded or added where a change cut a region to under half."""
    findings = list(analysis.findings)
    if not shrinks:
        return findings
    for comment in analysis.comments:
        shrink = next((s for s in shrinks if comment.line in s.lines), None)
        if shrink is None or _placeholder_reason(comment, lenient=True) is None:
            continue
        message = (
            f"placeholder comment replaces code: {shrink.removed} lines became "
            f"{len(shrink.lines)}, and this comment stands for the rest"
        )
        existing = [
            i
            for i, f in enumerate(findings)
            if f.kind == "PLACEHOLDER_DROPPED" and f.line == comment.line
        ]
        if existing:
            for i in existing:
                findings[i] = replace(findings[i], message=message)
        else:
            findings.append(_Finding("PLACEHOLDER_DROPPED", comment.line, message, comment.last))
    return findings


def check_batch(
    ws: Workspace, batch: PatchBatch, *, block_root: Path | None = None
) -> QualityReport:
    """Judge the lines a batch adds, on its planned result (nothing is written)."""
    plan = plan_batch(ws, batch, block_root=block_root)
    report = QualityReport()
    for change in plan.changed:
        if change.new is None or not is_judged(change.path):
            continue
        text = change.new.decode("utf-8", "replace")
        original = None if change.old is None else change.old.decode("utf-8", "replace")
        added, shrinks = _line_changes(change.old, change.new)
        analysis = _analyse(text, change.path, original)
        findings = _shrink_findings(analysis, shrinks)
        report.violations.extend(_to_violations(findings, text, change.path, added))
        report.files_checked += 1
        report.lines_judged += len(added)
    return report
