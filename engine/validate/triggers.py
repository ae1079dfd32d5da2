"""Specialist triggers: rules that fire on applied batches and queue work for a specialist.

DocString Architect when a change generates many lines, Lint Surgeon when it introduces lint
errors, Dependency Auditor on a major version bump in a package.json. Items are deduplicated
by key in the ledger's `specialist_queue` (a table this module owns), so a rule that fires
twice queues one item.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from engine.ledger.events import utc_now
from engine.ledger.schema import TableSchema, register
from engine.ledger.store import Ledger
from engine.settings import TriggerSettings

SPECIALIST_QUEUE = register(
    TableSchema(
        "specialist_queue",
        (
            """
            CREATE TABLE specialist_queue (
                id INTEGER PRIMARY KEY,
                ts TEXT NOT NULL,
                specialist TEXT NOT NULL,
                rule TEXT NOT NULL,
                dedup_key TEXT NOT NULL UNIQUE,
                batch_id TEXT,
                task_id TEXT,
                detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
                status TEXT NOT NULL DEFAULT 'open' CHECK (status = 'open' OR status = 'done')
            );
            """,
        ),
    )
)

SPECIALISTS = {
    "docstring": "DocString Architect",
    "lint": "Lint Surgeon",
    "deps": "Dependency Auditor",
}
_DEP_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
_MAJOR = re.compile(r"^\s*(?:[~^]|[<>]=?|=)?\s*v?(\d+)")


class QueueItem(BaseModel):
    id: int
    ts: str
    specialist: str
    rule: str
    dedup_key: str
    batch_id: str | None = None
    task_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    status: Literal["open", "done"] = "open"


@dataclass(frozen=True)
class PackageChange:
    path: str
    old: bytes | None
    new: bytes | None


@dataclass(frozen=True)
class BatchFacts:
    """What the rules look at, gathered by the gate after a batch is applied."""

    batch_id: str
    task_id: str | None
    lines_added: int
    lint_errors_introduced: int
    packages: Sequence[PackageChange] = ()


def evaluate(ledger: Ledger, facts: BatchFacts, settings: TriggerSettings) -> list[QueueItem]:
    """Fire every rule that applies; return the items newly queued (duplicates are dropped)."""
    wanted: list[tuple[str, str, str, dict[str, Any]]] = []
    if facts.lines_added >= settings.docstring_min_lines:
        wanted.append(
            (
                "docstring",
                f"lines_added >= {settings.docstring_min_lines}",
                f"docstring:{facts.batch_id}",
                {"lines_added": facts.lines_added},
            )
        )
    if facts.lint_errors_introduced >= settings.lint_min_errors:
        wanted.append(
            (
                "lint",
                f"lint_errors >= {settings.lint_min_errors}",
                f"lint:{facts.batch_id}",
                {"lint_errors_introduced": facts.lint_errors_introduced},
            )
        )
    if settings.dependency_major_bump:
        for change in facts.packages:
            for name, old, new in major_bumps(change.old, change.new):
                wanted.append(
                    (
                        "deps",
                        "major version bump",
                        f"deps:{change.path}:{name}@{new}",
                        {"file": change.path, "package": name, "from": old, "to": new},
                    )
                )

    def write(conn: sqlite3.Connection) -> list[int]:
        ids: list[int] = []
        for specialist, rule, key, detail in wanted:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO specialist_queue "
                "(ts, specialist, rule, dedup_key, batch_id, task_id, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    utc_now(),
                    SPECIALISTS[specialist],
                    rule,
                    key,
                    facts.batch_id,
                    facts.task_id,
                    json.dumps(detail),
                ),
            )
            if cursor.rowcount and cursor.lastrowid is not None:
                ids.append(cursor.lastrowid)
        return ids

    new_ids = ledger.write(write, SPECIALIST_QUEUE) if wanted else []
    return [item for item in queue_items(ledger) if item.id in new_ids]


def queue_items(ledger: Ledger, *, status: str | None = None) -> list[QueueItem]:
    sql = (
        "SELECT id, ts, specialist, rule, dedup_key, batch_id, task_id, detail, status "
        "FROM specialist_queue"
    )
    params: tuple[str, ...] = ()
    if status is not None:
        sql += " WHERE status = ?"
        params = (status,)
    with ledger.reading(SPECIALIST_QUEUE) as conn:
        rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    return [
        QueueItem(
            id=r[0],
            ts=r[1],
            specialist=r[2],
            rule=r[3],
            dedup_key=r[4],
            batch_id=r[5],
            task_id=r[6],
            detail=json.loads(r[7]),
            status=r[8],
        )
        for r in rows
    ]


def _versions(data: bytes | None) -> dict[str, str]:
    if data is None:
        return {}
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    found: dict[str, str] = {}
    if isinstance(doc, dict):
        for section in _DEP_SECTIONS:
            deps = doc.get(section)
            if isinstance(deps, dict):
                found.update({k: v for k, v in deps.items() if isinstance(v, str)})
    return found


def major_of(spec: str) -> int | None:
    """The major version a semver range pins (`^2.1.0` -> 2); None for tags, URLs, `*`."""
    match = _MAJOR.match(spec)
    return int(match.group(1)) if match else None


def major_bumps(old: bytes | None, new: bytes | None) -> list[tuple[str, int, int]]:
    before, after = _versions(old), _versions(new)
    bumps: list[tuple[str, int, int]] = []
    for name in sorted(set(before) & set(after)):
        was, now = major_of(before[name]), major_of(after[name])
        if was is not None and now is not None and now > was:
            bumps.append((name, was, now))
    return bumps
