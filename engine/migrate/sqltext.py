"""SQL text analysis for the SQL finder: a small tokenizer that tells whether a string is
SQL, which kind of statement it is, and which tables it reads and writes. Not a SQL parser:
it reads the few keywords that decide kind and tables, and leaves everything else alone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from engine.migrate.models import SqlKind

__all__ = ["looks_like_sql", "sql_kind", "sql_tables"]


_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<subst>\$\{[^}]*\}?)
    | (?P<string>'(?:[^']|'')*'?)
    | (?P<quoted>"(?:[^"]|"")*"?|`[^`]*`?|\[[^\]]*\]?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_KIND_BY_LEAD: dict[str, SqlKind] = {
    "SELECT": "select",
    "VALUES": "select",
    "INSERT": "insert",
    "REPLACE": "insert",
    "UPSERT": "insert",
    "UPDATE": "update",
    "DELETE": "delete",
    "CREATE": "ddl",
    "ALTER": "ddl",
    "DROP": "ddl",
    "PRAGMA": "pragma",
    "BEGIN": "transaction",
    "COMMIT": "transaction",
    "END": "transaction",
    "ROLLBACK": "transaction",
    "SAVEPOINT": "transaction",
    "RELEASE": "transaction",
}
_SQL_LEADS = frozenset(_KIND_BY_LEAD) | {
    "WITH",
    "EXPLAIN",
    "VACUUM",
    "ANALYZE",
    "REINDEX",
    "ATTACH",
    "DETACH",
}
_DML_LEADS = frozenset({"SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"})

# Words that follow FROM/JOIN/UPDATE/INTO in real statements but never name a table there.
_NOT_NAMES = frozenset(
    {
        "SELECT", "FROM", "WHERE", "SET", "VALUES", "ON", "USING", "AS", "JOIN", "INNER",
        "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "GROUP", "ORDER", "LIMIT",
        "OFFSET", "HAVING", "UNION", "EXCEPT", "INTERSECT", "RETURNING", "DEFAULT", "OF", "OR",
        "AND", "NOT", "IF", "EXISTS", "WINDOW", "INDEXED", "WITH", "DO", "NOTHING", "WHEN",
        "THEN", "BEGIN", "END", "FOR", "EACH", "ROW", "LATERAL",
    }
)  # fmt: skip
_TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "foreign_key_list"})
_TABLE_DDL_PREFIX = frozenset({"CREATE", "TEMP", "TEMPORARY", "VIRTUAL", "ALTER", "DROP"})


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    key: str  # the upper-cased keyword for a bare word, empty for anything else
    nameable: bool  # could name a table: a quoted identifier or a non-reserved word


@lru_cache(maxsize=4096)
def _sql_tokens(text: str) -> tuple[_Tok, ...]:
    # Backticks arrive escaped when the SQL sits inside a JavaScript template literal.
    tokens: list[_Tok] = []
    for match in _TOKEN_RE.finditer(text.replace("\\`", "`")):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        value = match.group()
        if kind == "quoted":
            value = value[1:-1] if len(value) > 1 and value[-1] in '"`]' else value[1:]
            tokens.append(_Tok(kind, value.replace('""', '"'), "", True))
        elif kind == "word":
            key = value.upper()
            tokens.append(_Tok(kind, value, key, key not in _NOT_NAMES))
        else:
            tokens.append(_Tok(kind, value, "", False))
    return tuple(tokens)


def looks_like_sql(text: str) -> bool:
    """True when the text starts with an SQL statement keyword."""
    tokens = _sql_tokens(text)
    return bool(tokens) and tokens[0].key in _SQL_LEADS


def sql_kind(text: str) -> SqlKind:
    """The kind of the first statement in `text`; WITH is classified by its main statement."""
    tokens = _sql_tokens(text)
    if not tokens:
        return "unknown"
    lead = tokens[0].key
    if lead == "WITH":
        lead = _main_keyword_after_with(tokens)
    return _KIND_BY_LEAD.get(lead, "unknown")


def _main_keyword_after_with(tokens: Sequence[_Tok]) -> str:
    depth = 0
    for token in tokens[1:]:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.key in _DML_LEADS:
            return token.key
    return ""


def sql_tables(text: str) -> tuple[list[str], list[str]]:
    """Tables read and tables written by the statements in `text`, in order of appearance.

    Reads are FROM and JOIN targets; writes are INSERT/REPLACE INTO, UPDATE, DELETE FROM and
    the table of CREATE/ALTER/DROP TABLE and CREATE INDEX. Quotes are stripped, schema
    qualifiers dropped, CTE names and table-valued functions left out.
    """
    tokens = _sql_tokens(text)
    ctes = _cte_names(tokens)
    read: list[str] = []
    written: list[str] = []
    previous = ""
    for index, token in enumerate(tokens):
        key = token.key
        if key == "FROM":
            _add_from_list(tokens, index + 1, written if previous == "DELETE" else read, ctes)
        elif key == "JOIN":
            _add(read, _name_at(tokens, index + 1, source=True)[0], ctes)
        elif key == "INTO":
            _add(written, _name_at(tokens, index + 1)[0], ctes)
        elif key == "UPDATE":
            after = index + 3 if _key_at(tokens, index + 1) == "OR" else index + 1
            _add(written, _name_at(tokens, after)[0], ctes)
        elif key == "TABLE" and previous in _TABLE_DDL_PREFIX:
            _add(written, _name_at(tokens, _skip_if_exists(tokens, index + 1))[0], ctes)
        elif key == "INDEX" and previous in ("CREATE", "UNIQUE"):
            _add(written, _indexed_table(tokens, index + 1), ctes)
        elif key == "PRAGMA":
            _add(read, _pragma_table(tokens, index + 1), ctes)
        previous = key
    return read, written


def _key_at(tokens: Sequence[_Tok], index: int) -> str:
    return tokens[index].key if index < len(tokens) else ""


def _text_at(tokens: Sequence[_Tok], index: int) -> str:
    return tokens[index].text if index < len(tokens) else ""


def _add(target: list[str], name: str | None, ctes: set[str]) -> None:
    if name and name.lower() not in ctes and name not in target:
        target.append(name)


def _name_at(tokens: Sequence[_Tok], index: int, source: bool = False) -> tuple[str | None, int]:
    """A possibly schema-qualified table name at `index` and the index after it. In a FROM or
    JOIN (`source`), a name followed by `(` is a table-valued function, not a table; after
    INTO or TABLE the parenthesis opens a column list."""
    if index >= len(tokens) or not tokens[index].nameable:
        return None, index
    name = tokens[index].text
    after = index + 1
    while (
        _text_at(tokens, after) == "."
        and after + 1 < len(tokens)
        and tokens[after + 1].kind in ("word", "quoted")
    ):
        name = tokens[after + 1].text
        after += 2
    if source and _text_at(tokens, after) == "(":
        return None, after
    return name, after


def _add_from_list(tokens: Sequence[_Tok], index: int, target: list[str], ctes: set[str]) -> None:
    # FROM a [AS] x, b y: the comma form of a join lists several tables after one FROM.
    while True:
        name, index = _name_at(tokens, index, source=True)
        if name is None:
            return
        _add(target, name, ctes)
        if _key_at(tokens, index) == "AS":
            index += 2
        elif index < len(tokens) and tokens[index].nameable:
            index += 1
        if _text_at(tokens, index) != ",":
            return
        index += 1


def _skip_if_exists(tokens: Sequence[_Tok], index: int) -> int:
    if _key_at(tokens, index) != "IF":
        return index
    return index + 3 if _key_at(tokens, index + 1) == "NOT" else index + 2


def _indexed_table(tokens: Sequence[_Tok], index: int) -> str | None:
    _, after_name = _name_at(tokens, _skip_if_exists(tokens, index))
    if _key_at(tokens, after_name) != "ON":
        return None
    return _name_at(tokens, after_name + 1)[0]


def _pragma_table(tokens: Sequence[_Tok], index: int) -> str | None:
    if index >= len(tokens) or tokens[index].kind != "word":
        return None
    if _text_at(tokens, index + 1) == ".":
        index += 2
    if _text_at(tokens, index).lower() not in _TABLE_PRAGMAS or _text_at(tokens, index + 1) != "(":
        return None
    return _name_at(tokens, index + 2)[0]


def _cte_names(tokens: Sequence[_Tok]) -> set[str]:
    """Names defined by `WITH name [(cols)] AS (...)`, so they are not taken for tables."""
    names: set[str] = set()
    for index, token in enumerate(tokens[:-1]):
        if token.key not in ("WITH", "RECURSIVE") and token.text != ",":
            continue
        candidate = tokens[index + 1]
        if not candidate.nameable:
            continue
        after = index + 2
        if _text_at(tokens, after) == "(":
            after = _after_parens(tokens, after)
        while _key_at(tokens, after + 1) in ("NOT", "MATERIALIZED"):
            after += 1
        if _key_at(tokens, after) == "AS" and _text_at(tokens, after + 1) == "(":
            names.add(candidate.text.lower())
    return names


def _after_parens(tokens: Sequence[_Tok], index: int) -> int:
    depth = 0
    for position in range(index, len(tokens)):
        if tokens[position].text == "(":
            depth += 1
        elif tokens[position].text == ")":
            depth -= 1
            if depth == 0:
                return position + 1
    return len(tokens)
