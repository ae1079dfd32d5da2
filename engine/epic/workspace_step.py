"""The run's preparation step (folder `*`, step `workspace`), before any folder is planned:

1. every STAGING folder of the run that has a package.json joins the target's workspaces, and
   when the folder brings its own tsconfig, every tsconfig above its destination whose
   program would take it in gets the destination in its `exclude`: ONE batch, through the
   gate (`gated_apply`), journaled, rolled back with the run;
2. ONE install with the target's own package manager; its lockfile change is its own journaled
   batch, so rolling the run back restores the old lockfile. A dependency the registry lacks
   blocks only the folders declaring it (the rest are installed without them); no registry
   at all makes every member wait on a named `needs-install` item, never fail;
3. each folder's STAGING baseline (its own tsconfig, its dependencies installed) is then taken
   by the folder's gate, in the gate's thread, right before its check (`_take_baseline`):
   first its programs' structures alone, then its findings only if the check at the
   destination finds errors (`_staging_errors`, see `engine/epic/project_gate.py`), so the
   tsc server still holds the programs. It is cached in the folder's run directory; a resume
   takes the structures alone again (cheap: built shallow) for the server to hold, and the
   findings, once taken, never again.

The install is mostly waiting on the registry, and planning, migrating and refactoring a folder
read the tree but never node_modules: `_prepare_run(ahead=...)` runs that work in this thread
while the first install runs in another (`_install(..., ahead)`), so the folders' gates can
start as soon as the install is done. Step records are only ever written from this thread.

The shared files (the root package.json, the root tsconfig.json) are edited here, once, and
not in each folder's batch: after this step a folder's change touches only its own
destination (and, through the refactor, the orchestrator), which is what lets the folders'
checks run concurrently. A mixin of `EpicRunner`.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from engine.epic.models import RUN_FOLDER, EpicRun, StepRecord, StepStatus
from engine.epic.run_models import REQUESTER, StepOutcome
from engine.epic.spec import FolderJob
from engine.errors import VibehqError
from engine.migrate.workspaces import (
    LOCKFILES,
    InstallOutcome,
    PackageManager,
    detect_layout,
    install,
    join_workspace,
    lockfile_batch,
    move_members,
)
from engine.patch.apply import rollback_batch
from engine.patch.models import PatchBatch
from engine.patch.validation import BatchValidator, Finding
from engine.settings import Settings
from engine.validate.baseline import BaselineFinding, fingerprint
from engine.validate.gate import gated_apply
from engine.validate.projects import TSCONFIG, exclude_folders_ops
from engine.validate.staging_baseline import (
    FolderBaseline,
    leaf_configs,
    staging_findings,
    take_staging_baseline,
)
from engine.workspace import Workspace

WORKSPACE_STEP = "workspace"
MEMBERS_STEP = "members"
BASELINE_FILE = "staging_baseline.json"


class WorkspaceStep:
    """The run-level preparation; `EpicRunner` provides the attributes declared here."""

    ws: Workspace
    settings: Settings
    run: EpicRun
    jobs: list[FolderJob]
    workers: int
    validator: BatchValidator | None
    _begin: Callable[[str, str], StepRecord]
    _finish: Callable[[StepRecord, StepStatus, dict[str, Any]], None]
    _dir: Callable[[FolderJob], Path]
    _status: Callable[[FolderJob, str], str | None]
    _data: Callable[[FolderJob, str], dict[str, Any]]
    # Set once this runner ran the preparation: a second `prepare()` in the same process
    # does not run the install again.
    _prepared_here: bool = False

    def _prepare_run(self, ahead: Callable[[], None] | None = None) -> None:
        record = self.run.step(RUN_FOLDER, WORKSPACE_STEP)
        # A run that waited on the install tries it again (a resume: the registry may answer
        # now); a done one is not redone, nor one this runner prepared a moment ago.
        if (
            record is not None
            and record.status == "done"
            and (self._prepared_here or not record.data.get("waiting"))
        ):
            return
        self._prepared_here = True
        started = self._begin(RUN_FOLDER, WORKSPACE_STEP)
        try:
            outcome = self._workspace(ahead)
        except VibehqError as exc:
            outcome = StepOutcome("failed", {"error": exc.message})
        self._finish(started, outcome.status, outcome.data)

    def preparation_error(self) -> str | None:
        """Why the run's preparation failed (every folder waits on it), or None."""
        record = self.run.step(RUN_FOLDER, WORKSPACE_STEP)
        if record is None or record.status != "failed":
            return None
        error = record.data.get("error") or "failed"
        return f"the run's workspace preparation failed: {error}"

    def install_waiting(self, job: FolderJob) -> str | None:
        """The `needs-install` item a folder waits on, or None."""
        record = self.run.step(RUN_FOLDER, WORKSPACE_STEP)
        waiting = {} if record is None else record.data.get("waiting", {})
        item = waiting.get(job.name)
        return None if item is None else str(item)

    def staging_baseline(self, job: FolderJob) -> FolderBaseline | None:
        path = self._dir(job) / BASELINE_FILE
        return FolderBaseline.model_validate_json(path.read_bytes()) if path.is_file() else None

    def _source_dir(self, job: FolderJob) -> Path | None:
        """The folder's STAGING folder, absolute; None when the source is a glob."""
        loaded = job.loaded
        raw = loaded.manifest.sources[0].from_
        if any(c in raw for c in "*?["):
            return None
        path = Path(raw)
        return (path if path.is_absolute() else loaded.base / path).resolve()

    def _source(self, job: FolderJob) -> str | None:
        """The folder's STAGING folder, workspace-relative; None outside the workspace or
        when the source is a glob."""
        path = self._source_dir(job)
        try:
            return None if path is None else path.relative_to(self.ws.root.resolve()).as_posix()
        except ValueError:
            return None

    def _own_projects(self) -> list[str]:
        """The destinations whose STAGING folder brings its own tsconfig: only those leave
        the enclosing projects. A folder without one stays in the project that takes it in
        (the root's, say), which is then the project that checks it."""
        return [
            job.dest
            for job in self.jobs
            if (source := self._source_dir(job)) is not None
            and (source / "tsconfig.json").is_file()
        ]

    def _workspace(self, ahead: Callable[[], None] | None) -> StepOutcome:
        root = self.ws.root
        sources = {job.name: self._source(job) for job in self.jobs}
        # A folder applied already (a resume after the install waited) is a member by its
        # destination now: its STAGING folder does not join again.
        members = sorted(
            {
                s
                for job in self.jobs
                if (s := sources[job.name]) is not None
                and (root / s / "package.json").is_file()
                and self._status(job, "apply") != "done"
            }
        )
        data: dict[str, Any] = {"members": members, "batches": [], "waiting": {}}
        by_folder = {s: name for name, s in sources.items() if s is not None}
        excludes = exclude_folders_ops(root, self._own_projects())
        blocked: dict[str, str] = {}
        outcome: InstallOutcome | None = None
        installs: list[dict[str, Any]] = []
        while True:
            current = [m for m in members if m not in blocked]
            ops = list(excludes)
            resolutions: list[str] = []
            manager = detect_layout(root).manager if (root / "package.json").is_file() else None
            if current:
                edit = join_workspace(root, current, requester=REQUESTER)
                ops += [] if edit.batch is None else edit.batch.patches
                resolutions = [r.detail for r in edit.resolutions if r.kind != "dependency-range"]
                ranges = sum(1 for r in edit.resolutions if r.kind == "dependency-range")
                if ranges:
                    resolutions.append(
                        f"{ranges} dependencies are declared with different ranges by different"
                        f" members: each member keeps its own ({edit.layout.manager} installs"
                        f" the nearest matching version per member)"
                    )
                data["added"] = edit.added
            data["resolutions"] = resolutions
            batch_id = self._apply_run_batch(ops, f"{len(current)} STAGING folders")
            if batch_id is not None:
                data["batches"].append(batch_id)
            if not current or manager is None:
                break
            outcome, facts, lock_id = self._install(manager, current, "preparation", ahead)
            ahead = None
            installs.append(facts)
            if lock_id is not None:
                data["batches"].append(lock_id)
            if outcome.status == "installed":
                break
            if outcome.blocked and batch_id is not None:
                # Rolled back and joined again without them: one more install, not one each.
                blocked.update(outcome.blocked)
                rollback_batch(self.ws, batch_id, self.settings)
                data["batches"].remove(batch_id)
                continue
            item = outcome.item or f"needs-install: {' '.join(outcome.command)} failed"
            reason = f" ({outcome.reason})" if outcome.reason else ""
            for member in current:
                blocked[member] = f"{item}{reason}"
            break
        data["install"] = installs
        data["waiting"] = {by_folder[m]: item for m, item in blocked.items() if m in by_folder}
        return StepOutcome("done", data)

    def _move_members(self) -> None:
        """After the apply phase: each folder applied since, listed as a member by its STAGING
        folder, is listed by its destination instead (one gated, journaled batch), and ONE
        install updates the links and the lockfile (its change a journaled batch too). An
        install that does not succeed is recorded and named in the summary; the folders
        stay applied."""
        root = self.ws.root
        record = self.run.step(RUN_FOLDER, MEMBERS_STEP)
        data: dict[str, Any] = dict(record.data) if record is not None else {}
        moved: dict[str, str] = dict(data.get("moved", {}))
        moves = {
            source: dest
            for job in self.jobs
            if self._status(job, "apply") == "done"
            and (source := self._source(job)) is not None
            and source not in moved
            and (root / (dest := self._data(job, "plan").get("dest", job.dest))).is_dir()
        }
        # An install that did not run is tried again by a resume, with no new folder too.
        retry = record is not None and record.status != "done"
        if (not moves and not retry) or not (root / "package.json").is_file():
            return
        op = move_members(root, moves) if moves else None
        if op is None and not retry:
            return
        started = self._begin(RUN_FOLDER, MEMBERS_STEP)
        batches: list[str] = list(data.get("batches", []))
        status: StepStatus = "done"
        try:
            batch_id = self._apply_run_batch(
                [] if op is None else [op],
                f"{len(moves)} applied folders listed by their destination",
                "apply",
            )
            if batch_id is not None:
                batches.append(batch_id)
            moved.update(moves)
            manager = detect_layout(root).manager
            outcome, data["install"], lock_id = self._install(
                manager, sorted(moved.values()), "apply"
            )
            if lock_id is not None:
                batches.append(lock_id)
            if outcome.status == "installed":
                data.pop("why", None)
            else:
                item = outcome.item or f"{' '.join(outcome.command)} {outcome.status}"
                reason = f" ({outcome.reason})" if outcome.reason else ""
                data["why"] = f"the install after moving the members did not run: {item}{reason}"
                status = "waiting"
        except VibehqError as exc:
            data["error"] = exc.message
            status = "failed"
        if status == "done":
            data.pop("error", None)
        data.update(moved=moved, batches=batches)
        self._finish(started, status, data)

    def members_note(self) -> str | None:
        """What the move of the applied folders' membership still needs, or None."""
        record = self.run.step(RUN_FOLDER, MEMBERS_STEP)
        if record is None or record.status == "done":
            return None
        return str(record.data.get("error") or record.data.get("why") or record.status)

    def _install(
        self,
        manager: PackageManager,
        members: list[str],
        phase: str,
        ahead: Callable[[], None] | None = None,
    ) -> tuple[InstallOutcome, dict[str, Any], str | None]:
        """One install with the target's package manager (`ahead` run in this thread
        meanwhile); its lockfile change, if any, is a journaled batch of the run. Returns the
        outcome, its facts and that batch's id."""
        lockfile = self.ws.root / LOCKFILES[manager]
        before = lockfile.read_bytes() if lockfile.is_file() else None
        if ahead is None:
            outcome = install(self.ws.root, members)
        else:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="install") as pool:
                installing = pool.submit(install, self.ws.root, members)
                ahead()
                outcome = installing.result()
        facts = {
            "status": outcome.status,
            "seconds": round(outcome.seconds, 1),
            "command": " ".join(outcome.command),
            "reason": outcome.reason,
        }
        lock_id = None
        if outcome.status == "installed":
            lock = lockfile_batch(self.ws.root, outcome, before, requester=REQUESTER)
            if lock is not None:
                lock_id = self._apply_run_batch(
                    lock.patches, "the install's lockfile change", phase
                )
        return outcome, facts, lock_id

    def _apply_run_batch(self, ops: list[Any], what: str, phase: str = "preparation") -> str | None:
        if not ops:
            return None
        batch = PatchBatch(
            requester=REQUESTER,
            reason=f"epic {self.run.name}: the run's workspace {phase} ({what})",
            task_id=self.run.options.epic_task,
            patches=ops,
        )
        # Judged by the gate (quality, policy) without a type check: the batch edits the
        # member list, the lockfile, and excludes of destinations that do not exist yet, so
        # it changes no TypeScript program, and a root-wide tsc run costs minutes on a real
        # monorepo. Each folder's gate type-checks what the folder then brings.
        result = gated_apply(
            self.ws,
            batch,
            self.settings,
            skip={"validators": "(package members, lockfile and tsconfig excludes only)"},
        )
        return result.batch.batch_id

    def _take_baseline(self, job: FolderJob) -> dict[str, Any] | None:
        """The folder's STAGING baseline, taken now unless its findings are cached (its
        programs' structures; the findings when a check needs them): its facts for the gate's record
        (`baseline_facts`, or the error that kept it from being taken). None when the folder
        has none: its source is outside the workspace or a glob, or the folder waits on the
        install."""
        source = self._source(job)
        if source is None or self.install_waiting(job) is not None:
            return None
        baseline = self.staging_baseline(job)
        # Structures alone are taken again (cheap: the tsc server reads the folder's files,
        # not its packages') for the server to hold the programs the check compares with.
        if baseline is None or not baseline.findings_taken:
            try:
                baseline = folder_baseline(self.ws.root, source, check=False)
            except VibehqError as exc:
                return {"error": exc.message}
            self._keep_baseline(job, baseline)
        return baseline_facts(baseline)

    def _keep_baseline(self, job: FolderJob, baseline: FolderBaseline) -> None:
        (self._dir(job) / BASELINE_FILE).write_text(baseline.model_dump_json(), encoding="utf-8")

    def _staging_errors(
        self, job: FolderJob, which: tuple[str, Sequence[str]] | None
    ) -> Sequence[Finding]:
        """The folder's errors where it stood (`project_gate.StagingErrors`): those of some
        files of one program, checked now, or the whole baseline's, taken now if only its
        structures were."""
        source = self._source(job)
        baseline = self.staging_baseline(job)
        if source is None or baseline is None:
            return []
        if which is not None and not baseline.findings_taken:
            config, files = which
            found = staging_findings(self.ws.root, source, config, files)
            if found is not None:
                return found
        if not baseline.findings_taken:
            taken = folder_baseline(self.ws.root, source, check=True)
            baseline = taken.model_copy(
                update={"seconds": round(baseline.seconds + taken.seconds, 3)}
            )
            self._keep_baseline(job, baseline)
        return baseline.findings


