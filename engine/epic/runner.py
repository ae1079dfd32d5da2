"""The epic's deterministic spine: every folder through plan, migrate, refactor, gate, approve,
apply and the task plan, resumable step by step from the ledger.

Folders go in order, and each one's change is computed in full before anything is written,
on an overlay holding the changes of the run's earlier folders that passed their gate and
are not applied yet. So a folder's change is pinned to the tree it will really meet: the
earlier folders applied in order, then it. Nothing of a folder reaches the workspace unless
its whole change (migration, recipes, and any model answers in it) type-checks with no new
error and every approval item of it is approved.

Model work is the one thing injected (`ModelAnswerer`, from crews/): without it every
needs-model site stays an approval item that says what a model or a human must do.
Resuming runs each folder from its first unfinished step; a step left running by a killed
process runs again, and the apply step checks the ledger first, so nothing is applied twice.

Before any folder, the run's preparation step (`WorkspaceStep`) makes every STAGING folder of
the run a member of the target's workspaces, excludes every destination that brings its own
tsconfig from the tsconfigs that would swallow it, installs once and takes each folder's
STAGING baseline (every project of the folder). A failed preparation holds every folder
back, waiting with its error named. Each folder's gate then type-checks only the projects
that own its changed files (`project_gate`): the folder's own projects against its STAGING
baseline, any other project it touches against a per-run baseline of that project, and the
files only the root tsconfig owns (the orchestrator's entrypoints) in a narrow program of
their folders, against the same narrow program before the change.

Gates run concurrently (`jobs` threads, each running tsc processes) while everything that
writes stays ordered: plan, migrate and refactor run folder by folder in this thread (during
the run's install, when there is one), each on an overlay of the earlier folders' changes
that have not failed, and a folder's gate starts as soon as its refactor is done, on its own
overlay, while the next folders are computed;
the verdicts are recorded in folder order (in this thread, once all are computed), and apply
is ordered and atomic per folder. That is sound because, after the preparation step, a
folder's change touches only its own destination (plus the orchestrator when the refactor
adds RPC methods there): the shared root files are the preparation batch's. A folder's own
project therefore sees only its own folder and the shared dependencies, whatever the other
folders do. When an earlier folder that the overlay assumed would pass does not, and it
touched a file this folder's change also touches, this folder's change is computed and gated
again on the overlay it will really meet.

Plan, migrate, the recipes and the review only read their overlays, in this process, so
those hard-link the workspace's files: one linked `TreeMirror` per phase (`_read_overlay`), moved
from one folder's layers to the next. The gate's and the crew's, where tools run, are copies.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.approvals.apply import APPLIED_EVENT, apply_approved
from engine.approvals.models import (
    ApprovalItem,
    ApprovalRequest,
    NeedsModelPayload,
    PatchBatchPayload,
)
from engine.approvals.queue import approve, approve_all_safe, get_item, list_items, subject, submit
from engine.approvals.review import review_batch
from engine.epic import plan_task
from engine.epic.answer_check import AnswerValidator
from engine.epic.changeset import Changeset, merged, overlay
from engine.epic.models import (
    FOLDER_STEPS,
    REPORT_STEP,
    RUN_FOLDER,
    EpicEvent,
    EpicOptions,
    EpicRun,
    EpicSpec,
    RunStatus,
    StepRecord,
    StepStatus,
)
from engine.epic.project_gate import LISTED, VALIDATOR_NAME, check_folder
from engine.epic.queue_view import folder_of, human_answer, item_facts, live_proposals, message, why
from engine.epic.refactor_step import RefactorStep
from engine.epic.run_models import (
    REQUESTER,
    SHOWN,
    EpicSummary,
    ModelAnswer,
    ModelAnswerer,
    StepOutcome,
    WaitingItem,
)
from engine.epic.spec import FolderJob, folder_jobs
from engine.epic.store import (
    UnknownRun,
    begin_step,
    create_run,
    finish_step,
    load_run,
    set_run_status,
)
from engine.epic.tasks_step import TasksStep
from engine.epic.workspace_step import WorkspaceStep, baseline_facts
from engine.errors import CheckFailed, VibehqError
from engine.ids import new_run_id
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.migrate.planner import plan_migration
from engine.migrate.runner import tsconfig_paths_batch
from engine.patch.apply import recover_workspace
from engine.patch.journal import Journal
from engine.patch.models import PatchBatch
from engine.patch.patch_events import patch_events
from engine.patch.staging import TreeMirror
from engine.patch.validation import BatchValidator, ValidationResult
from engine.settings import Settings
from engine.validate.baseline import Baseline, BaselineFinding, fingerprint
from engine.validate.gate import verdict_event
from engine.validate.judge import GateContext, judge
from engine.validate.projects import TSCONFIG, check_project, folder_tsconfig_op, project_hash
from engine.validate.quality import QualityReport
from engine.validate.staging_baseline import render
from engine.workspace import Workspace

__all__ = [
    "EpicRunner",
    "EpicSummary",
    "ModelAnswer",
    "ModelAnswerer",
    "WaitingItem",
    "answer_reviewer",
]

FOLDER_SIGNATURE = "epic/folder"
RECIPE_LABEL = "migration copy, import rewrites and D1-to-RPC recipes"


Emit = Callable[[EpicEvent], None]


@dataclass(frozen=True)
class _StartedGate:
    index: int
    job: FolderJob
    # The earlier folders its overlay holds (`_stale` checks them when recording).
    assumed: list[str]
    outcome: Future[StepOutcome]


def _no_emit(event: EpicEvent) -> None:
    del event


class EpicRunner(RefactorStep, TasksStep, WorkspaceStep):
    """Runs (or resumes) one epic run. Call `prepare`, `decide`, `apply`, `update_plan`,
    `report` and `finish` in that order; each is a step of the epic flow."""

    def __init__(
        self,
        ws: Workspace,
        settings: Settings,
        run: EpicRun,
        *,
        tasks_path: Path | None,
        validator: BatchValidator | None,
        answerer: ModelAnswerer | None = None,
        emit: Emit | None = None,
        reporter: Callable[[Workspace, str], dict[str, str]] | None = None,
        jobs: int | None = None,
    ) -> None:
        self.ws = ws
        self.settings = settings
        self.run = run
        self.tasks_path = tasks_path
        self.validator = validator
        self.answerer = answerer
        self.emit = emit or _no_emit
        self.reporter = reporter
        self.jobs = folder_jobs(run.spec, run.options.folders)
        self.workers = max(1, jobs or run.options.jobs or os.cpu_count() or 1)
        # While True, a folder's overlay also holds the earlier folders not gated yet.
        self._optimistic = False
        self._baseline_lock = threading.Lock()
        self._mirror: TreeMirror | None = None
        self._gate_mirrors: _GateMirrors | None = None

    # -- creating and opening runs --------------------------------------------------------------

    @classmethod
    def create(
        cls,
        ws: Workspace,
        settings: Settings,
        spec: EpicSpec,
        *,
        source: str,
        options: EpicOptions,
        tasks_path: Path | None,
        run_id: str | None = None,
    ) -> EpicRun:
        """Check everything a run needs, then record it. Bad input raises before anything."""
        folder_jobs(spec, options.folders)
        epic_task = plan_task.epic_task(ws, settings, spec, tasks_path)
        rel_tasks = None if tasks_path is None else plan_task.relative_or_absolute(ws, tasks_path)
        options = options.model_copy(update={"epic_task": epic_task, "tasks_file": rel_tasks})
        ws.ensure_state_dir()
        with Ledger.open(ws.ledger_path) as ledger:
            return create_run(
                ledger, run_id or new_run_id("epic"), spec=spec, source=source, options=options
            )

    @staticmethod
    def load(ws: Workspace, run_id: str) -> EpicRun:
        with Ledger.open(ws.ledger_path) as ledger:
            return load_run(ledger, run_id)

    # -- the stages -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """The run's workspace preparation, then steps 1-4 per folder: plan, migrate and
        refactor (recipes, then the crew for each needs-model item) in order, each folder's
        gate starting as soon as its refactor is done, `workers` gates at a time while the
        next folders are computed. Nothing of a folder is written to the workspace."""
        self.prepare_workspace()
        held = self.preparation_error()
        pool = ThreadPoolExecutor(max_workers=self.workers)
        self._optimistic = True
        self._gate_mirrors = mirrors = _GateMirrors(self.ws)
        try:
            with self._mirrored():
                started = [
                    self._start_gate(pool, index, job)
                    for index, job in enumerate(self.jobs)
                    if self._computed(job, index, held)
                ]
                self._record_gates(started)
        finally:
            self._optimistic = False
            # Interrupted: the gates not started yet are dropped (none was recorded as begun,
            # so a resume runs them) and the running ones are waited for.
            pool.shutdown(wait=True, cancel_futures=True)
            self._gate_mirrors = None
            mirrors.close()

    def prepare_workspace(self) -> None:
        """The run's workspace preparation (membership, install), with every folder planned,
        migrated and refactored while the install runs."""
        self._set_status("running")
        self._prepare_run(ahead=self._compute_ahead)

    def _compute_ahead(self) -> None:
        """Plan, migrate and refactor each folder not computed yet, on top of the earlier ones
        (assumed to pass, as while the gates run). A folder's gate, or a refactor to redo for
        a folder that waited, is left to `prepare`. The install writes only node_modules (a
        link in the mirror) and the lockfile meanwhile, which none of these steps reads."""
        self._optimistic = True
        try:
            with self._mirrored():
                for index, job in enumerate(self.jobs):
                    self._compute(job, index)
        finally:
            self._optimistic = False

    def _computed(self, job: FolderJob, index: int, held: str | None) -> bool:
        """Plan, migrate and refactor the folder as far as it goes; True when its gate is to
        run now."""
        gate = self._status(job, "gate")
        if held is not None:
            # Without the run's preparation (membership, install) no folder can be
            # judged fairly: each waits, naming the error, until a resume finds it done.
            if gate != "done" and self._status(job, "apply") != "done":
                record = self._begin(job.name, "gate")
                waiting = {"ok": False, "prep_failed": held, "why": held}
                self._finish(record, "waiting", waiting)
            return False
        prep_waited = gate == "waiting" and bool(self._data(job, "gate").get("prep_failed"))
        # A folder whose gate waited on needs-model items looks for answers again: when the
        # crew can be asked, or when a human answered or decided one since.
        redo = (
            gate == "waiting"
            and not self._data(job, "gate").get("needs_install")
            and not prep_waited
            and (
                self.answerer is not None
                or self._answers_state(job) != self._data(job, "refactor").get("answers_state")
            )
        )
        # One that waited on the install goes on once the install is done.
        installed = bool(self._data(job, "gate").get("needs_install")) and (
            self.install_waiting(job) is None
        )
        return self._compute(job, index, redo=redo) and (
            gate not in ("done", "waiting", "failed") or redo or installed or prep_waited
        )

    def _compute(self, job: FolderJob, index: int, *, redo: bool = False) -> bool:
        """Plan, migrate and refactor (again, with `redo`) as far as the folder goes; True
        when all three are done."""
        steps: list[tuple[str, Callable[[FolderJob, int], StepOutcome], bool]] = [
            ("plan", self._plan, False),
            ("migrate", self._migrate, False),
            ("refactor", self._refactor, redo),
        ]
        return all(
            self._run_step(job, name, functools.partial(work, job, index), again=again)
            for name, work, again in steps
        )

    def _start_gate(self, pool: ThreadPoolExecutor, index: int, job: FolderJob) -> _StartedGate:
        """Start the folder's gate in `pool`. Its layers are taken here, in this thread, once
        the earlier folders are refactored: the flag they depend on changes while the gates
        run (`_recompute`)."""
        layers = self._layers(index)
        return _StartedGate(
            index, job, self._layer_folders(index), pool.submit(self._gate, job, index, layers)
        )

    def _record_gates(self, started: list[_StartedGate]) -> None:
        """Record the verdicts in folder order, whatever order the gates finish in; the step
        rows are written here, in this thread. A folder whose overlay held an earlier folder
        that then failed, sharing a file with it, is computed and gated again, alone, on the
        overlay it will really meet."""
        for gate in started:
            record = self._begin(gate.job.name, "gate")
            try:
                outcome = gate.outcome.result()
            except VibehqError as exc:
                outcome = StepOutcome("failed", {"error": exc.message})
            self._finish(record, outcome.status, outcome.data)
            if self._stale(gate.job, gate.index, gate.assumed):
                self._recompute(gate.job, gate.index)

    def _layer_folders(self, index: int, optimistic: bool | None = None) -> list[str]:
        return [job.name for job in self.jobs[:index] if self._in_overlay(job, optimistic)]

    def _stale(self, job: FolderJob, index: int, assumed: list[str]) -> bool:
        """True when an earlier folder the overlay held did not pass its gate and shares a
        file with this folder's change."""
        now = set(self._layer_folders(index, optimistic=False))
        dropped = [j for j in self.jobs[:index] if j.name in assumed and j.name not in now]
        if not dropped:
            return False
        mine = set(self._changes(job, "recipes").paths) | set(self._changes(job, "model").paths)
        return any(
            mine & (set(self._changes(j, "recipes").paths) | set(self._changes(j, "model").paths))
            for j in dropped
        )

    def _recompute(self, job: FolderJob, index: int) -> None:
        self._optimistic = False
        try:
            (self._dir(job) / "refactor.json").unlink(missing_ok=True)
            for name, work in (
                ("migrate", self._migrate),
                ("refactor", self._refactor),
                ("gate", self._gate),
            ):
                if not self._run_step(job, name, functools.partial(work, job, index), again=True):
                    break
        finally:
            self._optimistic = True

    def decide(self) -> None:
        """Step 5: queue each gated folder's change; the policy passes what it may."""
        with self._mirrored():
            for job in self.jobs:
                if self._status(job, "gate") == "done" and self._status(job, "apply") != "done":
                    self._run_step(
                        job, "approve", functools.partial(self._approve, job), again=True
                    )

    def apply(self) -> None:
        """Step 6: apply every approved folder, in order, each as one atomic batch."""
        for job in self.jobs:
            if self._status(job, "approve") == "done":
                self._run_step(job, "apply", functools.partial(self._apply, job))
        self._move_members()

    def update_plan(self) -> None:
        """Step 7: the folder's subtask under the epic task, its status, remediation tasks."""
        for job in self.jobs:
            if self._status(job, "plan") is not None:
                self._run_step(job, "tasks", functools.partial(self._tasks, job), again=True)

    def report(self, summary: EpicSummary) -> EpicSummary:
        """Step 8: the delivery report of the run (Markdown, JSON, HTML), written after
        `finish` so it shows the run's final status; its paths join the stored summary."""
        if self.reporter is None:
            return summary
        record = self._begin(RUN_FOLDER, REPORT_STEP)
        try:
            paths = self.reporter(self.ws, self.run.run_id)
        except VibehqError as exc:
            self._finish(record, "failed", {"error": exc.message})
            return summary
        self._finish(record, "done", dict(paths))
        summary = summary.model_copy(update={"report": dict(paths)})
        with Ledger.open(self.ws.ledger_path) as ledger:
            set_run_status(
                ledger,
                self.run.run_id,
                summary.status,
                summary=json.loads(summary.model_dump_json()),
            )
        return summary

    def finish(self) -> EpicSummary:
        """Where the run stands, and exactly what a model or a human must still do."""
        run = self._reload()
        summary = EpicSummary(run_id=run.run_id, status="done")
        with Ledger.open(self.ws.ledger_path) as ledger:
            items = list_items(ledger, run_id=run.run_id)
            # A needs-model item with a live proposal waits on that proposal, listed itself.
            needs_model = [
                i
                for i in list_items(ledger, kind="needs_model", state="pending")
                if i.id in self._work_item_ids() and not live_proposals(ledger, i.id)
            ]
        by_id = {i.id: i for i in [*items, *needs_model]}
        answered = {
            i.id
            for i in items
            if isinstance(i.payload, NeedsModelPayload) and i.id not in {n.id for n in needs_model}
        }
        for item_id in answered:
            del by_id[item_id]
        for job in self.jobs:
            summary.folders[job.name] = self._where(job)
            failed = next(
                (s for s in FOLDER_STEPS if self._status(job, s) == "failed"),
                None,
            )
            if failed is not None:
                record = run.step(job.name, failed)
                error = (record.data.get("error") if record else None) or f"{failed} failed"
                summary.failed[job.name] = f"{failed}: {error}"
        for item in by_id.values():
            if item.state != "pending":
                continue
            folder = folder_of(item, self.jobs)
            summary.waiting.append(
                WaitingItem(
                    id=item.id,
                    kind=item.kind,
                    folder=folder,
                    title=item.title,
                    why=why(item),
                )
            )
        summary.waiting.sort(key=lambda w: w.id)
        if any(w.kind == "needs_model" for w in summary.waiting) and self.answerer is None:
            summary.model_note = (
                "no model is configured ([route.tiers] in vibehq.toml): needs-model items "
                "wait for a model (configure one and `vibehq epic resume`) or a human "
                "(`vibehq approvals approve ID --edit batch.json`)"
            )
        installs = {j.name: i for j in self.jobs if (i := self.install_waiting(j)) is not None}
        held = self.preparation_error()
        if held is not None:
            summary.status = "failed"
        elif summary.waiting or installs:
            summary.status = "paused"
        elif summary.failed:
            summary.status = "failed"
        summary.message = message(summary)
        if held is not None:
            summary.message += f"; {held}; fix it, then `vibehq epic resume {run.run_id}`"
        members = self.members_note()
        if members is not None:
            summary.message += f"; {members}; fix it, then `vibehq epic resume {run.run_id}`"
        if installs:
            first = next(iter(installs.values()))
            summary.message += (
                f"; {len(installs)} folders wait on the install ({first});"
                f" fix it, then `vibehq epic resume {run.run_id}`"
            )
        with Ledger.open(self.ws.ledger_path) as ledger:
            set_run_status(
                ledger,
                run.run_id,
                summary.status,
                summary=json.loads(summary.model_dump_json()),
            )
        self.emit(
            EpicEvent(run_id=run.run_id, kind="run", status=summary.status, message=summary.message)
        )
        return summary

    # -- step bookkeeping -------------------------------------------------------------------------

    def _run_step(
        self, job: FolderJob, step: str, work: Callable[[], StepOutcome], *, again: bool = False
    ) -> bool:
        """Run a step unless it is done (or `again` says to run it anyway); True when the
        folder may go on to its next step."""
        status = self._status(job, step)
        if status in ("done", "waiting", "failed") and not again:
            return status == "done"
        record = self._begin(job.name, step)
        try:
            outcome = work()
        except VibehqError as exc:
            outcome = StepOutcome("failed", {"error": exc.message})
        self._finish(record, outcome.status, outcome.data)
        return outcome.status == "done"

    def _begin(self, folder: str, step: str) -> StepRecord:
        with Ledger.open(self.ws.ledger_path) as ledger:
            record = begin_step(ledger, self.run.run_id, folder, step)
        self.emit(
            EpicEvent(
                run_id=self.run.run_id, kind="step", folder=folder, step=step, status="running"
            )
        )
        return record

    def _finish(self, record: StepRecord, status: StepStatus, data: dict[str, Any]) -> None:
        with Ledger.open(self.ws.ledger_path) as ledger:
            done = finish_step(ledger, record, status, data)
        self.run.steps = [
            s for s in self.run.steps if (s.folder, s.step) != (record.folder, record.step)
        ] + [done]
        message = data.get("error") or data.get("why")
        self.emit(
            EpicEvent(
                run_id=self.run.run_id,
                kind="step",
                folder=record.folder,
                step=record.step,
                status=status,
                message=None if message is None else str(message),
            )
        )

    def _status(self, job: FolderJob, step: str) -> str | None:
        record = self.run.step(job.name, step)
        return None if record is None else record.status

    def _data(self, job: FolderJob, step: str) -> dict[str, Any]:
        record = self.run.step(job.name, step)
        return {} if record is None else record.data

    def _reload(self) -> EpicRun:
        self.run = self.load(self.ws, self.run.run_id)
        return self.run

    def _set_status(self, status: RunStatus) -> None:
        with Ledger.open(self.ws.ledger_path) as ledger:
            set_run_status(ledger, self.run.run_id, status)
        self.emit(EpicEvent(run_id=self.run.run_id, kind="run", status=status))

    # -- files of a folder ------------------------------------------------------------------------

    def _dir(self, job: FolderJob) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", job.name).strip("-.") or "folder"
        path = self.ws.runs_dir / self.run.run_id / "folders" / slug
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _changes(self, job: FolderJob, part: str) -> Changeset:
        return Changeset.load(self._dir(job) / part)

    def _save(self, job: FolderJob, part: str, changes: Changeset) -> None:
        changes.save(self._dir(job) / part)

    def _layers(self, index: int) -> list[Changeset]:
        """The changes of the earlier folders that passed their gate and are not applied yet:
        the tree this folder will meet when its turn to be applied comes. While the run is
        preparing, also those refactored and not gated yet (assumed to pass; `_stale`)."""
        layers: list[Changeset] = []
        for job in self.jobs[:index]:
            if self._in_overlay(job):
                layers += [self._changes(job, "recipes"), self._changes(job, "model")]
        return layers

    def _in_overlay(self, job: FolderJob, optimistic: bool | None = None) -> bool:
        if self._status(job, "apply") == "done":
            return False
        gate = self._status(job, "gate")
        if gate == "done":
            return True
        return (
            (self._optimistic if optimistic is None else optimistic)
            and gate in (None, "running")
            and self._status(job, "refactor") == "done"
        )

    @contextmanager
    def _overlay(self, layers: Sequence[Changeset], *, link: bool = False) -> Iterator[Workspace]:
        with overlay(self.ws, layers, link=link) as ovl:
            yield ovl

    @contextmanager
    def _read_overlay(self, layers: Sequence[Changeset]) -> Iterator[Workspace]:
        """The tree with `layers` for this thread's in-process readers (plan, migrate, the
        recipes, the review): the phase's mirror moved to them when one is open (`_mirrored`),
        else a linked overlay of their own."""
        if self._mirror is None:
            with self._overlay(layers, link=True) as ovl:
                yield ovl
        else:
            yield Workspace.open(self._mirror.show(merged(layers)))

    @contextmanager
    def _gate_tree(self, layers: Sequence[Changeset], *, link: bool) -> Iterator[Workspace]:
        """The tree with `layers` for a gate: this gate thread's mirror of that kind moved to
        them while the gates of `prepare` run (`_GateMirrors`), else an overlay of its own."""
        mirrors = self._gate_mirrors
        if mirrors is None:
            with self._overlay(layers, link=link) as ovl:
                yield ovl
        else:
            yield Workspace.open(mirrors.mine(link=link).show(merged(layers)))

    @contextmanager
    def _mirrored(self) -> Iterator[None]:
        """One linked mirror for this thread's readers while the workspace is not written (a
        phase of the run): each folder's overlay rewrites only what differs from the last one,
        instead of linking the whole tree and writing every earlier folder's change again."""
        self._mirror = TreeMirror(self.ws.root, self.ws.tmp_dir)
        try:
            yield
        finally:
            self._mirror.close()
            self._mirror = None

    # -- 1. plan ----------------------------------------------------------------------------------

    def _plan(self, job: FolderJob, index: int) -> StepOutcome:
        # Plan and migrate only read the overlay, in this process: hard links are safe there.
        with self._read_overlay(self._layers(index)) as ovl:
            result = plan_migration(ovl, job.loaded)
        plan = result.plan
        totals = plan.totals()
        (self._dir(job) / "plan.json").write_text(plan.model_dump_json(indent=1), encoding="utf-8")
        data: dict[str, Any] = {
            "dest": job.dest,
            "files": totals["files"],
            "rewrites": totals["rewrites"],
            "unresolved": totals["unresolved"],
            "sql_sites": totals["sql_sites"],
            "sql_folders": [f.dest_root for f in plan.folders if f.sql_sites],
        }
        conflicts = [c.dest for f in plan.folders for c in f.conflicts]
        if conflicts:
            shown = ", ".join(conflicts[:5]) + (
                f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            )
            data["error"] = f"{len(conflicts)} destination files exist with other content: {shown}"
            return StepOutcome("failed", data)
        return StepOutcome("done", data)

    # -- 2. migrate -------------------------------------------------------------------------------

    def _migrate(self, job: FolderJob, index: int) -> StepOutcome:
        changes = Changeset()
        with self._read_overlay(self._layers(index)) as ovl:
            result = plan_migration(ovl, job.loaded)
            for folder in result.plan.folders:
                for planned in folder.files:
                    if planned.status == "identical":
                        continue
                    target = ovl.resolve(planned.dest)
                    old = target.read_bytes() if target.is_file() else None
                    changes.record(planned.dest, old, result.contents[planned.dest])
            tsconfig = tsconfig_paths_batch(ovl, self.run.run_id, job.loaded, result.plan)
            if tsconfig is not None:
                changes.add_batch(ovl, tsconfig)
            # A folder without a tsconfig gets one extending the workspace's base, so its gate
            # checks it as its own project, never as part of the root program.
            own = f"{job.dest}/{TSCONFIG}"
            if own not in changes.new and not ovl.resolve(own).is_file():
                op = folder_tsconfig_op(ovl.root, job.dest)
                if op is not None and op.block is not None:
                    changes.record(op.file, None, op.block.encode("utf-8"))
        self._save(job, "recipes", changes)
        # What the migration copied is the gate's origin: STAGING's own findings are reported
        # as pre-existing, what recipes and models add later is judged as theirs.
        self._save(job, "migrated", changes)
        return StepOutcome("done", {"files": len(changes.paths), "changed": changes.paths[:SHOWN]})

    # -- 3. refactor ------------------------------------------------------------------------------

    def _refactor(self, job: FolderJob, index: int) -> StepOutcome:
        layers = self._layers(index)
        recipes = self._changes(job, "recipes")
        facts_path = self._dir(job) / "refactor.json"
        if not facts_path.is_file():
            facts = self._run_recipes(job, layers, recipes)
            facts_path.write_text(json.dumps(facts, indent=1), encoding="utf-8")
        facts = json.loads(facts_path.read_text(encoding="utf-8"))
        model, answers = self._model_work(job, [*layers, recipes], facts["items"])
        self._save(job, "model", model)
        answers["answers_state"] = self._answers_state(job, facts["items"])
        return StepOutcome("done", {**facts["share"], **answers})

    # -- 4. gate ----------------------------------------------------------------------------------

    def _gate(
        self, job: FolderJob, index: int, layers: list[Changeset] | None = None
    ) -> StepOutcome:
        item = self.install_waiting(job)
        if item is not None:
            return StepOutcome("waiting", {"ok": False, "needs_install": item, "why": item})
        layers = self._layers(index) if layers is None else layers
        recipes, model = self._changes(job, "recipes"), self._changes(job, "model")
        if not recipes and not model:
            return StepOutcome("done", {"ok": True, "unchanged": True, "violations": 0})
        origins = self._origins(job)
        ctx = GateContext(
            settings=self.settings,
            # Run below, once, on the overlay with every layer and the model's answers.
            skip={
                "quarantine": "(each agent's proposal was judged when it was made)",
                "validators": "(run on the folder's overlay next)",
            },
            dry_run=True,
            origins=origins,
        )
        # The quality monitor reads the tree in this process: a linked one.
        with self._gate_tree(layers, link=True) as before:
            verdict = judge(before, self._folder_batch(job, recipes), ctx)
        quality = verdict.quality
        critical = [v for v in quality.violations if v.severity == "critical"]
        data: dict[str, Any] = {
            "violations": len(quality.violations),
            "critical": len(critical),
            "preexisting": len(verdict.preexisting.violations),
            "verdict": verdict.summary,
            "quarantined": self._quarantined(job),
        }
        (self._dir(job) / "quality.json").write_text(quality.model_dump_json(), encoding="utf-8")
        with Ledger.open(self.ws.ledger_path) as ledger:
            ledger.record(verdict_event(verdict))
        if verdict.policy == "refuse":
            data.update(ok=False, refused=verdict.reason, error=verdict.reason)
            return StepOutcome("failed", data)
        if verdict.policy == "hold":
            # A secret STAGING already held: the folder waits for a human to clear it at the
            # source; a later run plans it again.
            data.update(ok=False, held=verdict.reason, error=f"held for a human: {verdict.reason}")
            return StepOutcome("failed", data)
        baseline = self._take_baseline(job)
        if baseline is not None:
            data["baseline"] = baseline
        validation = self._validate(job, [*layers, recipes, model])
        taken = self.staging_baseline(job)
        if baseline is not None and taken is not None:
            # The check may have needed the folder's STAGING findings after all.
            data["baseline"] = baseline_facts(taken)
        if validation is None:
            # Nothing checked it: the policy's recipe rule will not vouch for it either.
            data.update(ok=True, tsc_new_errors=0, tsc_summary="no validator ran")
            return StepOutcome("done", data)
        (self._dir(job) / "validation.json").write_text(
            validation.model_dump_json(), encoding="utf-8"
        )
        new_errors = len(validation.findings)
        data.update(
            ok=validation.ok,
            tsc_new_errors=new_errors,
            tsc_summary=validation.summary,
            new_errors=[render(f) for f in validation.findings[:SHOWN]],
            tsc_seconds=validation.duration_s,
        )
        if validation.ok:
            return StepOutcome("done", data)
        unanswered = self._data(job, "refactor").get("unanswered", [])
        if unanswered:
            data["why"] = (
                f"{validation.summary}; {len(unanswered)} needs-model items "
                f"({', '.join(f'#{i}' for i in unanswered)}) must be answered first"
            )
            return StepOutcome("waiting", data)
        data["error"] = f"the folder's change does not type-check: {validation.summary}"
        return StepOutcome("failed", data)

    def _origins(self, job: FolderJob) -> dict[str, bytes]:
        """What the migration copied: STAGING's own findings in it are pre-existing, at the
        gate step, at review and at apply."""
        migrated = self._changes(job, "migrated")
        return {p: c for p in migrated.paths if (c := migrated.new.get(p)) is not None}

    def _validate(self, job: FolderJob, layers: list[Changeset]) -> ValidationResult | None:
        """With the folder's STAGING baseline (its source is in the workspace): the projects
        owning the folder's changed files, each judged against its own before-picture
        (`project_gate`); the earlier folders' layers are on the overlay but not checked
        again, their own gates did. Without one: the workspace's validator on everything,
        against the root baseline. Either way each new error is listed, not only counted."""
        if self.validator is None:
            return None
        with self._gate_tree(layers, link=False) as ovl:
            mine = {p for layer in layers[-2:] for p in layer.paths}
            earlier = {p for layer in layers[:-2] for p in layer.paths} - mine
            if self.staging_baseline(job) is None:
                changed = sorted({p for layer in layers for p in layer.paths})
                return listed(self.validator.validate(ovl.root, changed))
            return self._folder_check(job, ovl.root, sorted(mine), earlier)

    def _folder_check(
        self, job: FolderJob, root: Path, changed: Sequence[str], earlier: set[str]
    ) -> ValidationResult:
        baseline = self.staging_baseline(job)
        link = self._link_dependencies(job, root)
        try:
            check = check_folder(
                root,
                changed,
                dest=self._data(job, "plan").get("dest", job.dest),
                baseline=baseline,
                project_baseline=self._project_baseline,
                earlier=earlier,
                staging_errors=lambda which: self._staging_errors(job, which),
                source_root=self.ws.root,
            )
        finally:
            # A gate mirror is moved to the next folder's layers: this folder's link goes.
            if link is not None:
                link.unlink()
        return check.result()

    def _apply_validator(self, job: FolderJob) -> BatchValidator | None:
        """The check an apply that must check again runs: the folder's own gate check on the
        tree it now meets (nothing earlier is pending there: it is applied or left out), not
        the root program, which holds every STAGING folder and sees what the install moved."""
        if self.validator is None or self.staging_baseline(job) is None:
            return self.validator
        return _FolderValidator(lambda root, changed: self._folder_check(job, root, changed, set()))

    def _link_dependencies(self, job: FolderJob, overlay_root: Path) -> Path | None:
        """The packages the install nested under the STAGING folder (versions that conflict
        with the hoisted ones) are linked into the destination on the overlay, so the folder
        is checked with the dependencies its baseline was taken with. Returns the link made."""
        source = self._source(job)
        if source is None:
            return None
        nested = self.ws.root / source / "node_modules"
        dest: Path = (
            overlay_root / str(self._data(job, "plan").get("dest", job.dest)) / "node_modules"
        )
        if nested.is_dir() and dest.parent.is_dir() and not dest.exists():
            os.symlink(nested, dest, target_is_directory=True)
            return dest
        return None

    def _project_baseline(self, tsconfig: str, config: bytes | None = None) -> Baseline:
        """A project outside the folder (the orchestrator's, or the narrow program of the
        root-owned files, whose `config` is written in the workspace's state folder first),
        checked in the workspace as it stands the first time a folder of the run touches it,
        after the run's install; kept for the run."""
        path = self.ws.runs_dir / self.run.run_id / "projects" / f"{project_hash(tsconfig)}.json"
        with self._baseline_lock:
            if not path.is_file():
                if config is not None:
                    target = self.ws.root / tsconfig
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(config)
                check = check_project(self.ws.root, tsconfig)
                errors = [f for f in check.findings if f.severity == "error"]
                baseline = Baseline(
                    tool="tsc",
                    created=datetime.now(UTC),
                    findings=[
                        BaselineFinding(**f.model_dump(), fingerprint=fingerprint(f))
                        for f in errors
                    ],
                )
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(baseline.model_dump_json(), encoding="utf-8")
            return Baseline.model_validate_json(path.read_bytes())

    def _quarantined(self, job: FolderJob) -> list[str]:
        with Ledger.open(self.ws.ledger_path) as ledger:
            events = ledger.events(kind="proposal_refused", limit=200)
        items = set(self._data(job, "refactor").get("items", []))
        return sorted(
            {
                str(e.payload.get("agent"))
                for e in events
                if e.payload.get("quarantined") and e.payload.get("work_item") in items
            }
        )

    # -- 5. approve -------------------------------------------------------------------------------

    def _folder_batch(self, job: FolderJob, recipes: Changeset) -> PatchBatch:
        dest = self._data(job, "plan").get("dest", job.dest)
        return recipes.to_batch(
            f"{self.run.run_id}.{self._dir(job).name}",
            requester=REQUESTER,
            reason=f"epic {self.run.name}: {job.name} -> {dest} ({RECIPE_LABEL})",
            task_id=self.run.options.epic_task,
        )

    def _approve(self, job: FolderJob) -> StepOutcome:
        state_path = self._dir(job) / "approval.json"
        state = json.loads(state_path.read_text()) if state_path.is_file() else {}
        recipes = self._changes(job, "recipes")
        auto = self.run.options.auto_approve == "safe"
        with Ledger.open(self.ws.ledger_path) as ledger:
            if "folder_item" not in state and recipes:
                state["folder_item"] = self._submit_folder(ledger, job, recipes, auto)
                state_path.write_text(json.dumps(state), encoding="utf-8")
            proposals = self._data(job, "refactor").get("model_proposals", [])
            if auto and proposals:
                approve_all_safe(ledger, self.settings.approvals, by=REQUESTER, only=proposals)
            # A human's answer to a needs-model item (approve --edit) is applied with it too.
            answered = [
                i
                for i in self._data(job, "refactor").get("items", [])
                if human_answer(get_item(ledger, i)) is not None
            ]
            ids = ([state["folder_item"]] if "folder_item" in state else []) + proposals + answered
            items = [get_item(ledger, i) for i in ids]
        data: dict[str, Any] = {
            "items": [item_facts(i) for i in items],
            "pending": sum(1 for i in items if i.state == "pending"),
        }
        rejected = [i for i in items if i.state in ("rejected", "expired")]
        if rejected:
            data["error"] = "; ".join(
                f"item {i.id} {i.state}"
                + (f" by {i.decision.by}: {i.decision.reason}" if i.decision else "")
                for i in rejected
            )
            return StepOutcome("failed", data)
        if data["pending"]:
            data["why"] = f"waiting for {data['pending']} approvals: " + ", ".join(
                f"#{i.id}" for i in items if i.state == "pending"
            )
            return StepOutcome("waiting", data)
        return StepOutcome("done", data)

    def _submit_folder(self, ledger: Ledger, job: FolderJob, recipes: Changeset, auto: bool) -> int:
        batch = self._folder_batch(job, recipes)
        index = self.jobs.index(job)
        # The review plans the batch and records its diff, in this process, with no validator
        # (the gate step checked it): it only reads the tree. The quality monitor judged this
        # batch on this tree at the gate step; its report is the payload's.
        judged = _stored_quality(self._dir(job))
        with self._read_overlay(self._layers(index)) as before:
            payload = review_batch(
                before, batch, self.settings, origins=self._origins(job), judged=judged
            )
        validation_path = self._dir(job) / "validation.json"
        validation = (
            ValidationResult.model_validate_json(validation_path.read_bytes())
            if validation_path.is_file()
            else None
        )
        payload = payload.model_copy(
            update={
                "validation": validation,
                "recipe": RECIPE_LABEL,
                "quality": judged or payload.quality,
            }
        )
        request = ApprovalRequest(
            payload=payload,
            title=f"epic {self.run.run_id}: {job.name} -> {job.dest} "
            f"({len(recipes.paths)} files, {RECIPE_LABEL})",
            requester=REQUESTER,
            run_id=self.run.run_id,
            step=f"approve:{job.name}",
            signature=FOLDER_SIGNATURE,
        )
        return submit(ledger, request, self.settings.approvals, auto_pass=auto).id

    # -- 6. apply ---------------------------------------------------------------------------------

    def _apply(self, job: FolderJob) -> StepOutcome:
        ids = [int(i["id"]) for i in self._data(job, "approve").get("items", [])]
        index = self.jobs.index(job)
        # An earlier folder this one was checked together with did not land: check again.
        recheck = any(
            self._status(j, "gate") == "done" and self._status(j, "apply") != "done"
            for j in self.jobs[:index]
        )
        # The gate step validated the folder on the overlay it will meet; without a validator
        # the run was started so (the run's options say why) and the verdict names it.
        skipped = (
            "(validated by the epic's gate step)"
            if self.validator is not None
            else "(the epic runs without a validator)"
        )
        batches: list[str] = []
        written = 0
        for item_id in ids:
            with Ledger.open(self.ws.ledger_path) as ledger:
                done = ledger.events(kind=APPLIED_EVENT, subject=subject(item_id), limit=1)
                item = get_item(ledger, item_id)
            if done:
                batches.append(str(done[0].payload.get("batch_id")))
                continue
            payload = item.payload
            batch_id = payload.batch.batch_id if isinstance(payload, PatchBatchPayload) else None
            if batch_id and self._already_applied(batch_id, item_id):
                batches.append(batch_id)
                continue
            try:
                result = apply_approved(
                    self.ws,
                    item_id,
                    self.settings,
                    validator=self._apply_validator(job) if recheck else None,
                    skip=None if recheck and self.validator else {"validators": skipped},
                    accept_unvalidated=True,
                )
            except CheckFailed as exc:
                return StepOutcome(
                    "failed",
                    {"batches": batches, "files_written": written, "error": exc.message},
                )
            batches.append(result.batch.batch_id)
            written += sum(1 for f in result.batch.files if f.action != "unchanged")
        self._close_answered(job)
        return StepOutcome("done", {"batches": batches, "files_written": written})

    def _already_applied(self, batch_id: str, item_id: int) -> bool:
        """A killed run may have applied the batch and died before recording it: the journal
        says so (recovery then writes the batch's ledger rows), and the approval is marked
        applied now instead of applying again."""
        if any(self.ws.journal_dir.glob("*.pending")):
            recover_workspace(self.ws, self.settings)
        record = Journal(self.ws).find(batch_id)
        with Ledger.open(self.ws.ledger_path) as ledger:
            applied = [e for e in patch_events(ledger, batch_id) if e.kind == "applied"]
            committed = record is not None and record.state == "committed"
            if not applied and not committed:
                return False
            files = {e.file for e in applied if e.file} | (
                {f.path for f in record.files} if record is not None else set()
            )
            ledger.record(
                LedgerEvent(
                    kind=APPLIED_EVENT,
                    subject=subject(item_id),
                    payload={
                        "id": item_id,
                        "batch_id": batch_id,
                        "status": "applied",
                        "files": sorted(files),
                        "run_id": self.run.run_id,
                        "recovered": True,
                    },
                )
            )
        return True

    def _close_answered(self, job: FolderJob) -> None:
        """A needs-model item whose answer is now applied is decided: by whoever approved it."""
        proposals = self._data(job, "refactor").get("model_proposals", [])
        with Ledger.open(self.ws.ledger_path) as ledger:
            for proposal_id in proposals:
                proposal = get_item(ledger, proposal_id)
                payload = proposal.payload
                answers = getattr(payload, "answers", None)
                if proposal.state != "approved" or answers is None:
                    continue
                item = get_item(ledger, int(answers))
                if item.state == "pending":
                    by = proposal.decision.by if proposal.decision else REQUESTER
                    approve(
                        ledger,
                        item.id,
                        by=by,
                        reason=f"answered by item {proposal.id} ({proposal.requester}), applied",
                    )

    def _where(self, job: FolderJob) -> str:
        """One word for where a folder stands: applied, unchanged, waiting, failed or a step."""
        for step in FOLDER_STEPS:
            status = self._status(job, step)
            if status == "failed":
                return "failed"
            if status == "waiting":
                return "waiting"
        if self._status(job, "apply") == "done":
            return "applied"
        if self._data(job, "gate").get("unchanged"):
            return "unchanged"
        last = [s for s in FOLDER_STEPS if self._status(job, s) is not None]
        return last[-1] if last else "not started"

    def _work_item_ids(self) -> set[int]:
        return {i for job in self.jobs for i in self._data(job, "refactor").get("items", [])}

    def answer_layers(self, folder: str) -> list[Changeset] | None:
        """The overlay a human's answer for `folder` is written against: the earlier folders'
        changes, then this folder's migration and recipes. None once the folder is applied
        (its files are in the workspace) or when the run has no such folder."""
        index = next((n for n, j in enumerate(self.jobs) if j.name == folder), None)
        if index is None or self._status(self.jobs[index], "apply") == "done":
            return None
        return [*self._layers(index), self._changes(self.jobs[index], "recipes")]


