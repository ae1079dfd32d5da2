"""Step 3 of an epic folder, refactor: the recipes run on the folder's overlay, and the answers
to its needs-model items gathered as one more layer. A mixin of `EpicRunner`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from engine.approvals.models import NeedsModelPayload
from engine.approvals.queue import get_item, list_items
from engine.epic.answer_check import AnswerValidator
from engine.epic.changeset import Changeset, overlay
from engine.epic.models import EpicEvent, EpicRun
from engine.epic.queue_view import answer_batches, human_answer, live_proposals
from engine.epic.run_models import SHOWN, ModelAnswerer
from engine.epic.spec import FolderJob
from engine.ledger.store import Ledger
from engine.patch.validation import BatchValidator
from engine.refactor.pipeline import plan_refactor, record_work_items, target_for
from engine.settings import Settings
from engine.workspace import Workspace


class RefactorStep:
    """The refactor step's work; `EpicRunner` provides the attributes and methods declared here."""

    ws: Workspace
    settings: Settings
    run: EpicRun
    validator: BatchValidator | None
    answerer: ModelAnswerer | None
    emit: Callable[[EpicEvent], None]
    _data: Callable[[FolderJob, str], dict[str, Any]]
    _save: Callable[[FolderJob, str, Changeset], None]
    _read_overlay: Callable[[Sequence[Changeset]], AbstractContextManager[Workspace]]

    def _answers_state(self, job: FolderJob, items: list[int] | None = None) -> list[list[Any]]:
        """What the folder's needs-model items stand at: state, a human answer, proposals."""
        ids = items if items is not None else self._data(job, "refactor").get("items", [])
        state: list[list[Any]] = []
        with Ledger.open(self.ws.ledger_path) as ledger:
            for item_id in ids:
                item = get_item(ledger, item_id)
                live = [p.id for p in live_proposals(ledger, item_id)]
                state.append([item_id, item.state, human_answer(item) is not None, live])
        return state

    def _run_recipes(
        self, job: FolderJob, layers: list[Changeset], recipes: Changeset
    ) -> dict[str, Any]:
        share = {"sites": 0, "recipes": 0, "needs_model": 0, "methods": 0}
        work_items: list[str] = []
        items: list[int] = []
        rpc = job.loaded.manifest.rpc
        epic = self.run.options.epic_task
        for dest in self._data(job, "plan").get("sql_folders", []):
            # The recipes only read the overlay, in this process: hard links are safe there.
            with self._read_overlay([*layers, recipes]) as ovl:
                plan = plan_refactor(ovl, target_for(dest, rpc), task_id=epic)
                for batch in (plan.orchestrator, plan.worker):
                    if batch is not None:
                        recipes.add_batch(ovl, batch)
            for key, value in plan.share().items():
                share[key] += value
            share["methods"] += len(plan.methods)
            work_items += [w.id for w in plan.work_items]
            items += record_work_items(
                self.ws,
                plan,
                self.settings,
                run_id=self.run.run_id,
                step=f"refactor:{job.name}",
            )
        self._save(job, "recipes", recipes)
        if work_items:
            # Items queued by an earlier run for the same sites are this run's work too.
            with Ledger.open(self.ws.ledger_path) as ledger:
                for item in list_items(ledger, kind="needs_model"):
                    payload = item.payload
                    if (
                        isinstance(payload, NeedsModelPayload)
                        and payload.work_item.id in work_items
                        and item.state != "rejected"
                        and item.id not in items
                    ):
                        items.append(item.id)
        return {"share": {**share, "work_items": work_items}, "items": sorted(items)}

    def _model_work(
        self, job: FolderJob, layers: list[Changeset], item_ids: list[int]
    ) -> tuple[Changeset, dict[str, Any]]:
        """The answers to the folder's needs-model items, as one more layer: a human's answer
        (approve --edit) or the crew's live proposals; the crew is asked for the rest."""
        model = Changeset()
        proposals: list[int] = []
        unanswered: list[int] = []
        errors: list[str] = []
        if item_ids:
            # A copy, not hard links: the crew and its validator run tools in it.
            with overlay(self.ws, layers) as ovl:
                proposals, unanswered, errors = self._answer_items(job, ovl, item_ids, model)
        data: dict[str, Any] = {
            "items": item_ids,
            "model_answers": len(item_ids) - len(unanswered),
            "model_proposals": proposals,
            "unanswered": unanswered,
        }
        if errors:
            data["model_errors"] = errors[:SHOWN]
        if unanswered and self.answerer is None:
            data["why"] = f"{len(unanswered)} needs-model items wait: no model is configured"
        return model, data

    def _answer_items(
        self, job: FolderJob, ovl: Workspace, item_ids: list[int], model: Changeset
    ) -> tuple[list[int], list[int], list[str]]:
        """Each item's answer recorded in `model` and written into `ovl`, so the next item is
        answered on top of it; returns the proposals used, the items left unanswered and the
        crew's errors."""
        proposals: list[int] = []
        unanswered: list[int] = []
        errors: list[str] = []
        for item_id in item_ids:
            with Ledger.open(self.ws.ledger_path) as ledger:
                item = get_item(ledger, item_id)
                live = live_proposals(ledger, item_id)
            if item.state == "rejected":
                continue
            batches = answer_batches(item, live)
            if not batches and item.state == "pending" and self.answerer is not None:
                self.emit(
                    EpicEvent(
                        run_id=self.run.run_id,
                        kind="message",
                        folder=job.name,
                        step="refactor",
                        agent="Codex",
                        message=f"asking the crew to answer item {item_id}",
                    )
                )
                checker = (
                    None if self.validator is None else AnswerValidator(self.validator, ovl.root)
                )
                answer = self.answerer(ovl, item, validator=checker)
                if answer.error:
                    errors.append(f"item {item_id}: {answer.error}")
                with Ledger.open(self.ws.ledger_path) as ledger:
                    live = live_proposals(ledger, item_id)
                batches = answer_batches(item, live)
            if not batches:
                unanswered.append(item_id)
                continue
            proposals += [p.id for p in live]
            for batch in batches:
                for path in model.add_batch(ovl, batch):
                    _write_overlay(ovl, path, model.new[path])
        return proposals, unanswered, errors


def _write_overlay(ovl: Workspace, path: str, content: bytes | None) -> None:
    target = ovl.resolve(path)
    if content is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.write_bytes(content)
