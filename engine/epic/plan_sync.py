"""Keep tasks.json true to an epic run: one subtask per folder under the epic task, its status
and a details paragraph saying where the folder stands, and a remediation subtask for a
folder whose change failed. Re-running changes only what moved; every change is recorded in
the plan history with the epic as its actor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.ledger.store import Ledger
from engine.patch.validation import Finding
from engine.plan.document import editing, find_task, format_id, stored_id
from engine.plan.history import record_change
from engine.plan.ops import PlanChange, add_subtask, set_status, update_task
from engine.workspace import Workspace

__all__ = ["folder_title", "sync_folder_task"]

ACTOR = "vibehq-epic"
_STATUS_OF = {
    "applied": "done",
    "unchanged": "done",
    "waiting": "blocked",
    "failed": "blocked",
}
_FINDINGS_SHOWN = 30


def folder_title(folder: str, dest: str) -> str:
    return f"Migrate STAGING/{folder} to {dest}"


def remediation_title(folder: str) -> str:
    return f"Remediate the migration of STAGING/{folder}"


def sync_folder_task(
    ws: Workspace,
    tasks_path: Path,
    epic: str,
    *,
    folder: str,
    dest: str,
    where: str,
    failure: str | None,
    findings: Sequence[Finding],
    open_items: Sequence[str],
) -> dict[str, Any]:
    changes: list[PlanChange] = []
    status = _STATUS_OF.get(where, "in-progress")
    if where == "applied" and open_items:
        status = "in-progress"
    details = _details(where, failure, open_items)
    remediation: list[str] = []
    with editing(tasks_path) as tf:
        parent = find_task(tf, epic)
        subs = parent.get("subtasks") or []
        title = folder_title(folder, dest)
        sub = next((s for s in subs if s.get("title") == title), None)
        if sub is None:
            change = add_subtask(
                tf,
                epic,
                title=title,
                description=f"Copy STAGING/{folder} into {dest}, rewrite its imports and move "
                "its SQL behind orchestrator RPC, type-checked and approved.",
                details=details,
            )
            changes.append(change)
            sub_id = change.ids[0]
        else:
            sub_id = format_id(int(str(parent["id"])), stored_id(sub["id"]))
            if (sub.get("details") or "") != details:
                changes.append(update_task(tf, sub_id, details=details))
        current = find_task(tf, sub_id).get("status")
        if current != status:
            changes.append(set_status(tf, [sub_id], status, cascade_parent=True))
        if failure is not None:
            fix_title = remediation_title(folder)
            existing = next((s for s in subs if s.get("title") == fix_title), None)
            if existing is None:
                shown = "\n".join(
                    f"- {f.file}:{f.line}:{f.column} {f.code or ''} {f.message}"
                    for f in findings[:_FINDINGS_SHOWN]
                )
                change = add_subtask(
                    tf,
                    epic,
                    title=fix_title,
                    description=failure,
                    details=f"Nothing of the folder was applied.\n{shown}".strip(),
                    dependencies=[sub_id],
                )
                changes.append(change)
                remediation.append(change.ids[0])
            else:
                remediation.append(format_id(int(str(parent["id"])), stored_id(existing["id"])))
    if changes:
        ws.ensure_state_dir()
        with Ledger.open(ws.ledger_path) as ledger:
            for change in changes:
                record_change(ledger, change, actor=ACTOR, path=tasks_path)
    return {
        "subtask": sub_id,
        "status": status,
        "remediation": remediation,
        "changes": [c.summary for c in changes],
    }


def _details(where: str, failure: str | None, open_items: Sequence[str]) -> str:
    lines = [f"vibehq epic: {where}."]
    if failure:
        lines.append(f"Failed: {failure}")
    if open_items:
        lines.append("Still to do:")
        lines += [f"- {item}" for item in open_items]
    return "\n".join(lines)
