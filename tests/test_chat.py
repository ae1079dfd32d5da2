"""`vibehq chat`: Auto edits tasks.json through the plan tools and hands work to the crew, on
the scripted model server through the real client path; without a model it says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.queue import list_items
from engine.ledger.store import Ledger
from engine.plan.history import plan_changes
from engine.workspace import Workspace
from tests.conftest import TASKS_FIXTURE, copy_example, use_scripted_model, write

TASKS = ".taskmaster/tasks/tasks.json"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws", require_tsc=False)
    write(ws, TASKS, TASKS_FIXTURE.read_text())
    return ws


def use_model(root: Path, server: Any) -> None:
    use_scripted_model(root, server.base_url)


def tasks(root: Path) -> dict[int, dict[str, Any]]:
    return {t["id"]: t for t in json.loads((root / TASKS).read_text())["master"]["tasks"]}


def test_without_a_model_chat_says_what_to_set_and_what_works_instead(cli: Any, root: Path) -> None:
    before = (root / TASKS).read_bytes()
    result = cli("chat", "--once", "mark task 4 done", "-w", root)
    assert result.code == 1
    assert "chat needs a model: no model is configured for the complex tier" in result.err
    assert "[[route.tiers.complex.deployments]]" in result.err
    assert "vibehq tasks list|show|next|set-status" in result.err
    assert (root / TASKS).read_bytes() == before
    as_json = cli("chat", "--once", "hi", "-w", root, "--json")
    assert as_json.code == 1 and as_json.json()["ok"] is False


@pytest.mark.integration
def test_chat_once_edits_the_plan_through_tools_then_delegates(
    cli: Any, root: Path, model_server: Any
) -> None:
    srv = model_server(
        [
            {
                "name": "plan-edits",
                "agent": "Auto",
                "role": "user",
                "regex": "mark task 4 done",
                "tool_calls": [
                    {"name": "task_set_status", "arguments": {"ids": ["4"], "status": "done"}},
                    {
                        "name": "subtask_add",
                        "arguments": {"parent": "5", "title": "Wire the hub to the logger"},
                    },
                ],
            },
            {
                "name": "plan-answer",
                "agent": "Auto",
                "role": "tool",
                "content": "Task 4 is done; subtask 5.4 added.",
            },
            {
                "name": "chat-delegates",
                "agent": "Auto",
                "role": "user",
                "regex": "why is task 25 blocked",
                "tool_calls": [
                    {
                        "name": "delegate_to_crew",
                        "arguments": {"task": "Find out what keeps task 25 from starting."},
                    }
                ],
            },
            {
                "name": "manager-delegates",
                "agent": "Auto",
                "role": "user",
                "regex": "Find out what keeps task 25",
                "tool_calls": [
                    {
                        "name": "delegate_work_to_coworker",
                        "arguments": {
                            "task": "List the unfinished dependencies of task 25.",
                            "context": "tasks.json",
                            "coworker": "Codex",
                        },
                    }
                ],
            },
            {
                "name": "codex-answers",
                "agent": "Codex",
                "content": "Task 25 waits on 7, 20, 22 and 24.",
            },
            {
                "name": "manager-answers",
                "agent": "Auto",
                "role": "tool",
                "regex": "waits on",
                "content": "Blocked by 7, 20, 22, 24.",
            },
            {
                "name": "chat-answers",
                "agent": "Auto",
                "role": "tool",
                "regex": "Blocked by",
                "content": "Task 25 is blocked by tasks 7, 20, 22 and 24.",
            },
        ]
    )
    use_model(root, srv)
    first = cli("chat", "--once", "mark task 4 done and add a subtask to 5", "-w", root, "--json")
    assert first.code == 0, first.out + first.err
    turn = first.json()
    assert (turn["ok"], turn["answer"]) == (True, "Task 4 is done; subtask 5.4 added.")
    assert len(turn["proposals"]) == 2
    plan = tasks(root)
    assert plan[4]["status"] == "done"
    assert plan[5]["subtasks"][-1]["title"] == "Wire the hub to the logger"
    ws = Workspace.open(root)
    with Ledger.open(ws.ledger_path) as ledger:
        history = plan_changes(ledger)
        items = list_items(ledger, kind="plan_change")
    # One model turn asked for both tool calls; CrewAI may run them in either order.
    assert sorted((c.actor, c.change.op) for c in history) == [
        ("Auto", "add_subtask"),
        ("Auto", "set_status"),
    ]
    assert {(i.state, i.decision.rule if i.decision else None) for i in items} == {
        ("approved", "plan_owner")
    }

    second = cli("chat", "--once", "why is task 25 blocked?", "-w", root, "--json")
    assert second.code == 0, second.out + second.err
    turn = second.json()
    assert turn["answer"] == "Task 25 is blocked by tasks 7, 20, 22 and 24."
    assert turn["delegated"] == ["Find out what keeps task 25 from starting."]
    # plan-edits, plan-answer, then chat-delegates, manager-delegates, codex-answers,
    # manager-answers, chat-answers: each turn once, in this order.
    assert [r.turn for r in srv.requests] == [1, 2, 3, 4, 5, 6, 7]
    # The first exchange came back from project memory as context of the second.
    delegating = srv.requests[2]
    assert "Task 4 is done; subtask 5.4 added." in json.dumps(delegating.messages)


# --- without a model, the slash commands still work -------------------------------------------


def queue_two(root: Path) -> list[int]:
    """Two pending needs-model items; validation off, so approving one needs no tsc."""
    from engine.approvals.models import ApprovalRequest, NeedsModelPayload
    from engine.approvals.queue import submit
    from engine.settings import ApprovalSettings
    from tests.test_approvals_policy import work_item

    write(root, "vibehq.toml", "[patch]\nvalidate = false\n")
    Workspace.open(root).ensure_state_dir()
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        return [
            submit(
                ledger,
                ApprovalRequest(payload=NeedsModelPayload(work_item=work_item()), title=title),
                ApprovalSettings(),
            ).id
            for title in ("rewrite db.ts:12", "rewrite db.ts:40")
        ]


def test_without_a_model_chat_starts_and_serves_the_slash_commands(cli: Any, root: Path) -> None:
    first, second = queue_two(root)
    script = f"/pending\nmark task 4 done\n/approve {first}\n/reject {second} not now\n/pending\n"
    result = cli("chat", "-w", root, "--approver", "alice", stdin=script)
    assert result.code == 0, result.err
    assert "no model: no model is configured for the complex tier" in result.out
    assert f"{first}  needs_model  rewrite db.ts:12" in result.out and "2 pending" in result.out
    assert "not sent: a message to Auto needs a model" in result.out
    assert f"approved item {first}: rewrite db.ts:12" in result.out
    assert f"rejected item {second}: rewrite db.ts:40" in result.out
    assert "you> nothing is pending" in result.out
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        decided = {i.id: (i.state, i.decision and i.decision.by) for i in list_items(ledger)}
    assert decided == {first: ("approved", "alice"), second: ("rejected", "alice")}


def test_without_a_model_once_serves_a_slash_command(cli: Any, root: Path) -> None:
    first, _ = queue_two(root)
    result = cli("chat", "--once", "/pending", "-w", root)
    assert result.code == 0, result.err
    assert f"{first}  needs_model  rewrite db.ts:12" in result.out
    assert cli("chat", "--once", "/approve 99", "-w", root).code == 2
    assert (
        "unknown chat command '/frobnicate'" in cli("chat", "--once", "/frobnicate", "-w", root).err
    )
    refused = cli("chat", "--once", "mark task 4 done", "-w", root)
    assert refused.code == 1
    assert "/pending, /approve N and /reject N REASON work without a model" in refused.err
