"""Patch logs, stats and trends: the seed's analytics APIs as SQL queries on `patch_events`.

Every figure is an aggregate computed by SQLite; Python only shapes the result rows into
models, which serialise camelCase like the seed's `/api/patches/*` responses.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from engine.errors import BadInput
from engine.ledger.events import PatchEvent, PatchEventKind
from engine.ledger.store import Ledger
from engine.patch.patch_events import PATCH_COLUMNS, PATCH_EVENTS, patch_event_from_row

__all__ = [
    "DayCount",
    "ErrorCount",
    "LogPage",
    "LogQuery",
    "OpCount",
    "PatchStats",
    "RequesterRate",
    "TrendBy",
    "TrendRow",
    "patch_logs",
    "patch_stats",
    "patch_trends",
]

TrendBy = Literal["weekly", "task", "order"]

MAX_LOG_LIMIT = 1000
ERROR_SUMMARY_SIZE = 10
_SEARCH_COLUMNS = ("file", "op", "error", "reason", "requester", "batch_id")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_SUCCESS_RATE = (
    "CAST(SUM(kind = 'applied') AS REAL) / NULLIF(SUM(kind = 'applied' OR kind = 'failed'), 0)"
)
# The Thursday of a date's ISO week (Mon-Sun) fixes both its ISO year and its week number.
# 'weekday 0' moves forward to that week's Sunday; three days back is the Thursday.
_ISO_WEEK = (
    "strftime('%Y', ts, 'weekday 0', '-3 days') || '-W' || "
    "printf('%02d', (CAST(strftime('%j', ts, 'weekday 0', '-3 days') AS INTEGER) + 6) / 7)"
)
_TREND_KEYS: dict[str, str] = {"weekly": _ISO_WEEK, "task": "task_id", "order": "order_id"}


class _Report(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )


class LogQuery(BaseModel):
    # Explicit aliases rather than the generator, and no extras, so mypy and pydantic both
    # reject a misspelt filter instead of silently ignoring it.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="forbid")

    task_id: str | None = Field(None, alias="taskId")
    file: str | None = Field(
        None, description="exact workspace path, or a glob where `*` and `?` are wildcards"
    )
    search: str | None = Field(
        None, description="case-insensitive text in file, op, error, reason, requester, batch id"
    )
    kind: PatchEventKind | None = None
    batch_id: str | None = Field(None, alias="batchId")
    limit: int = Field(50, ge=1, le=MAX_LOG_LIMIT)
    offset: int = Field(0, ge=0)
    order: Literal["asc", "desc"] = Field("desc", description="by ts, then by record order")


class LogPage(_Report):
    total: int = Field(description="events matching the filters, ignoring limit and offset")
    limit: int
    offset: int
    has_more: bool
    items: list[PatchEvent]


class DayCount(_Report):
    day: str
    requested: int
    applied: int
    failed: int
    rolled_back: int
    total: int


class RequesterRate(_Report):
    requester: str | None
    applied: int
    failed: int
    success_rate: float | None = Field(description="applied / (applied + failed); None if both 0")


class OpCount(_Report):
    op: str | None
    count: int


class ErrorCount(_Report):
    error: str
    count: int


class PatchStats(_Report):
    date_from: str | None = Field(description="the requested first day, inclusive")
    date_to: str | None = Field(description="the requested last day, inclusive")
    first_ts: str | None = Field(description="the earliest event in the range")
    last_ts: str | None = Field(description="the latest event in the range")
    total_events: int
    daily: list[DayCount]
    requesters: list[RequesterRate]
    operations: list[OpCount] = Field(description="ops among `requested` events, most used first")
    errors: list[ErrorCount] = Field(description="the most frequent error messages")


class TrendRow(_Report):
    key: str | None = Field(description="ISO week like 2026-W47, task id or order id")
    batches: int
    applied: int
    failed: int
    rolled_back: int
    success_rate: float | None
    first_ts: str
    last_ts: str


class _Where:
    """A WHERE clause built from optional filters, with its parameters in order."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[object] = []

    def add(self, clause: str, *params: object) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def sql_and(self, clause: str) -> str:
        return f"WHERE {' AND '.join([*self.clauses, clause])}"


def patch_logs(ledger: Ledger, query: LogQuery) -> LogPage:
    """One page of patch events matching `query`, with the total count of matches."""
    where = _Where()
    if query.task_id is not None:
        where.add("task_id = ?", query.task_id)
    if query.file is not None:
        if "*" in query.file or "?" in query.file:
            where.add("file GLOB ?", _glob_pattern(query.file))
        else:
            where.add("file = ?", query.file)
    if query.search is not None:
        needle = "%" + _escape_like(query.search) + "%"
        matches = " OR ".join(f"{col} LIKE ? ESCAPE '\\'" for col in _SEARCH_COLUMNS)
        where.add(f"({matches})", *([needle] * len(_SEARCH_COLUMNS)))
    if query.kind is not None:
        where.add("kind = ?", query.kind)
    if query.batch_id is not None:
        where.add("batch_id = ?", query.batch_id)

    direction = "ASC" if query.order == "asc" else "DESC"
    page_sql = (
        f"SELECT {', '.join(PATCH_COLUMNS)} FROM patch_events {where.sql()} "
        f"ORDER BY ts {direction}, id {direction} LIMIT ? OFFSET ?"
    )
    count_sql = f"SELECT COUNT(*) FROM patch_events {where.sql()}"
    with ledger.reading(PATCH_EVENTS) as db:
        (total,) = db.execute(count_sql, where.params).fetchone()
        rows = db.execute(page_sql, [*where.params, query.limit, query.offset]).fetchall()
    return LogPage(
        total=total,
        limit=query.limit,
        offset=query.offset,
        has_more=query.offset + len(rows) < total,
        items=[patch_event_from_row(row) for row in rows],
    )