# -- reviewing a human's answer on the run's overlay -----------------------------------------------


def answer_reviewer(
    ws: Workspace,
    settings: Settings,
    item: ApprovalItem,
    *,
    validator: BatchValidator | None,
    block_root: Path | None = None,
) -> Callable[[PatchBatch], PatchBatchPayload] | None:
    """The reviewer for a human's answer to a needs-model item of an epic folder that is not
    applied yet: the answer is written against the folder's migrated and refactored files,
    which exist only on the run's overlay, so it is reviewed there. None for any other item
    (review it against the workspace as usual)."""
    step = item.step or ""
    if item.run_id is None or not step.startswith("refactor:"):
        return None
    with Ledger.open(ws.ledger_path) as ledger:
        try:
            run = load_run(ledger, item.run_id)
        except UnknownRun:
            return None
    runner = EpicRunner(ws, settings, run, tasks_path=None, validator=None)
    layers = runner.answer_layers(step.split(":", 1)[1])
    if layers is None:
        return None

    def review(batch: PatchBatch) -> PatchBatchPayload:
        with overlay(ws, layers) as ovl:
            checker = None if validator is None else AnswerValidator(validator, ovl.root)
            return review_batch(ovl, batch, settings, validator=checker, block_root=block_root)

    return review


class _GateMirrors:
    """The mirrors of the gate threads while `prepare` runs them: per thread, a linked one
    for the quality monitor (it reads in this process) and a copied one, in the system temp
    folder, for tsc. Each moves from one folder's layers to the next by rewriting only the
    paths that differ, instead of mirroring the whole workspace twice per gate."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[TreeMirror] = []

    def mine(self, *, link: bool) -> TreeMirror:
        kind = "linked" if link else "copied"
        mirror: TreeMirror | None = getattr(self._local, kind, None)
        if mirror is None:
            parent = self._ws.tmp_dir if link else None
            mirror = TreeMirror(self._ws.root, parent, link=link)
            setattr(self._local, kind, mirror)
            with self._lock:
                self._all.append(mirror)
        return mirror

    def close(self) -> None:
        with self._lock:
            for mirror in self._all:
                mirror.close()
            self._all.clear()


class _FolderValidator:
    """A folder's gate check as a BatchValidator, for the patch engine's apply."""

    name = VALIDATOR_NAME

    def __init__(self, check: Callable[[Path, Sequence[str]], ValidationResult]) -> None:
        self._check = check

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        return self._check(staging_root, changed_files)


def listed(result: ValidationResult) -> ValidationResult:
    """The result with its first new errors in the summary, as `file:line code message`."""
    errors = [f for f in result.findings if f.severity == "error"]
    if result.ok or not errors:
        return result
    shown = "; ".join(render(f) for f in errors[:LISTED])
    more = f"; and {len(errors) - LISTED} more" if len(errors) > LISTED else ""
    return result.model_copy(update={"summary": f"{result.summary}: {shown}{more}"})


def _stored_quality(folder: Path) -> QualityReport | None:
    path = folder / "quality.json"
    return QualityReport.model_validate_json(path.read_bytes()) if path.is_file() else None
