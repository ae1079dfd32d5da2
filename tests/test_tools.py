"""The agents' tools on real workspaces: compact JSON answers, proposals queued (not applied),
scope and path refusals, quarantine on a lazy placeholder, plan edits by the plan owner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.models import ApprovalItem
from engine.approvals.queue import approve, get_item, list_items
from engine.errors import BadInput, CheckFailed
from engine.ledger.store import Ledger
from engine.plan.history import plan_changes
from engine.refactor.pipeline import apply_refactor, plan_refactor, target_for
from engine.settings import Settings
from engine.validate.quarantine import agent_statuses
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, TASKS_FIXTURE, copy_example, snapshot, write
from tests.test_approvals_policy import TypeCheckPassed
from tools.context import ToolContext
from tools.plan_proposals import apply_plan_item
from tools.registry import CHANGING_TOOLS, TOOL_NAMES, build_tools

BOARD = "apps/unsafe-cases/src/board.ts"
ENTRYPOINT = "orchestrator/worker/entrypoints/UnsafeCasesOps.ts"
GETTER = (
    "  get openCount(): number {\n"
    '    const row = this.db.query("SELECT COUNT(*) AS total FROM issues WHERE project = ? '
    "AND state = 'open'\").get(this.project) as {\n"
    "      total: number;\n"
    "    };\n"
    "    return row.total;\n"
    "  }"
)
ASYNC_GETTER = (
    "  async openCount(): Promise<number> {\n"
    "    const row = await env.ORCHESTRATOR_UNSAFE_CASES.countIssuesByProject(this.project);\n"
    "    return Number(row?.total ?? 0);\n"
    "  }"
)
TASKS = ".taskmaster/tasks/tasks.json"


def good_batch() -> dict[str, Any]:
    return {
        "orderId": "d1-to-rpc-board",
        "requester": "somebody-else",
        "reason": "openCount: async RPC",
        "patches": [{"op": "replace-block", "file": BOARD, "match": GETTER, "block": ASYNC_GETTER}],
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws", require_tsc=False)
    write(ws, TASKS, TASKS_FIXTURE.read_text())
    return ws


@pytest.fixture
def board(root: Path) -> ApprovalItem:
    """The unsafe-cases worker in the workspace, its recipes applied, its work items queued;
    the needs_model item of board.ts's `openCount` getter."""
    for path in sorted((EXAMPLES / "STAGING" / "unsafe-cases" / "src").glob("*.ts")):
        write(root, f"apps/unsafe-cases/src/{path.name}", path.read_text())
    ws = Workspace.open(root)
    apply_refactor(
        ws, plan_refactor(ws, target_for("apps/unsafe-cases", None)), Settings(), validator=None
    )
    with Ledger.open(ws.ledger_path) as ledger:
        items = list_items(ledger, kind="needs_model")
    return next(
        i for i in items if i.payload.kind == "needs_model" and i.payload.work_item.file == BOARD
    )


def context(root: Path, agent: str = "Codex", **fields: Any) -> ToolContext:
    return ToolContext.for_workspace(Workspace.open(root), Settings(), agent, **fields)


def call(ctx: ToolContext, name: str, **args: Any) -> dict[str, Any]:
    [tool] = build_tools([name], ctx)
    answer = tool.run(**args)
    assert isinstance(answer, str)
    data = json.loads(answer)
    assert isinstance(data, dict) and "ok" in data, data
    return data


def items(root: Path, **filters: Any) -> list[ApprovalItem]:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        return list_items(ledger, **filters)


def events(root: Path, kind: str) -> list[Any]:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        return ledger.events(kind=kind)


# --- registry -----------------------------------------------------------------------------------


def test_every_tool_has_a_typed_schema_and_a_unique_name(root: Path) -> None:
    tools = build_tools(TOOL_NAMES, context(root))
    assert [t.name for t in tools] == list(TOOL_NAMES)
    assert len(set(TOOL_NAMES)) == len(TOOL_NAMES) >= 25
    for tool in tools:
        schema = tool.args_schema.model_json_schema()
        assert schema["type"] == "object"
        assert tool.description
    assert {"propose_patch_batch", "task_set_status", "migrate_folder"} <= CHANGING_TOOLS
    assert "read_file" not in CHANGING_TOOLS


