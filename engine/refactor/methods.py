"""Plan the orchestrator RPC methods a worker needs: one per distinct SQL operation.

The names are derived from the SQL alone (kind, table, filter column) and from the call shape
(one row, many rows, a write result), so the same sites always give byte-identical methods,
whatever the order of files on disk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.migrate.models import SqlSite
from engine.refactor.models import RpcMethod, RpcParam, RpcReturns
from engine.sql.tokens import SqlToken, sql_tokens

__all__ = [
    "METHOD_KINDS",
    "call_returns",
    "ddl_statements",
    "dropped_pragmas",
    "method_key",
    "normalise_sql",
    "plan_methods",
    "sql_params",
]

METHOD_KINDS = frozenset({"select", "insert", "update", "delete"})

# Last call of a chain -> what the caller gets back.
# values()/raw() hand back arrays of values, not row objects: no RPC method mirrors them.
_ROWS_CALLS = frozenset({"all", "toArray"})
_ROW_CALLS = frozenset({"get", "first", "one"})
_RESULT_CALLS = frozenset({"run"})

_COMPARE_WORDS = frozenset({"LIKE", "GLOB", "IS", "NOT", "IN", "MATCH", "REGEXP"})


def normalise_sql(sql: str) -> str:
    """Whitespace collapsed and a trailing semicolon dropped: the identity of an operation."""
    return " ".join(sql.split()).rstrip(";").rstrip()


def call_returns(site: SqlSite) -> RpcReturns | None:
    """What the call hands back, from its shape; None for a call that only prepares SQL."""
    last = site.call.rsplit(".", 1)[-1]
    if last in _ROWS_CALLS:
        return "rows"
    if last in _ROW_CALLS:
        return "row"
    if last in _RESULT_CALLS and site.driver == "d1" and site.kind == "select":
        # D1's run() hands back the same D1Result as all(): the rows under `results`.
        return "rows"
    if last in _RESULT_CALLS:
        return "result"
    if last == "exec" and site.statement is not None:
        # Durable Object exec() returns an iterable cursor; bun's exec() returns nothing useful.
        if site.driver == "durable-object-sql" and site.kind == "select":
            return "rows"
        return "result"
    return None


def method_key(site: SqlSite) -> tuple[str, RpcReturns] | None:
    """The identity of the operation a site runs, or None when it is not an RPC method."""
    if site.statement is None or site.kind not in METHOD_KINDS:
        return None
    returns = call_returns(site)
    if returns is None:
        return None
    return normalise_sql(site.statement), returns


# --------------------------------------------------------------------------- naming


def _pascal(name: str) -> str:
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", name) if part]
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _camel(name: str) -> str:
    pascal = _pascal(name)
    return pascal[:1].lower() + pascal[1:]


def _singular(table: str) -> str:
    if table.endswith("ies") and len(table) > 3:
        return table[:-3] + "y"
    if table.endswith(("ses", "xes", "ches", "shes")):
        return table[:-2]
    if table.endswith("s") and not table.endswith("ss"):
        return table[:-1]
    return table


def _plural(table: str) -> str:
    return table if table.endswith("s") else table + "s"


def _where_columns(tokens: Sequence[SqlToken]) -> list[str]:
    """Columns compared with a placeholder after WHERE, in order."""
    columns: list[str] = []
    in_where = False
    for index, token in enumerate(tokens):
        if token.key == "WHERE":
            in_where = True
        elif token.key in ("ORDER", "GROUP", "LIMIT", "RETURNING", "HAVING"):
            in_where = False
        elif in_where and token.kind == "param":
            column = _column_before(tokens, index)
            if column and column not in columns:
                columns.append(column)
    return columns


def _set_columns(tokens: Sequence[SqlToken]) -> list[str]:
    columns: list[str] = []
    in_set = False
    depth = 0
    for index, token in enumerate(tokens):
        if token.key == "SET" and depth == 0:
            in_set = True
        elif token.key in ("WHERE", "FROM", "RETURNING") and depth == 0:
            in_set = False
        elif token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif in_set and depth == 0 and token.text == "=" and index > 0:
            previous = tokens[index - 1]
            if previous.is_name:
                columns.append(previous.text.rsplit(".", 1)[-1])
    return columns


def _is_count(tokens: Sequence[SqlToken]) -> bool:
    return len(tokens) > 2 and tokens[0].key == "SELECT" and tokens[1].key == "COUNT"


def _base_name(site: SqlSite, returns: RpcReturns, tokens: Sequence[SqlToken]) -> str:
    tables = site.tables_written or site.tables_read
    table = tables[0] if tables else "rows"
    by = "".join(_pascal(column) for column in _where_columns(tokens))
    by_part = f"By{by}" if by else ""
    if site.kind == "insert":
        return f"insert{_pascal(_singular(table))}"
    if site.kind == "update":
        sets = "".join(_pascal(column) for column in _set_columns(tokens))
        return f"update{_pascal(_singular(table))}{sets}{by_part}"
    if site.kind == "delete":
        return f"delete{_pascal(_singular(table))}{by_part}"
    if _is_count(tokens):
        return f"count{_pascal(_plural(table))}{by_part}"
    if returns == "row":
        return f"get{_pascal(_singular(table))}{by_part}"
    return f"list{_pascal(_plural(table))}{by_part}"


# --------------------------------------------------------------------------- parameters


def _column_before(tokens: Sequence[SqlToken], index: int) -> str | None:
    """The column a placeholder at `index` is compared with: `col = ?`, `col LIKE ?`."""
    position = index - 1
    saw_operator = False
    while position >= 0 and (
        tokens[position].kind == "op" or tokens[position].key in _COMPARE_WORDS
    ):
        saw_operator = True
        position -= 1
    if not saw_operator or position < 0 or not tokens[position].is_name:
        return None
    # `t.col` tokenises as word `.` word: the word before the operator is already the column.
    return tokens[position].text


def _insert_columns(tokens: Sequence[SqlToken]) -> dict[int, str]:
    """Token index of each placeholder in `INSERT INTO t (a, b) VALUES (?, ?)` -> column."""
    try:
        into = next(i for i, t in enumerate(tokens) if t.key == "INTO")
    except StopIteration:
        return {}
    open_at = next((i for i in range(into, len(tokens)) if tokens[i].text == "("), None)
    values_at = next((i for i, t in enumerate(tokens) if t.key == "VALUES"), None)
    if open_at is None or values_at is None or open_at > values_at:
        return {}
    columns = [t.text for t in tokens[open_at:values_at] if t.is_name]
    out: dict[int, str] = {}
    slot = 0
    depth = 0
    for index in range(values_at + 1, len(tokens)):
        token = tokens[index]
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
            if depth == 0:
                break
        elif token.text == "," and depth == 1:
            slot += 1
        elif token.kind == "param" and depth == 1 and slot < len(columns):
            out[index] = columns[slot]
    return out


def sql_params(sql: str) -> list[RpcParam]:
    """One parameter per distinct placeholder, named from the column it binds."""
    tokens = sql_tokens(sql)
    inserted = _insert_columns(tokens)
    params: list[RpcParam] = []
    seen_placeholders: set[str] = set()
    taken: set[str] = set()
    for index, token in enumerate(tokens):
        if token.kind != "param":
            continue
        # `?` is positional each time; `?1`, `:name` and `$name` name one value however often used.
        if token.text != "?":
            if token.text in seen_placeholders:
                continue
            seen_placeholders.add(token.text)
        name: str | None
        if token.text[0] in ":@$":
            name = token.text[1:]
        else:
            name = inserted.get(index) or _column_before(tokens, index)
            if name is None and index > 0 and tokens[index - 1].key in ("LIMIT", "OFFSET"):
                name = tokens[index - 1].key.lower()
        base = _camel(name) if name else f"arg{len(params) + 1}"
        unique = base
        counter = 2
        while unique in taken:
            unique = f"{base}{counter}"
            counter += 1
        taken.add(unique)
        params.append(RpcParam(name=unique))
    return params


# --------------------------------------------------------------------------- planning


def _site_ref(site: SqlSite) -> str:
    return f"{site.file}:{site.start_line}"


def plan_methods(sites: Sequence[SqlSite]) -> list[RpcMethod]:
    """One RPC method per distinct (statement, result shape), in order of first appearance
    (sites sorted by file and line); name clashes get a numeric suffix in that order."""
    ordered = sorted(sites, key=lambda s: (s.file, s.start_line, s.end_line, s.call))
    methods: dict[tuple[str, RpcReturns], RpcMethod] = {}
    names: set[str] = set()
    for site in ordered:
        key = method_key(site)
        if key is None:
            continue
        existing = methods.get(key)
        if existing is not None:
            if _site_ref(site) not in existing.sites:
                existing.sites.append(_site_ref(site))
            continue
        sql, returns = key
        base = _base_name(site, returns, sql_tokens(sql))
        name = base
        counter = 2
        while name in names:
            name = f"{base}{counter}"
            counter += 1
        names.add(name)
        methods[key] = RpcMethod(
            name=name,
            sql=sql,
            kind=site.kind,
            params=sql_params(sql),
            returns=returns,
            tables_read=list(site.tables_read),
            tables_written=list(site.tables_written),
            sites=[_site_ref(site)],
        )
    return list(methods.values())


def ddl_statements(sites: Sequence[SqlSite]) -> list[str]:
    """Distinct DDL texts, in file and line order, for the orchestrator's migration file."""
    ordered = sorted(sites, key=lambda s: (s.file, s.start_line))
    texts = [normalise_sql(s.statement) for s in ordered if s.kind == "ddl" and s.statement]
    return list(dict.fromkeys(texts))


def dropped_pragmas(sites: Sequence[SqlSite]) -> list[str]:
    """Distinct PRAGMA texts: the orchestrator's D1 database owns those settings."""
    ordered = sorted(sites, key=lambda s: (s.file, s.start_line))
    texts = [normalise_sql(s.statement) for s in ordered if s.kind == "pragma" and s.statement]
    return list(dict.fromkeys(texts))
