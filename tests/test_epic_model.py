"""A full epic with a model: Codex answers the folder's one needs-model item through the real
client path (RoutedLLM -> LiteLLM -> the scripted server on 127.0.0.1), the answer and the
recipes' change pass one real tsc gate together, a human approves both, the resume applies
them in order, and the task plan and the needs-model item follow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.queue import get_item, list_items
from engine.ledger.store import Ledger
from engine.plan.document import find_task, load_tasks
from engine.route.calls import model_calls
from engine.workspace import Workspace
from tests.conftest import ROOT, copy_example
from tests.test_epic_cli import PAUSED, applied_counts, tsc_errors

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures"
TASKS_REL = ".taskmaster/tasks/tasks.json"


def configure(root: Path, server: Any) -> None:
    (root / "vibehq.toml").write_text(
        "[route]\nretries = 0\n\n[[route.tiers.standard.deployments]]\n"
        'model = "openai/codex-scripted"\nname = "codex-scripted"\n'
        f'api_base = "{server.base_url}"\n',
        encoding="utf-8",
    )


def test_codex_answers_a_needs_model_item_and_the_whole_folder_lands(
    tmp_path: Path, cli: Any, model_server: Any
) -> None:
    root = copy_example(tmp_path / "ws")
    (root / TASKS_REL).parent.mkdir(parents=True)
    (root / TASKS_REL).write_bytes(
        (FIXTURES / "taskmaster" / "tasks.before-option2.json").read_bytes()
    )
    server = model_server(FIXTURES / "epic-staging" / "codex-board.yaml")
    configure(root, server)
    spec = tmp_path / "epic.yaml"
    spec.write_text(
        json.dumps(
            {
                "name": "board epic",
                "staging": str(FIXTURES / "epic-staging"),
                "template": str(ROOT / "manifests" / "staging-template.yaml"),
                "folders": ["board"],
            }
        ),
        encoding="utf-8",
    )

    first = cli("epic", "run", spec, "--json", "-w", root)
    assert first.code == PAUSED, first.err
    lines = [json.loads(line) for line in first.out.splitlines()]
    summary = lines[-1]["summary"]
    run_id = summary["run_id"]
    assert summary["model_note"] is None
    # The crew's work shows in the progress events: the agent, its tool, its model calls.
    seen = {(e["kind"], e.get("agent"), e.get("tool")) for e in lines[:-1]}
    assert ("tool", "Codex", "propose_patch_batch") in seen
    assert any(kind == "llm" and agent == "Codex" for kind, agent, _ in seen)
    kinds = sorted(w["kind"] for w in summary["waiting"])
    assert kinds == ["patch_batch", "patch_batch"], summary["waiting"]
    assert not (root / "apps/board").exists()

    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        [needs] = list_items(ledger, kind="needs_model")
        proposal = next(i for i in list_items(ledger, kind="patch_batch") if i.requester == "Codex")
        calls = model_calls(ledger, run_id)
    assert proposal.payload.answers == needs.id  # type: ignore[union-attr]
    assert proposal.step == "refactor:board" and proposal.run_id == run_id
    assert [(c.agent, c.tier, c.outcome) for c in calls] == [("Codex", "standard", "ok")] * 2
    gate = json.loads(cli("epic", "status", run_id, "--json", "-w", root).out)
    gate_step = next(s for s in gate["steps"] if s["step"] == "gate")
    assert gate_step["status"] == "done" and gate_step["data"]["tsc_new_errors"] == 0

    for item in summary["waiting"]:
        done = cli("approvals", "approve", str(item["id"]), "--by", "dana", "-w", root)
        assert done.code == 0, done.err
    second = cli("epic", "resume", run_id, "--json", "-w", root)
    assert second.code == 0, second.out[-3000:] + second.err
    final = json.loads(second.out.splitlines()[-1])["summary"]
    assert final["status"] == "done" and final["folders"] == {"board": "applied"}

    board = (root / "apps/board/src/board.ts").read_text()
    assert (
        "bun:sqlite" not in board and "await env.ORCHESTRATOR_BOARD.countIssuesByProject" in board
    )
    assert tsc_errors(root) == ""
    assert sorted(applied_counts(root).values()) == [1, 1]
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        closed = get_item(ledger, needs.id)
    assert closed.state == "approved" and closed.decision is not None
    assert (
        closed.decision.by == "dana" and f"answered by item {proposal.id}" in closed.decision.reason
    )
    epic = find_task(load_tasks(root / TASKS_REL), "36")
    assert [(s["title"], s["status"]) for s in epic["subtasks"]] == [
        ("Migrate STAGING/board to apps/board", "done")
    ]
    report = json.loads((root / final["report"]["json"]).read_text())
    assert report["status"] == "done"
    assert len(server.requests) == 2