def test_an_unknown_tool_name_is_bad_input(root: Path) -> None:
    with pytest.raises(BadInput, match="unknown tool 'rm_rf'"):
        build_tools(["read_file", "rm_rf"], context(root))


def test_bad_arguments_come_back_as_one_line_not_a_raise(root: Path) -> None:
    answer = call(context(root, "Auto"), "task_set_status", ids=["3"], status="finished")
    assert answer["ok"] is False
    assert answer["error"].startswith("status: Input should be 'pending'")
    assert items(root) == []


# --- plan ---------------------------------------------------------------------------------------


def test_tasks_list_is_capped_and_says_how_many_were_left_out(root: Path) -> None:
    answer = call(context(root), "tasks_list", limit=5)
    assert [t["id"] for t in answer["tasks"]] == ["1", "2", "3", "4", "5"]
    assert (answer["total"], answer["left_out"]) == (35, 30)
    assert set(answer["tasks"][2]) >= {"id", "title", "status", "dependencies"}


def test_task_show_names_what_blocks_a_task(root: Path) -> None:
    answer = call(context(root), "task_show", id="25")
    assert answer["id"] == "25" and answer["status"] == "pending"
    blockers = {b["id"]: b["status"] for b in answer["blocked_by"]}
    assert blockers and "1" not in blockers  # task 1 is done
    assert all(status != "done" for status in blockers.values())
    assert len(answer["details"]) <= 1500


def test_task_next_and_deps_validate(root: Path) -> None:
    assert call(context(root), "task_next")["next"]["id"] == "4"
    assert call(context(root), "deps_validate")["total"] == 0


def test_a_plan_edit_by_auto_passes_the_policy_and_changes_tasks_json(root: Path) -> None:
    ctx = context(root, "Auto", apply_approved=True)
    done = call(ctx, "task_set_status", ids=["4"], status="done")
    sub = call(ctx, "subtask_add", parent="5", title="Wire the hub", description="from chat")
    assert (done["state"], done["rule"]) == ("approved", "plan_owner")
    assert done["applied"].startswith("set 4 to done")
    assert sub["applied"] == "added subtask 5.4: Wire the hub"
    plan = json.loads((root / TASKS).read_text())
    tasks = {t["id"]: t for t in plan["master"]["tasks"]}
    assert tasks[4]["status"] == "done"
    assert tasks[5]["subtasks"][-1]["title"] == "Wire the hub"
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        history = plan_changes(ledger)
    assert [(c.actor, c.change.op) for c in history] == [
        ("Auto", "set_status"),
        ("Auto", "add_subtask"),
    ]
    assert ctx.proposals == [done["proposal"], sub["proposal"]]
    with pytest.raises(CheckFailed, match="already applied"):
        apply_plan_item(Workspace.open(root), Settings(), done["proposal"])


def test_a_plan_edit_by_codex_waits_for_a_human_then_applies_once(root: Path) -> None:
    before = (root / TASKS).read_bytes()
    answer = call(
        context(root, "Codex", apply_approved=True), "task_set_status", ids=["4"], status="done"
    )
    assert answer["state"] == "pending" and "applied" not in answer
    assert (root / TASKS).read_bytes() == before
    [item] = items(root, kind="plan_change")
    assert item.requester == "Codex" and "plan_owner" in item.verdict.rules  # type: ignore[union-attr]
    with pytest.raises(CheckFailed, match="only an approved item"):
        apply_plan_item(Workspace.open(root), Settings(), item.id)
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        approve(ledger, item.id, by="alice")
    change = apply_plan_item(Workspace.open(root), Settings(), item.id)
    assert change.summary.startswith("set 4 to done")
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        assert [c.actor for c in plan_changes(ledger)] == ["Codex"]


def test_a_plan_edit_that_cannot_apply_queues_nothing(root: Path) -> None:
    answer = call(
        context(root, "Auto", apply_approved=True), "subtask_add", parent="999", title="x"
    )
    assert answer == {"ok": False, "error": "unknown task id 999"}
    assert items(root) == []


# --- propose_patch_batch ------------------------------------------------------------------------


def scoped(root: Path, board: ApprovalItem, **fields: Any) -> ToolContext:
    assert board.payload.kind == "needs_model"
    return context(
        root, "Codex", allowed_files=list(board.payload.allowed_files), work_item=board.id, **fields
    )


