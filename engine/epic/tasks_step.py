"""Step 7 of an epic folder, tasks: the folder's task in the plan brought up to date. A mixin of
`EpicRunner`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.approvals.queue import get_item
from engine.epic.models import FOLDER_STEPS, EpicRun
from engine.epic.queue_view import why
from engine.epic.run_models import StepOutcome
from engine.epic.spec import FolderJob
from engine.ledger.store import Ledger
from engine.patch.validation import ValidationResult
from engine.settings import Settings
from engine.workspace import Workspace


class TasksStep:
    """The tasks step's work; `EpicRunner` provides the attributes and methods declared here."""

    ws: Workspace
    settings: Settings
    run: EpicRun
    tasks_path: Path | None
    _where: Callable[[FolderJob], str]
    _status: Callable[[FolderJob, str], str | None]
    _data: Callable[[FolderJob, str], dict[str, Any]]
    _dir: Callable[[FolderJob], Path]

    def _tasks(self, job: FolderJob) -> StepOutcome:
        from engine.epic.plan_sync import sync_folder_task

        epic = self.run.options.epic_task
        if self.tasks_path is None or epic is None or not self.tasks_path.is_file():
            return StepOutcome("skipped", {"why": "no tasks.json or epic task to update"})
        where = self._where(job)
        failure = next(
            (
                self._data(job, s).get("error")
                for s in FOLDER_STEPS
                if self._status(job, s) == "failed"
            ),
            None,
        )
        validation_path = self._dir(job) / "validation.json"
        findings = (
            ValidationResult.model_validate_json(validation_path.read_bytes()).findings
            if validation_path.is_file()
            else []
        )
        data = sync_folder_task(
            self.ws,
            self.tasks_path,
            epic,
            folder=job.name,
            dest=job.dest,
            where=where,
            failure=failure,
            findings=findings,
            open_items=self._open_items(job),
            settings=self.settings,
        )
        return StepOutcome("done", data)

    def _open_items(self, job: FolderJob) -> list[str]:
        lines: list[str] = []
        approve_data = self._data(job, "approve")
        for facts in approve_data.get("items", []):
            if facts.get("state") == "pending":
                lines.append(f"approval #{facts['id']}: {facts.get('title', '')}")
        with Ledger.open(self.ws.ledger_path) as ledger:
            for item_id in self._data(job, "refactor").get("items", []):
                item = get_item(ledger, item_id)
                if item.state == "pending":
                    lines.append(f"needs-model #{item.id}: {why(item)}")
        return lines
