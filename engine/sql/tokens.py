"""One SQL tokenizer for every reader of SQL text in vibehq (finder, recipes, quality monitor).

Not a parser: it splits text into words, quoted names, strings, parameters and operators, and
drops white space and comments, which is all the classifiers need to read keywords safely
(a keyword inside a string or a comment is never taken for one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["SqlKind", "SqlToken", "sql_tokens"]

SqlKind = Literal["ddl", "select", "insert", "update", "delete", "pragma", "transaction", "unknown"]
TokenKind = Literal["word", "quoted", "string", "subst", "param", "op", "other"]

_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<subst>\$\{[^}]*\}?)
    | (?P<string>'(?:[^']|'')*'?)
    | (?P<quoted>"(?:[^"]|"")*"?|`[^`]*`?|\[[^\]]*\]?)
    | (?P<param>\?\d*|[:@$][A-Za-z_][A-Za-z0-9_]*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<op><>|!=|<=|>=|==|[=<>])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# Words that follow FROM/JOIN/UPDATE/INTO in real statements but never name a table there.
RESERVED = frozenset(
    {
        "SELECT", "FROM", "WHERE", "SET", "VALUES", "ON", "USING", "AS", "JOIN", "INNER",
        "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "GROUP", "ORDER", "LIMIT",
        "OFFSET", "HAVING", "UNION", "EXCEPT", "INTERSECT", "RETURNING", "DEFAULT", "OF", "OR",
        "AND", "NOT", "IF", "EXISTS", "WINDOW", "INDEXED", "WITH", "DO", "NOTHING", "WHEN",
        "THEN", "BEGIN", "END", "FOR", "EACH", "ROW", "LATERAL",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SqlToken:
    kind: TokenKind
    text: str  # a quoted name without its quotes
    key: str  # the upper-cased keyword for a bare word, empty for anything else
    nameable: bool  # could name a table or column: a quoted name or a non-reserved word

    @property
    def is_name(self) -> bool:
        """A bare word or a quoted identifier: what a column or table is written as."""
        return self.kind in ("word", "quoted")


@lru_cache(maxsize=4096)
def sql_tokens(text: str) -> tuple[SqlToken, ...]:
    """The tokens of `text`, white space and comments left out."""
    # Backticks arrive escaped when the SQL sits inside a JavaScript template literal.
    tokens: list[SqlToken] = []
    for match in _TOKEN_RE.finditer(text.replace("\\`", "`")):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        value = match.group()
        if kind == "quoted":
            value = value[1:-1] if len(value) > 1 and value[-1] in '"`]' else value[1:]
            tokens.append(SqlToken("quoted", value.replace('""', '"'), "", True))
        elif kind == "word":
            key = value.upper()
            tokens.append(SqlToken("word", value, key, key not in RESERVED))
        else:
            tokens.append(SqlToken(kind, value, "", False))  # type: ignore[arg-type]
    return tuple(tokens)