def test_a_valid_answer_is_queued_pending_and_nothing_is_applied(
    root: Path, board: ApprovalItem
) -> None:
    before = snapshot(root, include_state=False)
    ctx = scoped(root, board)
    answer = call(ctx, "propose_patch_batch", batch_json=json.dumps(good_batch()))
    assert answer["ok"] is True and answer["state"] == "pending"
    assert answer["files"] == [BOARD] and answer["diff_lines"] > 0
    assert answer["verdict"].startswith("human: ")
    item = get_item(Ledger.open(Workspace.open(root).ledger_path), answer["proposal"])
    assert item.payload.kind == "patch_batch"
    assert item.payload.answers == board.id
    assert item.payload.batch.requester == "Codex" and item.requester == "Codex"
    assert ctx.proposals == [item.id]
    assert snapshot(root, include_state=False) == before


def test_the_batch_fields_may_come_as_tool_arguments(root: Path, board: ApprovalItem) -> None:
    answer = call(scoped(root, board), "propose_patch_batch", **good_batch())
    assert answer["ok"] is True and answer["files"] == [BOARD]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"batch_json": '{"patches": [{"op": "replace-block", "file": '},
            "malformed JSON at line 1",
        ),
        (
            {
                "batch_json": json.dumps(
                    {"patches": [{"op": "rewrite", "file": BOARD, "block": "x"}]}
                )
            },
            "unknown op 'rewrite'",
        ),
        ({"reason": "no patches"}, "patches"),
    ],
)
def test_a_batch_that_cannot_be_read_is_an_answer_not_a_raise(
    root: Path, board: ApprovalItem, args: dict[str, Any], expected: str
) -> None:
    answer = call(scoped(root, board), "propose_patch_batch", **args)
    assert answer["ok"] is False and expected in answer["error"]
    assert items(root, kind="patch_batch") == []


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("../../etc/passwd", "contains '..'"),
        ("/etc/passwd", "is absolute"),
        ("apps/unsafe-cases/src/escape/x.ts", "resolves outside the workspace"),
        ("orchestrator/worker/index.ts", "is outside the allowed files"),
    ],
)
def test_unsafe_and_out_of_scope_paths_are_refused_and_recorded(
    root: Path, board: ApprovalItem, tmp_path: Path, file: str, expected: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "apps/unsafe-cases/src/escape").symlink_to(outside, target_is_directory=True)
    ctx = context(root, "Codex", allowed_files=["apps/unsafe-cases/"], work_item=board.id)
    patches = [{"op": "append", "file": file, "block": "export const x = 1;"}]
    answer = call(ctx, "propose_patch_batch", patches=patches, reason="x")
    assert answer["ok"] is False and expected in answer["refused"]
    assert answer["refused"].endswith("nothing was queued")
    assert items(root, kind="patch_batch") == [] and ctx.proposals == []
    [refused] = events(root, "proposal_refused")
    assert refused.payload["agent"] == "Codex" and expected in refused.payload["reason"]
    assert refused.payload["answers"] == board.id
    assert list(outside.iterdir()) == []


def test_block_file_is_refused(root: Path, board: ApprovalItem) -> None:
    patches = [{"op": "append", "file": BOARD, "blockFile": "/etc/hostname"}]
    answer = call(scoped(root, board), "propose_patch_batch", patches=patches)
    assert "blockFile reads from disk" in answer["refused"]


def test_a_lazy_placeholder_quarantines_the_agent_and_queues_nothing(
    root: Path, board: ApprovalItem
) -> None:
    before = snapshot(root, include_state=False)
    lazy = good_batch()
    lazy["patches"][0]["block"] = (
        "  async openCount(): Promise<number> {\n    // ... rest of code unchanged\n  }"
    )
    ctx = scoped(root, board)
    answer = call(ctx, "propose_patch_batch", batch=lazy)
    assert answer["ok"] is False and answer["quarantined"] is True
    assert "quarantined" in answer["refused"]
    assert items(root, kind="patch_batch") == []
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        [status] = [s for s in agent_statuses(ledger) if s.agent == "Codex"]
    assert status.status == "quarantined"
    again = call(ctx, "propose_patch_batch", batch=good_batch())
    assert again["quarantined"] is True and "quarantined" in again["refused"]
    assert items(root, kind="patch_batch") == []
    assert snapshot(root, include_state=False) == before

    quality = context(root, "Quality")
    status_answer = call(quality, "quarantine_status", agent="Codex")
    assert status_answer["agents"][0]["status"] == "quarantined"
    release = call(quality, "request_release", agent="Codex", reason="prompt fixed")
    [item] = items(root, kind="quarantine_release")
    assert (release["proposal"], item.state, item.requester) == (item.id, "pending", "Quality")
    assert call(quality, "request_release", agent="Auto", reason="x")["ok"] is False


