"""Classify SQL text: whether a string is SQL, which kind of statement it is, and which tables
it reads and writes. Not a SQL parser: it reads the few keywords that decide kind and tables,
and leaves everything else alone."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from engine.sql.tokens import SqlKind, sql_tokens
from engine.sql.tokens import SqlToken as Tok

__all__ = ["looks_like_sql", "looks_like_statement", "sql_kind", "sql_tables"]


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

_TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "foreign_key_list"})
_TABLE_DDL_PREFIX = frozenset({"CREATE", "TEMP", "TEMPORARY", "VIRTUAL", "ALTER", "DROP"})


def looks_like_sql(text: str) -> bool:
    """True when the text starts with an SQL statement keyword."""
    tokens = sql_tokens(text)
    return bool(tokens) and tokens[0].key in _SQL_LEADS


_STATEMENT_EVIDENCE = frozenset({"WHERE", "JOIN", "VALUES", "SET", "LIMIT"})


def looks_like_statement(text: str) -> bool:
    """True when `text` opens with a whole DML statement head: SELECT ... FROM, INSERT INTO,
    REPLACE INTO, UPDATE t SET, DELETE FROM, or WITH name AS (.

    Stricter than `looks_like_sql`, for text that may be prose: lower-case "select ... from" is
    also English ("Select a file from the list: "), so a head not written in capitals counts
    only with more SQL besides (WHERE, JOIN, VALUES, SET, ORDER BY, LIMIT, `=` or `*`).
    """
    tokens = sql_tokens(text)
    head = _statement_head(tokens)
    if head is None:
        return False
    if all(token.text.isupper() for token in head):
        return True
    keys = [token.key for token in tokens]
    ordered = any(a == "ORDER" and b == "BY" for a, b in pairwise(keys))
    return ordered or bool(_STATEMENT_EVIDENCE.intersection(keys)) or "=" in text or "*" in text


def _statement_head(tokens: Sequence[Tok]) -> Sequence[Tok] | None:
    """The keyword tokens that make the head of a DML statement, or None when there is none."""
    lead = _key_at(tokens, 0)
    if lead == "SELECT" and len(tokens) > 1:
        found = next((t for t in tokens[1:] if t.key == "FROM"), None)
        return None if found is None else [tokens[0], found]
    if lead == "INSERT":
        at = 3 if _key_at(tokens, 1) == "OR" and tokens[2:3] and tokens[2].kind == "word" else 1
        return [tokens[0], tokens[at]] if _key_at(tokens, at) == "INTO" else None
    if lead == "REPLACE":
        return tokens[:2] if _key_at(tokens, 1) == "INTO" else None
    if lead == "UPDATE":
        at = 4 if _text_at(tokens, 2) == "." else 2
        return [tokens[0], tokens[at]] if _key_at(tokens, at) == "SET" else None
    if lead == "DELETE":
        return tokens[:2] if _key_at(tokens, 1) == "FROM" else None
    if lead == "WITH" and len(tokens) > 2 and tokens[1].kind == "word":
        at = _after_parens(tokens, 2) if _text_at(tokens, 2) == "(" else 2
        if _key_at(tokens, at) == "AS" and _text_at(tokens, at + 1) == "(":
            return [tokens[0], tokens[at]]
    return None


def sql_kind(text: str) -> SqlKind:
    """The kind of the first statement in `text`; WITH is classified by its main statement."""
    tokens = sql_tokens(text)
    if not tokens:
        return "unknown"
    lead = tokens[0].key
    if lead == "WITH":
        lead = _main_keyword_after_with(tokens)
    return _KIND_BY_LEAD.get(lead, "unknown")


def _main_keyword_after_with(tokens: Sequence[Tok]) -> str:
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
    tokens = sql_tokens(text)
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


def _key_at(tokens: Sequence[Tok], index: int) -> str:
    return tokens[index].key if index < len(tokens) else ""


def _text_at(tokens: Sequence[Tok], index: int) -> str:
    return tokens[index].text if index < len(tokens) else ""


def _add(target: list[str], name: str | None, ctes: set[str]) -> None:
    if name and name.lower() not in ctes and name not in target:
        target.append(name)


def _name_at(tokens: Sequence[Tok], index: int, source: bool = False) -> tuple[str | None, int]:
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


def _add_from_list(tokens: Sequence[Tok], index: int, target: list[str], ctes: set[str]) -> None:
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


def _skip_if_exists(tokens: Sequence[Tok], index: int) -> int:
    if _key_at(tokens, index) != "IF":
        return index
    return index + 3 if _key_at(tokens, index + 1) == "NOT" else index + 2


def _indexed_table(tokens: Sequence[Tok], index: int) -> str | None:
    _, after_name = _name_at(tokens, _skip_if_exists(tokens, index))
    if _key_at(tokens, after_name) != "ON":
        return None
    return _name_at(tokens, after_name + 1)[0]


def _pragma_table(tokens: Sequence[Tok], index: int) -> str | None:
    if index >= len(tokens) or tokens[index].kind != "word":
        return None
    if _text_at(tokens, index + 1) == ".":
        index += 2
    if _text_at(tokens, index).lower() not in _TABLE_PRAGMAS or _text_at(tokens, index + 1) != "(":
        return None
    return _name_at(tokens, index + 2)[0]


def _cte_names(tokens: Sequence[Tok]) -> set[str]:
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


def _after_parens(tokens: Sequence[Tok], index: int) -> int:
    depth = 0
    for position in range(index, len(tokens)):
        if tokens[position].text == "(":
            depth += 1
        elif tokens[position].text == ")":
            depth -= 1
            if depth == 0:
                return position + 1
    return len(tokens)
