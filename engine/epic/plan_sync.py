"""Keep tasks.json true to an epic run: one subtask per folder under the epic task, its status
and a details paragraph saying where the folder stands, and a remediation subtask for a
folder whose change failed. Re-running changes only what moved; every change goes through the
plan-change service (`engine.plan.change`) with the epic as its actor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.patch.validation import Finding
from engine.plan.change import change_plan
from engine.plan.document import TasksFile, find_task, format_id, stored_id
from engine.plan.ops import PlanChange, add_subtask, set_status, update_task
from engine.settings import Settings, load_settings
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
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Bring the folder's subtask (and its remediation subtask) in line with `where`.

    Without `settings` the workspace's own are read, so `[plan] tag` and the lock timeout hold
    for a caller that has none at hand."""
    status = _STATUS_OF.get(where, "in-progress")
    if where == "applied" and open_items:
        status = "in-progress"
    sync = _FolderSync(
        epic=epic,
        folder=folder,
        dest=dest,
        status=status,
        details=_details(where, failure, open_items),
        failure=failure,
        findings=findings,
    )
    result = change_plan(ws, settings or load_settings(ws.root), sync, ACTOR, file=tasks_path)
    return {
        "subtask": sync.sub_id,
        "status": status,
        "remediation": sync.remediation,
        "changes": [c.summary for c in result.changes],
    }


@dataclass
class _FolderSync:
    """The edit run inside the tasks.json lock; it keeps the ids it found or made for the
    caller's answer."""

    epic: str
    folder: str
    dest: str
    status: str
    details: str
    failure: str | None
    findings: Sequence[Finding]
    sub_id: str = ""
    remediation: list[str] = field(default_factory=list)

    def __call__(self, tf: TasksFile) -> list[PlanChange]:
        changes: list[PlanChange] = []
        parent = find_task(tf, self.epic)
        subs = parent.get("subtasks") or []
        title = folder_title(self.folder, self.dest)
        sub = next((s for s in subs if s.get("title") == title), None)
        if sub is None:
            change = add_subtask(
                tf,
                self.epic,
                title=title,
                description=f"Copy STAGING/{self.folder} into {self.dest}, rewrite its imports "
                "and move its SQL behind orchestrator RPC, type-checked and approved.",
                details=self.details,
            )
            changes.append(change)
            self.sub_id = change.ids[0]
        else:
            self.sub_id = format_id(int(str(parent["id"])), stored_id(sub["id"]))
            if (sub.get("details") or "") != self.details:
                changes.append(update_task(tf, self.sub_id, details=self.details))
        current = find_task(tf, self.sub_id).get("status")
        if current != self.status:
            changes.append(set_status(tf, [self.sub_id], self.status, cascade_parent=True))
        if self.failure is not None:
            changes += self._remediate(tf, parent, subs)
        return changes

    def _remediate(
        self, tf: TasksFile, parent: dict[str, Any], subs: list[dict[str, Any]]
    ) -> list[PlanChange]:
        fix_title = remediation_title(self.folder)
        existing = next((s for s in subs if s.get("title") == fix_title), None)
        if existing is not None:
            self.remediation.append(format_id(int(str(parent["id"])), stored_id(existing["id"])))
            return []
        shown = "\n".join(
            f"- {f.file}:{f.line}:{f.column} {f.code or ''} {f.message}"
            for f in self.findings[:_FINDINGS_SHOWN]
        )
        change = add_subtask(
            tf,
            self.epic,
            title=fix_title,
            description=self.failure or "",
            details=f"Nothing of the folder was applied.\n{shown}".strip(),
            dependencies=[self.sub_id],
        )
        self.remediation.append(change.ids[0])
        return [change]


def _details(where: str, failure: str | None, open_items: Sequence[str]) -> str:
    lines = [f"vibehq epic: {where}."]
    if failure:
        lines.append(f"Failed: {failure}")
    if open_items:
        lines.append("Still to do:")
        lines += [f"- {item}" for item in open_items]
    return "\n".join(lines)