def test_in_chat_a_batch_the_policy_passes_is_applied_at_once(root: Path) -> None:
    write(root, "apps/logger/src/extra.ts", 'import { a } from "./a";\n\nexport const b = a;\n')
    write(root, "apps/logger/src/a.ts", "export const a = 1;\n")
    swap = {
        "op": "replace-block",
        "file": "apps/logger/src/extra.ts",
        "start": 1,
        "end": 1,
        "block": 'import { a } from "./a.js";',
    }
    # Unvalidated, an import-only batch waits like any other (issue 17); type-checked, it passes.
    unchecked = call(context(root, "Codex"), "propose_patch_batch", patches=[swap], reason="x")
    assert (unchecked["state"], unchecked["verdict"]) == (
        "pending",
        "human: import_only, recurring",
    )
    ctx = context(root, "Codex", apply_approved=True, validator=TypeCheckPassed())
    answer = call(ctx, "propose_patch_batch", patches=[swap], reason="extension")
    assert (answer["state"], answer["verdict"]) == ("approved", "auto:import_only")
    assert answer["applied"]
    assert (root / "apps/logger/src/extra.ts").read_text().startswith('import { a } from "./a.js";')
    queued = call(context(root, "Codex"), "propose_patch_batch", patches=[swap], reason="again")
    assert (queued["state"], queued["verdict"]) == ("pending", "human: no_change")


# --- refactor, migrate, read ----------------------------------------------------------------------


def test_refactor_plan_and_work_item_show(root: Path, board: ApprovalItem) -> None:
    plan = call(context(root), "refactor_plan", folder="apps/unsafe-cases")
    assert plan["entrypoint"] == ENTRYPOINT
    assert plan["needs_model"] == len(plan["work_items"]) + plan.get("left_out", 0) > 0
    shown = call(context(root), "work_item_show", item=board.id)
    assert shown["allowed_files"] == [BOARD, ENTRYPOINT]
    assert shown["prompt"].startswith("<!-- template: d1_to_rpc/worker_refactor")
    assert call(context(root), "work_item_show", item=999)["error"] == "no approval item 999"


def test_refactor_recipes_is_one_proposal(root: Path) -> None:
    for path in sorted((EXAMPLES / "STAGING" / "d1-notes").rglob("*.ts")):
        rel = path.relative_to(EXAMPLES / "STAGING" / "d1-notes").as_posix()
        write(root, f"apps/d1-notes/{rel}", path.read_text())
    before = snapshot(root, include_state=False)
    answer = call(context(root, "Codex"), "refactor_recipes", folder="apps/d1-notes")
    assert answer["state"] == "pending" and answer["proposal"] is not None
    assert ENTRYPOINT.replace("UnsafeCases", "D1Notes") in answer["files"]
    assert snapshot(root, include_state=False) == before


def test_migrate_plan_and_folder_propose_the_copy(root: Path) -> None:
    ctx = context(root, "Migration", staging=EXAMPLES / "STAGING")
    plan = call(ctx, "migrate_plan", folder="terminal-demo")
    [folder] = plan["folders"]
    assert folder["dest"] == "apps/terminal-demo" and folder["files"] >= 3
    answer = call(ctx, "migrate_folder", folder="terminal-demo")
    assert answer["state"] == "pending" and answer["files"] == folder["new"]
    assert not (root / "apps/terminal-demo").exists()
    assert call(ctx, "migrate_plan", folder="../etc")["ok"] is False
    missing = call(ctx, "migrate_plan", folder="nope")
    assert "there are: bun-inline" in missing["error"]
    assert "no STAGING folder is set" in call(context(root), "migrate_plan", folder="x")["error"]


def test_sql_sites_in_staging_and_workspace(root: Path) -> None:
    ctx = context(root, "Migration", staging=EXAMPLES / "STAGING")
    found = call(ctx, "sql_sites", path="unsafe-cases", in_staging=True, limit=3)
    assert found["total"] > 3 and found["left_out"] == found["total"] - 3
    assert found["sites"][0]["file"].startswith("unsafe-cases/src/")
    assert call(ctx, "sql_sites", path="apps/logger")["total"] == 0
    assert call(ctx, "sql_sites", path="../STAGING")["ok"] is False