def patch_stats(
    ledger: Ledger, date_from: str | None = None, date_to: str | None = None
) -> PatchStats:
    """Daily counts, success rate per requester, op distribution and top errors in a date range.

    `date_from` and `date_to` are UTC days (YYYY-MM-DD), both inclusive.
    """
    where = _date_range(date_from, date_to)
    params = where.params
    with ledger.reading(PATCH_EVENTS) as db:
        total, first_ts, last_ts = db.execute(
            f"SELECT COUNT(*), MIN(ts), MAX(ts) FROM patch_events {where.sql()}", params
        ).fetchone()
        daily = db.execute(
            f"""SELECT substr(ts, 1, 10) AS day, SUM(kind = 'requested'), SUM(kind = 'applied'),
                       SUM(kind = 'failed'), SUM(kind = 'rolled_back'), COUNT(*)
                FROM patch_events {where.sql()} GROUP BY day ORDER BY day""",
            params,
        ).fetchall()
        requesters = db.execute(
            f"""SELECT requester, SUM(kind = 'applied'), SUM(kind = 'failed'), {_SUCCESS_RATE}
                FROM patch_events {where.sql()}
                GROUP BY requester ORDER BY requester IS NULL, requester""",
            params,
        ).fetchall()
        operations = db.execute(
            f"""SELECT op, COUNT(*) AS n FROM patch_events {where.sql_and("kind = 'requested'")}
                GROUP BY op ORDER BY n DESC, op""",
            params,
        ).fetchall()
        errors = db.execute(
            f"""SELECT error, COUNT(*) AS n FROM patch_events {where.sql_and("error IS NOT NULL")}
                GROUP BY error ORDER BY n DESC, error LIMIT ?""",
            [*params, ERROR_SUMMARY_SIZE],
        ).fetchall()
    return PatchStats(
        date_from=date_from,
        date_to=date_to,
        first_ts=first_ts,
        last_ts=last_ts,
        total_events=total,
        daily=[
            DayCount(day=day, requested=req, applied=app, failed=fail, rolled_back=rb, total=count)
            for day, req, app, fail, rb, count in daily
        ],
        requesters=[
            RequesterRate(requester=name, applied=app, failed=fail, success_rate=rate)
            for name, app, fail, rate in requesters
        ],
        operations=[OpCount(op=op, count=n) for op, n in operations],
        errors=[ErrorCount(error=error, count=n) for error, n in errors],
    )


def patch_trends(
    ledger: Ledger,
    by: TrendBy,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
) -> list[TrendRow]:
    """Batches, op outcomes and success rate per ISO week, task or order, oldest group first."""
    key = _TREND_KEYS.get(by)
    if key is None:
        raise BadInput(f"trends by {by!r}: choose one of {', '.join(_TREND_KEYS)}")
    where = _date_range(date_from, date_to)
    sql = f"""
        SELECT {key} AS key, COUNT(DISTINCT batch_id), SUM(kind = 'applied'),
               SUM(kind = 'failed'), SUM(kind = 'rolled_back'), {_SUCCESS_RATE}, MIN(ts), MAX(ts)
        FROM patch_events {where.sql()}
        GROUP BY key ORDER BY MIN(ts), key
    """
    with ledger.reading(PATCH_EVENTS) as db:
        rows = db.execute(sql, where.params).fetchall()
    return [
        TrendRow(
            key=group,
            batches=batches,
            applied=app,
            failed=fail,
            rolled_back=rb,
            success_rate=rate,
            first_ts=first,
            last_ts=last,
        )
        for group, batches, app, fail, rb, rate, first, last in rows
    ]


def _date_range(date_from: str | None, date_to: str | None) -> _Where:
    # Stored ts are canonical UTC text, so day bounds are plain text comparisons on the ts index.
    where = _Where()
    first = _parse_day(date_from, "date_from") if date_from is not None else None
    last = _parse_day(date_to, "date_to") if date_to is not None else None
    if first is not None and last is not None and first > last:
        raise BadInput(f"date_from {date_from} is after date_to {date_to}")
    if first is not None:
        where.add("ts >= ?", first.isoformat())
    if last is not None and last < date.max:
        where.add("ts < ?", (last + timedelta(days=1)).isoformat())
    return where


def _parse_day(value: str, name: str) -> date:
    if not _ISO_DATE.fullmatch(value):
        raise BadInput(f"{name} {value!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadInput(f"{name} {value!r} is not a calendar date: {exc}") from None


def _glob_pattern(pattern: str) -> str:
    # Only `*` and `?` are wildcards; `[` stays literal for paths like `app/[id]/page.tsx`.
    return pattern.replace("[", "[[]")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
