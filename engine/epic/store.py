"""Epic runs and their steps in the ledger (tables `epic_runs`, `epic_steps`, owned here).

A step row is the resume point of a run: `begin_step` marks it running, `finish_step` records
its outcome. A step left `running` by a killed process is run again on resume, and every step
is written to be repeatable up to its one side effect (an atomic apply, a queued approval),
which it checks for first."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from engine.epic.models import EpicOptions, EpicRun, EpicSpec, RunStatus, StepRecord, StepStatus
from engine.errors import BadInput
from engine.ledger.events import utc_now
from engine.ledger.schema import TableSchema, register
from engine.ledger.store import Ledger, canonical_ts

__all__ = [
    "EPIC_TABLES",
    "UnknownRun",
    "begin_step",
    "create_run",
    "finish_step",
    "list_runs",
    "load_run",
    "set_run_status",
]

# One row per epic run, one per (run, folder, step). A step row is the resume point: a step
# `done` is never run again for that folder of that run. Folder `*` holds the run-wide steps
# (the report). `data` is the step's JSON result.
EPIC_TABLES = register(
    TableSchema(
        "epic",
        (
            """
            CREATE TABLE epic_runs (
                run_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                source TEXT NOT NULL,
                spec TEXT NOT NULL,
                options TEXT NOT NULL DEFAULT '{}',
                status TEXT NOT NULL CHECK (
                    status IN ('running', 'paused', 'done', 'failed', 'interrupted')
                ),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                summary TEXT
            );
            CREATE TABLE epic_steps (
                run_id TEXT NOT NULL REFERENCES epic_runs (run_id),
                folder TEXT NOT NULL,
                step TEXT NOT NULL,
                status TEXT NOT NULL CHECK (
                    status IN ('running', 'done', 'waiting', 'failed', 'skipped')
                ),
                started_at TEXT NOT NULL,
                finished_at TEXT,
                duration_ms REAL,
                data TEXT NOT NULL DEFAULT '{}',
                PRIMARY KEY (run_id, folder, step)
            );
            """,
        ),
    )
)

_RUN_COLUMNS = "run_id, name, source, spec, options, status, created_at, updated_at, summary"
_STEP_COLUMNS = "run_id, folder, step, status, started_at, finished_at, duration_ms, data"


class UnknownRun(BadInput):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"epic run {run_id!r} not found; `vibehq epic status` lists the runs")


def create_run(
    ledger: Ledger, run_id: str, *, spec: EpicSpec, source: str, options: EpicOptions
) -> EpicRun:
    run = EpicRun(run_id=run_id, name=spec.name, source=source, spec=spec, options=options)
    row = (
        run.run_id,
        run.name,
        run.source,
        spec.model_dump_json(),
        options.model_dump_json(),
        run.status,
        canonical_ts(run.created_at),
        canonical_ts(run.updated_at),
        None,
    )
    ledger.write(
        lambda conn: conn.execute(
            f"INSERT INTO epic_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
        ),
        EPIC_TABLES,
    )
    return run


def load_run(ledger: Ledger, run_id: str) -> EpicRun:
    with ledger.reading(EPIC_TABLES) as conn:
        row = conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM epic_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise UnknownRun(run_id)
        steps = conn.execute(
            f"SELECT {_STEP_COLUMNS} FROM epic_steps WHERE run_id = ? ORDER BY started_at, rowid",
            (run_id,),
        ).fetchall()
    run = _run(row)
    run.steps = [_step(s) for s in steps]
    return run


def list_runs(ledger: Ledger, *, limit: int = 20) -> list[EpicRun]:
    """The latest `limit` runs, newest first, without their steps."""
    with ledger.reading(EPIC_TABLES) as conn:
        rows = conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM epic_runs ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
    return [_run(r) for r in rows]


def set_run_status(
    ledger: Ledger, run_id: str, status: RunStatus, *, summary: dict[str, object] | None = None
) -> None:
    now = canonical_ts(utc_now())
    encoded = None if summary is None else json.dumps(summary, ensure_ascii=False)

    def work(conn: sqlite3.Connection) -> None:
        cursor = conn.execute(
            "UPDATE epic_runs SET status = ?, updated_at = ?, summary = COALESCE(?, summary) "
            "WHERE run_id = ?",
            (status, now, encoded, run_id),
        )
        if cursor.rowcount == 0:
            raise UnknownRun(run_id)

    ledger.write(work, EPIC_TABLES)


def begin_step(ledger: Ledger, run_id: str, folder: str, step: str) -> StepRecord:
    """Mark a step running (again, if a killed run left it running or it was waiting)."""
    record = StepRecord(run_id=run_id, folder=folder, step=step, status="running")
    row = (run_id, folder, step, "running", canonical_ts(record.started_at), None, None, "{}")
    ledger.write(
        lambda conn: conn.execute(
            f"INSERT OR REPLACE INTO epic_steps ({_STEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        ),
        EPIC_TABLES,
    )
    return record


def finish_step(
    ledger: Ledger, record: StepRecord, status: StepStatus, data: dict[str, object]
) -> StepRecord:
    finished = utc_now()
    elapsed = _ms_between(record.started_at, finished)
    done = record.model_copy(
        update={"status": status, "finished_at": finished, "duration_ms": elapsed, "data": data}
    )
    encoded = json.dumps(data, ensure_ascii=False, default=str)
    ledger.write(
        lambda conn: conn.execute(
            "UPDATE epic_steps SET status = ?, finished_at = ?, duration_ms = ?, data = ? "
            "WHERE run_id = ? AND folder = ? AND step = ?",
            (
                status,
                canonical_ts(finished),
                elapsed,
                encoded,
                record.run_id,
                record.folder,
                record.step,
            ),
        ),
        EPIC_TABLES,
    )
    return done


def _ms_between(start: str, end: str) -> float:
    def parse(ts: str) -> datetime:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))

    return round((parse(end) - parse(start)).total_seconds() * 1000, 3)


def _run(row: tuple[object, ...]) -> EpicRun:
    run_id, name, source, spec, options, status, created, updated, summary = row
    return EpicRun(
        run_id=str(run_id),
        name=str(name),
        source=str(source),
        spec=EpicSpec.model_validate_json(str(spec)),
        options=EpicOptions.model_validate_json(str(options)),
        status=status,
        created_at=str(created),
        updated_at=str(updated),
        summary=None if summary is None else json.loads(str(summary)),
    )


def _step(row: tuple[object, ...]) -> StepRecord:
    run_id, folder, step, status, started, finished, duration, data = row
    return StepRecord(
        run_id=str(run_id),
        folder=str(folder),
        step=str(step),
        status=status,
        started_at=str(started),
        finished_at=None if finished is None else str(finished),
        duration_ms=None if duration is None else float(str(duration)),
        data=json.loads(str(data)),
    )
