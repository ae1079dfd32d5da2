"""The migration epic as a CrewAI Flow: the deterministic spine of `engine/epic` step by step,
with the crew called in for each needs-model item when a model is configured.

    prepare (plan, migrate, refactor + crew, gate) -> decide (approve) -> apply
      -> update_plan (tasks.json) -> finish (status, what is left) -> report

The flow's state is the run id; everything else is persisted in the ledger by the runner
(`epic_runs`, `epic_steps`, the approval queue), so `resume` is a new Flow over the same run:
each folder continues from its first unfinished step. A run pauses when approvals are
pending and says which; it never waits on stdin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crewai.flow.flow import Flow, listen, start
from pydantic import BaseModel

from engine.epic.models import EpicEvent, EpicOptions, EpicSpec
from engine.epic.runner import EpicRunner, EpicSummary, ModelAnswer, ModelAnswerer
from engine.route.tiers import TIERS
from engine.settings import Settings
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.approvals.models import ApprovalItem
    from engine.patch.validation import BatchValidator

__all__ = ["EpicFlow", "model_configured", "resume_epic", "run_epic"]

Emit = Callable[[EpicEvent], None]


class EpicState(BaseModel):
    id: str = ""
    status: str = "running"


class EpicFlow(Flow[EpicState]):
    # The project's memory is the chromadb store (engine/memory); the flow never recalls or
    # remembers through CrewAI's own. Without this, every epic process would build CrewAI's
    # LanceDB-backed Memory on start: about 4.5 s of imports for a store nothing reads.
    _skip_auto_memory: bool = True

    def __init__(self, runner: EpicRunner, **kwargs: Any) -> None:
        super().__init__(suppress_flow_events=True, **kwargs)
        self._runner = runner

    @start()
    def prepare(self) -> None:
        self._runner.prepare()

    @listen(prepare)
    def decide(self) -> None:
        self._runner.decide()

    @listen(decide)
    def apply(self) -> None:
        self._runner.apply()

    @listen(apply)
    def update_plan(self) -> None:
        self._runner.update_plan()

    @listen(update_plan)
    def finish(self) -> EpicSummary:
        summary = self._runner.finish()
        self.state.status = summary.status
        return summary

    @listen(finish)
    def report(self, summary: EpicSummary) -> EpicSummary:
        # After `finish`, so the report shows the run's final status.
        return self._runner.report(summary)


def model_configured(settings: Settings) -> bool:
    return any(settings.route.tiers.of(tier).deployments for tier in TIERS)


def run_epic(
    ws: Workspace,
    settings: Settings,
    spec: EpicSpec,
    *,
    source: str,
    options: EpicOptions,
    tasks_path: Path | None,
    emit: Emit | None = None,
) -> EpicSummary:
    run = EpicRunner.create(
        ws, settings, spec, source=source, options=options, tasks_path=tasks_path
    )
    return _kickoff(ws, settings, run.run_id, tasks_path, emit)


def resume_epic(
    ws: Workspace,
    settings: Settings,
    run_id: str,
    *,
    emit: Emit | None = None,
    jobs: int | None = None,
) -> EpicSummary:
    run = EpicRunner.load(ws, run_id)
    tasks = run.options.tasks_file
    tasks_path = None if tasks is None else ws.root / tasks
    return _kickoff(ws, settings, run_id, tasks_path, emit, jobs)


def _kickoff(
    ws: Workspace,
    settings: Settings,
    run_id: str,
    tasks_path: Path | None,
    emit: Emit | None,
    jobs: int | None = None,
) -> EpicSummary:
    from engine.epic.report import build_report, write_report
    from engine.validate.run import make_batch_validator

    run = EpicRunner.load(ws, run_id)
    if run.options.budget_usd is not None:
        route = settings.route.model_copy(update={"budget_usd": run.options.budget_usd})
        settings = settings.model_copy(update={"route": route})
    _ensure_baseline(ws, settings, emit, run_id)

    def reporter(workspace: Workspace, rid: str) -> dict[str, str]:
        return write_report(workspace, build_report(workspace, rid)).step_data(workspace)

    runner = EpicRunner(
        ws,
        settings,
        run,
        tasks_path=tasks_path,
        validator=make_batch_validator(ws, settings),
        answerer=crew_answerer(ws, settings, run_id, emit) if model_configured(settings) else None,
        emit=emit,
        reporter=reporter,
        jobs=jobs,
    )
    flow = EpicFlow(runner)
    result = flow.kickoff(inputs={"id": run_id})
    if not isinstance(result, EpicSummary):
        return runner.report(runner.finish())
    return result


def _ensure_baseline(ws: Workspace, settings: Settings, emit: Emit | None, run_id: str) -> None:
    """Only errors a change introduces may fail it: the tree before the epic is the before."""
    from engine.validate.baseline_first import ensure_tsc_baseline

    if not ensure_tsc_baseline(ws, settings):
        return
    if emit is not None:
        emit(
            EpicEvent(
                run_id=run_id,
                kind="message",
                message="recorded the tsc baseline of the tree before the epic",
            )
        )


def crew_answerer(
    ws: Workspace, settings: Settings, run_id: str, emit: Emit | None
) -> ModelAnswerer:
    """Codex, led by Auto, answers one needs-model item on the folder's overlay; its batch is
    a proposal in the approval queue, never an applied change."""

    def answer(
        overlay: Workspace, item: ApprovalItem, *, validator: BatchValidator | None
    ) -> ModelAnswer:
        from crews.crew import answer_work_item
        from tools.context import ToolContext

        allowed = list(getattr(item.payload, "allowed_files", []) or [])
        ctx = ToolContext(
            workspace=overlay,
            home=ws,
            settings=settings,
            agent="Codex",
            run_id=run_id,
            allowed_files=allowed or None,
            validator=validator,
            apply_approved=False,
            work_item=item.id,
            on_event=emit,
            step=item.step or "refactor",
        )
        result = answer_work_item(ctx, item, on_event=emit)
        return ModelAnswer(
            item_id=item.id,
            status=result.status,
            proposals=list(result.proposals),
            error=result.error,
        )

    return answer