def test_read_file_numbers_a_capped_range_and_refuses_escapes(root: Path) -> None:
    write(root, "long.ts", "".join(f"export const v{n} = {n};\n" for n in range(1, 451)))
    answer = call(context(root), "read_file", path="long.ts", start=10, end=12)
    assert answer["text"].splitlines() == [
        "10 | export const v10 = 10;",
        "11 | export const v11 = 11;",
        "12 | export const v12 = 12;",
    ]
    capped = call(context(root), "read_file", path="long.ts", start=1)
    assert capped["lines"] == "1-200" and capped["more"] == "read on with start=201"
    assert "contains '..'" in call(context(root), "read_file", path="../x")["error"]
    assert "state folder" in call(context(root), "read_file", path=".vibehq/ledger.sqlite")["error"]


# --- approvals, changes_by, quality, memory -------------------------------------------------------


def test_approvals_list_show_and_changes_by(root: Path, board: ApprovalItem) -> None:
    proposed = call(scoped(root, board), "propose_patch_batch", batch=good_batch())
    listed = call(context(root, "Auto"), "approvals_list")
    ids = [i["id"] for i in listed["items"]]
    assert board.id in ids and proposed["proposal"] in ids
    shown = call(context(root, "Auto"), "approval_show", id=proposed["proposal"])
    assert shown["answers"] == board.id and shown["files"][0]["path"] == BOARD
    assert "+  async openCount(): Promise<number> {" in shown["diff"]
    needs = call(context(root, "Auto"), "approval_show", id=board.id)
    assert needs["verdict"][0]["rule"] == "needs_model"

    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        approve(ledger, proposed["proposal"], by="alice")
    from engine.approvals.apply import apply_approved

    apply_approved(Workspace.open(root), proposed["proposal"], Settings(), accept_unvalidated=True)
    changes = call(context(root, "Auto"), "changes_by", agent="codex", folder="apps/unsafe-cases")
    [mine] = changes["proposals"]
    assert mine["id"] == proposed["proposal"] and mine["applied_batch"]
    [batch] = changes["patch_batches"]
    assert "applied" in batch["events"] and BOARD in batch["files"]
    elsewhere = call(context(root, "Auto"), "changes_by", agent="Codex", folder="apps/logger")
    assert elsewhere["proposals"] == [] and elsewhere["patch_batches"] == []


def test_quality_scan_finds_a_placeholder(root: Path) -> None:
    write(
        root,
        "apps/logger/src/lazy.ts",
        "export function f() {\n  // ... rest of code unchanged\n}\n",
    )
    answer = call(context(root, "Quality"), "quality_scan", paths=["apps/logger"])
    assert answer["critical"] >= 1
    assert any(v["file"] == "apps/logger/src/lazy.ts" for v in answer["violations"])
    assert call(context(root, "Quality"), "quality_scan", paths=["../x"])["ok"] is False


@pytest.mark.integration
def test_memory_add_then_search(root: Path) -> None:
    ctx = context(root, "Auto")
    fact = "Workers reach the database only through orchestrator RPC."
    added = call(ctx, "memory_add", text=fact, kind="convention")
    assert len(added["added"]) == 1
    again = call(ctx, "memory_add", text=fact, kind="convention")
    assert again["added"] == [] and again["existing"] == added["added"]
    hits = call(ctx, "memory_search", query="how do workers access the database?")["hits"]
    assert hits[0]["id"] == added["added"][0] and hits[0]["source"] == "agent:Auto"


@pytest.mark.integration
def test_validate_workspace_reports_new_tsc_errors(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ws")
    ctx = context(root, "Quality")
    assert call(ctx, "validate_workspace")["passed"] is True
    write(root, "apps/logger/src/bad.ts", "export const n: number = 'x';\n")
    answer = call(ctx, "validate_workspace")
    assert answer["passed"] is False
    assert any("apps/logger/src/bad.ts" in line for line in answer["new_errors"])


def test_for_agent_shares_proposals(root: Path) -> None:
    ctx = context(root, "Auto")
    twin = ctx.for_agent("Codex")
    twin.proposals.append(7)
    assert (twin.agent, ctx.proposals) == ("Codex", [7])
