"""Crews through the real client path: RoutedLLM -> LiteLLM -> the scripted model server on
127.0.0.1. Every adversarial mode is contained, and the good path leaves exactly one pending
batch that answers the work item, with nothing applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.models import ApprovalItem
from engine.approvals.queue import list_items
from engine.epic.models import EpicEvent
from engine.ledger.store import Ledger
from engine.refactor.pipeline import apply_refactor, plan_refactor, target_for
from engine.route.calls import model_calls
from engine.settings import Settings
from engine.validate.quarantine import agent_statuses
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, TASKS_FIXTURE, copy_example, snapshot, write

pytestmark = pytest.mark.integration

BOARD = "apps/unsafe-cases/src/board.ts"
WORK_ITEM = r"Work item `apps/unsafe-cases:apps/unsafe-cases/src/board\.ts:16`"
GETTER = (
    "  get openCount(): number {\n"
    '    const row = this.db.query("SELECT COUNT(*) AS total FROM issues WHERE project = ? '
    "AND state = 'open'\").get(this.project) as {\n"
    "      total: number;\n"
    "    };\n"
    "    return row.total;\n"
    "  }"
)
ANSWER = {
    "orderId": "d1-to-rpc-apps-unsafe-cases-apps-unsafe-cases-src-board.ts-16",
    "reason": "openCount: async RPC on ORCHESTRATOR_UNSAFE_CASES",
    "patches": [
        {
            "op": "replace-block",
            "file": BOARD,
            "match": GETTER,
            "block": "  async openCount(): Promise<number> {\n"
            "    const row = await env.ORCHESTRATOR_UNSAFE_CASES.countIssuesByProject("
            "this.project);\n"
            "    return Number(row?.total ?? 0);\n"
            "  }",
        }
    ],
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws", require_tsc=False)
    write(ws, ".taskmaster/tasks/tasks.json", TASKS_FIXTURE.read_text())
    for path in sorted((EXAMPLES / "STAGING" / "unsafe-cases" / "src").glob("*.ts")):
        write(ws, f"apps/unsafe-cases/src/{path.name}", path.read_text())
    workspace = Workspace.open(ws)
    plan = plan_refactor(workspace, target_for("apps/unsafe-cases", None))
    apply_refactor(workspace, plan, Settings(), validator=None)
    return ws


@pytest.fixture
def board(root: Path) -> ApprovalItem:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        found = list_items(ledger, kind="needs_model")
    return next(
        i for i in found if i.payload.kind == "needs_model" and i.payload.work_item.file == BOARD
    )


def settings_for(server: Any, *tiers: str, **route: Any) -> Settings:
    deployments = {
        tier: {
            "deployments": [
                {
                    "model": "openai/scripted",
                    "name": f"{tier}-scripted",
                    "api_base": server.base_url,
                }
            ]
        }
        for tier in tiers
    }
    return Settings(route={"retries": 0, "tiers": deployments, **route})


def context(root: Path, settings: Settings, events: list[EpicEvent] | None = None) -> Any:
    from tools.context import ToolContext

    return ToolContext.for_workspace(
        Workspace.open(root),
        settings,
        "Auto",
        run_id="crew-test",
        on_event=None if events is None else events.append,
    )


def answer(root: Path, board: ApprovalItem, settings: Settings, **kw: Any) -> Any:
    from crews.crew import answer_work_item

    return answer_work_item(context(root, settings, **kw), board)


def batches(root: Path) -> list[ApprovalItem]:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        return list_items(ledger, kind="patch_batch")


def agent_turns(server: Any) -> list[str | None]:
    return [r.agent for r in server.requests]


# --- the good path ------------------------------------------------------------------------------


def test_codex_answers_the_work_item_with_one_pending_batch(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server(
        [
            {
                "agent": "Codex",
                "role": "user",
                "regex": WORK_ITEM,
                "tool_calls": [
                    {"name": "propose_patch_batch", "arguments": {"batch_json": json.dumps(ANSWER)}}
                ],
            },
            {
                "agent": "Codex",
                "role": "tool",
                "regex": '"ok": true',
                "content": "Proposal queued.",
            },
        ]
    )
    before = snapshot(root, include_state=False)
    events: list[EpicEvent] = []
    result = answer(root, board, settings_for(srv, "standard"), events=events)
    assert (result.status, result.error) == ("proposed", None)
    [item] = batches(root)
    assert result.proposals == [item.id]
    assert item.state == "pending" and item.requester == "Codex" and item.run_id == "crew-test"
    assert item.payload.kind == "patch_batch" and item.payload.answers == board.id
    assert [f.path for f in item.payload.files] == [BOARD]
    assert snapshot(root, include_state=False) == before
    assert agent_turns(srv) == ["Codex", "Codex"]
    kinds = {(e.kind, e.agent, e.tool) for e in events}
    assert ("tool", "Codex", "propose_patch_batch") in kinds and ("llm", "Codex", None) in kinds
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        rows = model_calls(ledger, "crew-test")
    assert [(r.agent, r.tier, r.outcome) for r in rows] == [("Codex", "standard", "ok")] * 2


def test_an_answer_in_the_prompt_format_goes_through_the_same_gate(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server(EXAMPLES / "model_scripts" / "codex-d1-refactor.yaml")
    result = answer(root, board, settings_for(srv, "standard"))
    assert result.status == "proposed"
    [item] = batches(root)
    assert item.payload.kind == "patch_batch" and item.payload.answers == board.id
    assert item.payload.batch.requester == "Codex"  # not the "vibehq-refactor" it claimed
    assert len(srv.requests) == 1


def test_no_model_configured_is_a_clear_failure_without_a_call(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server([{"content": "must not be used"}])
    result = answer(root, board, Settings())
    assert result.status == "failed"
    assert result.error.startswith("needs a model: no model is configured for the standard tier")
    assert srv.requests == [] and batches(root) == []


# --- adversarial modes --------------------------------------------------------------------------


def test_a_lazy_placeholder_quarantines_codex_and_nothing_is_queued(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server(
        [
            {
                "regex": WORK_ITEM,
                "preset": "lazy_placeholder_batch",
                "params": {"deliver": "tool_call", "tool": "propose_patch_batch"},
                "times": "unlimited",
            }
        ]
    )
    before = snapshot(root, include_state=False)
    result = answer(root, board, settings_for(srv, "standard"))
    assert result.status == "failed" and "quarantined" in result.error
    assert batches(root) == [] and snapshot(root, include_state=False) == before
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        [codex] = [s for s in agent_statuses(ledger) if s.agent == "Codex"]
    assert codex.status == "quarantined"
    assert len(srv.requests) == 1  # quarantine stops the run: no second attempt

    again = answer(root, board, settings_for(srv, "standard"))
    assert again.status == "failed" and again.error.startswith("agent Codex is quarantined")
    assert len(srv.requests) == 1


def test_a_429_falls_back_to_the_next_tier_and_the_answer_still_arrives(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server(
        [
            {"regex": WORK_ITEM, "fault": "rate_limit", "retry_after": 0},
            {
                "role": "user",
                "regex": WORK_ITEM,
                "content": "```json\n" + json.dumps(ANSWER) + "\n```",
            },
        ]
    )
    result = answer(root, board, settings_for(srv, "standard", "complex"))
    assert result.status == "proposed", result.error
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        [row] = model_calls(ledger, "crew-test")
    assert (row.tier, row.served_tier, row.outcome) == ("standard", "complex", "fallback")
    assert len(srv.requests) == 2


def test_a_stall_times_out_with_a_clear_failure(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server([{"regex": WORK_ITEM, "fault": "stall", "seconds": 3, "content": "late"}])
    result = answer(root, board, settings_for(srv, "standard", timeout_s=1))
    assert result.status == "failed"
    assert "every model in the standard chain failed" in result.error
    assert "timeout" in result.error.lower()
    assert batches(root) == []


def test_a_server_error_is_a_clear_failure(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server([{"regex": WORK_ITEM, "fault": "server_error", "times": "unlimited"}])
    result = answer(root, board, settings_for(srv, "standard"))
    assert result.status == "failed" and "every model in the standard chain failed" in result.error
    assert len(srv.requests) == 1


def test_malformed_tool_calls_are_retried_then_fail_clearly(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server(
        [
            {
                "preset": "malformed_tool_call",
                "params": {"name": "propose_patch_batch"},
                "times": "unlimited",
            }
        ]
    )
    result = answer(root, board, settings_for(srv, "standard"))
    assert result.status == "failed"
    assert result.error.startswith(
        "bad tool calls: 3 in this run, more than [crew] max_tool_errors = 2"
    )
    assert "malformed tool call: propose_patch_batch: arguments are not JSON" in result.error
    # Two retries: the model saw the error and tried again, then the run stopped.
    assert len(srv.requests) == 3
    assert "propose_patch_batch" in json.dumps(srv.requests[1].messages[-1])
    assert batches(root) == []


def test_path_traversal_is_refused_every_time_and_the_run_stops(
    model_server: Any, root: Path, board: ApprovalItem, tmp_path: Path
) -> None:
    srv = model_server(
        [
            {
                "preset": "path_traversal_batch",
                "params": {"deliver": "tool_call", "tool": "propose_patch_batch"},
                "times": "unlimited",
            }
        ]
    )
    result = answer(root, board, settings_for(srv, "standard"))
    assert result.status == "failed" and "contains '..'" in result.error
    assert batches(root) == []
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        refused = ledger.events(kind="proposal_refused")
    assert len(refused) == 3 and all(e.payload["agent"] == "Codex" for e in refused)
    assert not (tmp_path / "etc").exists()


def test_an_out_of_scope_edit_is_refused_and_nothing_is_queued(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server([{"regex": WORK_ITEM, "preset": "outside_allowed_batch"}])
    before = snapshot(root, include_state=False)
    result = answer(root, board, settings_for(srv, "standard"))
    assert result.status == "no_answer"
    assert "orchestrator/worker/index.ts is outside the allowed files" in result.error
    assert batches(root) == [] and snapshot(root, include_state=False) == before


def test_a_delegation_loop_is_bounded(model_server: Any, root: Path) -> None:
    from crews.crew import run_crew_task

    srv = model_server(
        [
            {"agent": "Auto", "preset": "delegation_loop", "params": {"coworker": "Codex"}},
            {"agent": "Codex", "content": "Done.", "times": "unlimited"},
        ]
    )
    settings = settings_for(srv, "standard", "complex")
    settings.crew.max_delegations = 2
    result = run_crew_task(context(root, settings), "Refactor board.ts", "what changed")
    assert result.ok is False
    assert result.error == (
        "delegation loop: the manager delegated 3 times in one task, more than "
        "[crew] max_delegations = 2; the crew was stopped"
    )
    assert agent_turns(srv) == ["Auto", "Codex", "Auto", "Codex", "Auto"]
    assert result.delegations == 2


def test_a_manager_delegates_and_answers(model_server: Any, root: Path) -> None:
    from crews.crew import run_crew_task

    srv = model_server(
        [
            {
                "agent": "Auto",
                "role": "user",
                "tool_calls": [
                    {
                        "name": "delegate_work_to_coworker",
                        "arguments": {
                            "task": "What blocks task 25?",
                            "context": "Read the plan.",
                            "coworker": "Quality monitor",
                        },
                    }
                ],
            },
            {"agent": "Quality monitor", "content": "Nothing is quarantined."},
            {"agent": "Auto", "role": "tool", "content": "All clear: nothing is quarantined."},
        ]
    )
    result = run_crew_task(
        context(root, settings_for(srv, "simple", "complex")), "Status?", "one line"
    )
    assert (result.ok, result.output) == (True, "All clear: nothing is quarantined.")
    assert result.delegations == 1
    assert agent_turns(srv) == ["Auto", "Quality monitor", "Auto"]


def test_a_spent_budget_stops_the_run_with_a_clear_failure(
    model_server: Any, root: Path, board: ApprovalItem
) -> None:
    srv = model_server(
        [
            {
                "regex": WORK_ITEM,
                "tool_calls": [{"name": "read_file", "arguments": {"path": BOARD}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 10},
            },
            {"role": "tool", "content": "must not be asked"},
        ]
    )
    settings = settings_for(srv, "standard", budget_usd=0.5)
    settings.route.tiers.standard.deployments[0].input_cost_per_token = 0.01
    result = answer(root, board, settings)
    assert result.status == "failed"
    assert result.error.startswith("run crew-test has spent $1.0000 of its $0.5000 model budget")
    assert len(srv.requests) == 1 and batches(root) == []