_NOT_PROJECTS = frozenset({"node_modules", "dist", "build", ".wrangler", ".git"})


def baseline_facts(baseline: FolderBaseline) -> dict[str, Any]:
    """What a gate's record says of the folder's STAGING baseline."""
    if not baseline.findings_taken:
        return {"seconds": baseline.seconds, "findings": "not needed"}
    return {"seconds": baseline.seconds, "errors": baseline.errors}


def folder_baseline(root: Path, folder: str, *, check: bool = True) -> FolderBaseline:
    """The folder's STAGING baseline over every project the gate may check it with: its own
    tsconfig (or the configs it references), and each nested tsconfig.json the top one does
    not reference (a `tests/` or `src/server/` project), since the gate checks a changed file
    with the nearest tsconfig that owns it. Findings are relative to the folder. With
    `check=False`, the programs' structures alone (`take_staging_baseline`)."""
    here = (root / folder).resolve()
    baseline = take_staging_baseline(root, folder, check=check)
    covered = set(leaf_configs(here))
    nested: list[Path] = []
    for folder_path, dirs, files in os.walk(here):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_PROJECTS)
        config = Path(folder_path) / TSCONFIG
        if TSCONFIG in files and config.parent != here and config.resolve() not in covered:
            nested.append(config.parent)
    findings = list(baseline.findings)
    seen = {(f.fingerprint, f.line, f.column) for f in findings}
    tsconfigs = list(baseline.tsconfigs)
    structures = dict(baseline.structures)
    seconds, failed = baseline.seconds, baseline.tool_failed
    part_taken = True
    for sub in nested:
        prefix = sub.relative_to(here).as_posix()
        part = take_staging_baseline(root, f"{folder}/{prefix}", top=folder, check=check)
        tsconfigs += [f"{prefix}/{c}" for c in part.tsconfigs]
        structures.update(part.structures)
        seconds += part.seconds
        for found in part.findings:
            moved = found.model_copy(
                update={
                    "file": None
                    if found.file is None
                    else posixpath.normpath(f"{prefix}/{found.file}")
                }
            )
            key = fingerprint(moved)
            if (key, moved.line, moved.column) not in seen:
                seen.add((key, moved.line, moved.column))
                findings.append(
                    BaselineFinding(**moved.model_dump(exclude={"fingerprint"}), fingerprint=key)
                )
        failed = failed or part.tool_failed
        part_taken = part_taken and part.findings_taken
    return baseline.model_copy(
        update={
            "tsconfigs": tsconfigs,
            "findings": findings,
            "seconds": round(seconds, 3),
            "tool_failed": failed,
            "findings_taken": baseline.findings_taken and part_taken,
            "structures": structures,
        }
    )
