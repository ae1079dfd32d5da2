"""The delivery report of an epic run: built from real ledger rows (steps, approvals through
the queue, model calls, quarantine checks, applied patches), written as Markdown, JSON and one
self-contained HTML page, and the `vibehq epic report` command."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.models import ApprovalRequest, NeedsModelPayload
from engine.approvals.queue import approve, reject, submit
from engine.approvals.review import review_batch
from engine.epic.models import EpicOptions, EpicSpec
from engine.epic.report import DeliveryReport, build_report, write_report
from engine.epic.report_pages import duration_text
from engine.epic.store import (
    UnknownRun,
    begin_step,
    create_run,
    finish_step,
    load_run,
    set_run_status,
)
from engine.errors import BadInput
from engine.ledger.store import Ledger
from engine.patch.apply import apply_batch
from engine.patch.models import PatchBatch
from engine.refactor.models import WorkItem
from engine.route.calls import ModelCallRow, record_model_call
from engine.settings import ApprovalSettings, Settings
from engine.validate.quarantine import record_check
from engine.workspace import Workspace
from tests.conftest import write
from tests.test_approvals_policy import TypeCheckPassed, install

RUN = "epic-20300101-a1"
B_TS = 'import { a } from "./a";\nimport { c } from "./c";\n\nexport const b = a + c;\n'
HOSTILE_TITLE = "<img src=x onerror=alert(1)> answer for chat"
HOSTILE_REASON = "the SQL text is built at run time </script><script>alert(2)</script>"


def work_item(folder: str, line: int, reason: str) -> WorkItem:
    file = f"{folder}/src/db.ts"
    return WorkItem.model_validate(
        {
            "id": f"{folder}:src/db.ts:{line}",
            "folder": folder,
            "file": file,
            "start_line": line,
            "end_line": line + 2,
            "reason": reason,
            "site": {
                "file": file,
                "start_line": line,
                "end_line": line + 2,
                "driver": "d1",
                "call": "env.DB.prepare().all",
                "is_async": True,
            },
            "context": f"{line} | const q = env.DB.prepare(sql);\n",
        }
    )


def needs_model(ledger: Ledger, folder: str, line: int, reason: str, **fields: Any) -> int:
    request = ApprovalRequest(
        payload=NeedsModelPayload(work_item=work_item(folder, line, reason)),
        title=fields.pop("title", f"needs a model: {folder}/src/db.ts:{line}"),
        requester="Codex",
        run_id=fields.pop("run_id", RUN),
        step="refactor",
        signature="d1-dynamic-sql",
        **fields,
    )
    return submit(ledger, request, ApprovalSettings()).id


def step(
    ledger: Ledger, folder: str, name: str, data: dict[str, Any], status: str = "done"
) -> None:
    record = begin_step(ledger, RUN, folder, name)
    finish_step(ledger, record, status, data)  # type: ignore[arg-type]


@dataclass
class Run:
    ws: Workspace
    root: Path
    ids: dict[str, int]
    batch_id: str


def build_run(root: Path) -> Run:
    """Three folders: notes done (recipes only, policy-approved batch applied), board waiting on
    two needs-model items, chat answered by a model whose batch a human rejected and whose
    agent was quarantined."""
    write(root, "apps/notes/src/b.ts", B_TS)
    write(root, "apps/chat/src/x.ts", "export const x = 1;\n")
    ws = Workspace.open(root)
    settings = Settings()
    ids: dict[str, int] = {}
    with Ledger.open(ws.ledger_path) as ledger:
        # Before the run: neither this check nor the other run's rows belong in the report.
        record_check(ledger, "Old", "old-batch", violations=3, critical=1, reason="before")
        spec = EpicSpec(
            name="Option 2 demo",
            epic="38",
            staging="STAGING",
            template="manifests/{folder}.json",
        )
        create_run(ledger, RUN, spec=spec, source="manifests/demo-epic.yaml", options=EpicOptions())
        needs_model(ledger, "apps/board", 1, "other run", run_id="another-run")
        record_model_call(
            ledger,
            ModelCallRow(
                run_id="another-run",
                tier="complex",
                model_group="complex",
                outcome="ok",
                agent="Auto",
                prompt_tokens=999,
                cost_usd=9.0,
            ),
        )

        # notes: every site by a recipe, the import-only batch passed by the policy, applied.
        step(
            ledger,
            "notes",
            "plan",
            {"dest": "apps/notes", "files": 4, "rewrites": 3, "unresolved": 0, "sql_sites": 2},
        )
        step(ledger, "notes", "migrate", {"files": 4, "changed": ["apps/notes/src/b.ts"]})
        step(
            ledger,
            "notes",
            "refactor",
            {
                "sites": 2,
                "recipes": 2,
                "needs_model": 0,
                "methods": 2,
                "work_items": [],
                "model_answers": 0,
                "model_proposals": [],
            },
        )
        batch = PatchBatch.model_validate(
            {
                "batch_id": "notes-imports",
                "requester": "Migrator",
                "patches": [
                    {
                        "op": "replace-block",
                        "file": "apps/notes/src/b.ts",
                        "start": 1,
                        "end": 1,
                        "block": 'import { a } from "@shared/a";',
                    }
                ],
            }
        )
        install(root)
        payload = review_batch(ws, batch, settings, validator=TypeCheckPassed())
        auto = submit(
            ledger,
            ApprovalRequest(
                payload=payload,
                title="notes imports",
                requester="Migrator",
                run_id=RUN,
                step="approve",
            ),
            ApprovalSettings(),
        )
        assert auto.state == "approved" and auto.decision is not None
        ids["auto"] = auto.id
        step(
            ledger,
            "notes",
            "gate",
            {
                "ok": True,
                "tsc_new_errors": 0,
                "tsc_summary": "0 new",
                "violations": 0,
                "critical": 0,
                "quarantined": [],
                "refused": None,
            },
        )
        step(
            ledger,
            "notes",
            "approve",
            {
                "items": [
                    {
                        "id": auto.id,
                        "kind": "patch_batch",
                        "state": "approved",
                        "decided_by": "policy",
                        "rule": auto.decision.rule,
                    }
                ],
                "pending": 0,
            },
        )
        applied = apply_batch(ws, payload.batch, settings)
        step(ledger, "notes", "apply", {"batches": [applied.batch_id], "files_written": 1})
        step(ledger, "notes", "tasks", {"subtask": "38.1", "status": "done", "remediation": []})

        # board: two sites no recipe can do; the run pauses on them.
        step(
            ledger,
            "board",
            "plan",
            {"dest": "apps/board", "files": 6, "rewrites": 5, "unresolved": 1, "sql_sites": 5},
        )
        step(ledger, "board", "migrate", {"files": 6, "changed": []})
        ids["board1"] = needs_model(ledger, "apps/board", 12, "the SQL text is built at run time")
        ids["board2"] = needs_model(ledger, "apps/board", 40, "the table name is a variable")
        step(
            ledger,
            "board",
            "refactor",
            {
                "sites": 5,
                "recipes": 2,
                "needs_model": 2,
                "methods": 2,
                "work_items": ["apps/board:src/db.ts:12", "apps/board:src/db.ts:40"],
                "model_answers": 0,
                "model_proposals": [],
            },
        )
        step(
            ledger,
            "board",
            "gate",
            {
                "ok": True,
                "tsc_new_errors": 0,
                "tsc_summary": "0 new",
                "violations": 0,
                "critical": 0,
                "quarantined": [],
                "refused": None,
            },
        )
        # The approve step lists one of the two; the other is found by its work item's folder.
        step(
            ledger,
            "board",
            "approve",
            {
                "items": [
                    {
                        "id": ids["board1"],
                        "kind": "needs_model",
                        "state": "pending",
                        "decided_by": None,
                        "rule": None,
                    }
                ],
                "pending": 1,
            },
            "waiting",
        )

        # chat: Codex answers; its batch trips the quality monitor, a human rejects it.
        step(
            ledger,
            "chat",
            "plan",
            {"dest": "apps/chat", "files": 3, "rewrites": 2, "unresolved": 0, "sql_sites": 3},
        )
        step(ledger, "chat", "migrate", {"files": 3, "changed": []})
        ids["alice"] = needs_model(ledger, "apps/chat", 7, HOSTILE_REASON, title=HOSTILE_TITLE)
        proposal = review_batch(
            ws,
            PatchBatch.model_validate(
                {
                    "batch_id": "codex-chat-1",
                    "requester": "Codex",
                    "patches": [
                        {
                            "op": "append",
                            "file": "apps/chat/src/x.ts",
                            "block": "// TODO: implement",
                        }
                    ],
                }
            ),
            settings,
        )
        codex = submit(
            ledger,
            ApprovalRequest(
                payload=proposal,
                title="Codex answer for chat",
                requester="Codex",
                run_id=RUN,
                step="refactor",
            ),
            ApprovalSettings(auto_pass_import_only_max_lines=0),
        )
        assert codex.state == "pending"
        ids["bob"] = codex.id
        for agent, tier, prompt, completion, cost, outcome in (
            ("Codex", "standard", 1200, 300, 0.0125, "ok"),
            ("Codex", "standard", 800, 0, 0.0, "error"),
            ("Codex", "complex", 1500, 500, 0.04, "fallback"),
            ("Auto", "complex", 2000, 400, 0.05, "ok"),
            ("QualityMonitor", "simple", 300, 60, 0.0005, "ok"),
        ):
            record_model_call(
                ledger,
                ModelCallRow(
                    run_id=RUN,
                    tier=tier,
                    model_group=tier,
                    outcome=outcome,
                    agent=agent,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    cost_usd=cost,
                ),
            )
        step(
            ledger,
            "chat",
            "refactor",
            {
                "sites": 3,
                "recipes": 1,
                "needs_model": 2,
                "methods": 1,
                "work_items": ["apps/chat:src/db.ts:7"],
                "model_answers": 2,
                "model_proposals": [codex.id],
            },
        )
        record_check(
            ledger,
            "Codex",
            "codex-chat-1",
            violations=2,
            critical=1,
            reason="lazy placeholder: // TODO: implement",
        )
        step(
            ledger,
            "chat",
            "gate",
            {
                "ok": False,
                "tsc_new_errors": 0,
                "tsc_summary": "0 new",
                "violations": 2,
                "critical": 1,
                "quarantined": ["Codex"],
                "refused": "agent Codex is quarantined",
            },
        )
        approve(ledger, ids["alice"], by="alice", reason="answered by hand")
        reject(ledger, ids["bob"], by="bob", reason="placeholder code")
        step(
            ledger,
            "chat",
            "approve",
            {
                "items": [
                    {
                        "id": ids["alice"],
                        "kind": "needs_model",
                        "state": "approved",
                        "decided_by": "alice",
                        "rule": None,
                    },
                    {
                        "id": ids["bob"],
                        "kind": "patch_batch",
                        "state": "rejected",
                        "decided_by": "bob",
                        "rule": None,
                    },
                ],
                "pending": 0,
            },
        )
        step(ledger, "chat", "apply", {"batches": [], "files_written": 0}, "skipped")
        step(
            ledger,
            "chat",
            "tasks",
            {"subtask": "38.3", "status": "blocked", "remediation": ["38.4"]},
        )
        set_run_status(ledger, RUN, "paused")
    return Run(ws=ws, root=root, ids=ids, batch_id=applied.batch_id)


@pytest.fixture
def run(ws: Path) -> Iterator[Run]:
    yield build_run(ws)


def test_totals_per_folder_and_per_tier_come_from_the_ledger(run: Run) -> None:
    report = build_report(run.ws, RUN)
    t = report.totals
    assert (t.folders, t.folders_done, t.files, t.sql_sites) == (3, 2, 13, 10)
    assert (t.sites, t.recipe_sites, t.model_sites, t.model_answers) == (10, 5, 4, 2)
    assert (t.approvals, t.pending, t.batches, t.files_written) == (5, 2, 1, 1)
    assert (t.violations, t.critical, t.quarantines) == (2, 1, 1)
    assert (t.model_calls, t.prompt_tokens, t.completion_tokens) == (5, 5800, 1260)
    assert t.cost_usd == pytest.approx(0.103)
    by_folder = {f.folder: f for f in report.folders}
    assert [f.folder for f in report.folders] == ["notes", "board", "chat"]
    assert {n: f.status for n, f in by_folder.items()} == {
        "notes": "done",
        "board": "waiting",
        "chat": "done",
    }
    board = by_folder["board"]
    assert (board.recipe_sites, board.model_sites, board.other_sites) == (2, 2, 1)
    assert (board.approvals, board.pending) == (2, 2)
    chat = by_folder["chat"]
    assert (chat.gate_ok, chat.critical, chat.quarantined) == (False, 1, ["Codex"])
    assert (chat.subtask, chat.task_status, chat.remediation) == ("38.3", "blocked", ["38.4"])
    tiers = {g.name: g for g in report.tiers}
    assert [g.name for g in report.tiers] == ["simple", "standard", "complex"]
    assert (tiers["standard"].calls, tiers["standard"].errors) == (2, 1)
    assert (tiers["complex"].calls, tiers["complex"].fallback) == (2, 1)
    assert tiers["complex"].cost_usd == pytest.approx(0.09)
    agents = {g.name: g for g in report.agents}
    assert agents["Codex"].calls == 3 and agents["Codex"].prompt_tokens == 3500
    assert report.agents[0].name == "Codex"  # the costliest first


def test_approvals_say_who_decided_and_by_which_rule(run: Run) -> None:
    report = build_report(run.ws, RUN)
    lines = {a.id: a for a in report.approvals}
    assert len(lines) == 5
    auto = lines[run.ids["auto"]]
    assert (auto.state, auto.decided_by, auto.auto, auto.rule) == (
        "approved",
        "policy",
        True,
        "import_only",
    )
    assert auto.folder == "notes"
    assert (lines[run.ids["alice"]].decided_by, lines[run.ids["alice"]].folder) == (
        "alice",
        "chat",
    )
    bob = lines[run.ids["bob"]]
    assert (bob.state, bob.decided_by, bob.folder) == ("rejected", "bob", "chat")
    assert lines[run.ids["board2"]].folder == "board"  # found through its work item's folder
    assert lines[run.ids["board1"]].policy_rules == ["needs_model"]
    assert report.deciders == {"alice": 1, "bob": 1, "policy": 1}


def test_waiting_items_name_file_line_reason_and_who_must_act(run: Run) -> None:
    report = build_report(run.ws, RUN)
    assert report.status == "paused"
    assert [w.approval_id for w in report.waiting] == [run.ids["board1"], run.ids["board2"]]
    first = report.waiting[0]
    assert first.location == "apps/board/src/db.ts:12-14"
    assert first.reason == "the SQL text is built at run time"
    assert f"vibehq approvals approve {first.approval_id} --edit" in first.action
    assert "waiting for 2 approvals" in report.headline
    assert report.next[0].startswith("2 needs-model items need a model or a human")
    assert any("vibehq agents release Codex" in s for s in report.next)
    assert report.next[-1] == f"when every item is decided: `vibehq epic resume {RUN}`"
    assert report.quarantined_now == ["Codex"]


def test_quarantines_and_checks_are_those_of_the_run_window(run: Run) -> None:
    report = build_report(run.ws, RUN)
    assert [c.agent for c in report.agent_checks] == ["Codex"]
    [check] = report.agent_checks
    assert (check.checks, check.violations, check.critical, check.quarantines) == (1, 2, 1, 1)
    [event] = report.guard_events
    assert (event.agent, event.kind, event.batch_id) == ("Codex", "quarantined", "codex-chat-1")
    assert event.reason == "lazy placeholder: // TODO: implement"


def test_batches_and_time_per_step(run: Run) -> None:
    report = build_report(run.ws, RUN)
    [batch] = report.batches
    assert (batch.batch_id, batch.folder, batch.status) == (run.batch_id, "notes", "applied")
    assert (batch.ops, batch.files, batch.lines_added, batch.lines_removed) == (1, 1, 1, 1)
    steps = {s.step: s for s in report.steps}
    assert list(steps) == ["plan", "migrate", "refactor", "gate", "approve", "apply", "tasks"]
    assert (steps["plan"].folders, steps["apply"].folders, steps["tasks"].folders) == (3, 2, 2)
    for total in report.steps:
        per_folder = [
            s.duration_ms or 0.0 for f in report.folders for s in f.steps if s.step == total.step
        ]
        assert total.duration_ms == pytest.approx(sum(per_folder), abs=0.01)
        assert total.max_ms == max(per_folder)
    assert report.totals.step_ms == pytest.approx(sum(s.duration_ms for s in report.steps), 0.01)


def test_a_failed_step_and_an_unfinished_folder_are_what_is_left_to_do(ws: Path) -> None:
    workspace = Workspace.open(ws)
    with Ledger.open(workspace.ledger_path) as ledger:
        spec = EpicSpec(name="e", staging="STAGING", template="{folder}.json")
        create_run(ledger, RUN, spec=spec, source="e.yaml", options=EpicOptions())
        step(ledger, "a", "plan", {"dest": "apps/a", "files": 1, "sql_sites": 0})
        step(ledger, "a", "migrate", {"error": "STAGING/a vanished"}, "failed")
        step(ledger, "b", "plan", {"dest": "apps/b", "files": 2, "sql_sites": 1})
        set_run_status(ledger, RUN, "failed")
    report = build_report(workspace, RUN)
    assert [(f.folder, f.status) for f in report.folders] == [("a", "failed"), ("b", "pending")]
    [failed] = report.failed_steps
    assert (failed.folder, failed.step, failed.error) == ("a", "migrate", "STAGING/a vanished")
    assert report.next == [
        f"a: step migrate failed: STAGING/a vanished; fix the cause, then "
        f"`vibehq epic resume {RUN}`"
    ]
    assert report.waiting == [] and report.tiers == []
    md = (write_report(workspace, report).markdown).read_text()
    assert "No model was called in this run." in md and "No batch was applied." in md


def test_a_flow_can_build_it_on_the_ledger_it_holds(run: Run) -> None:
    with Ledger.open(run.ws.ledger_path) as ledger:
        held = build_report(run.ws, RUN, ledger=ledger)
        assert load_run(ledger, RUN).status == "paused"  # still open and usable
    fresh = build_report(run.ws, RUN)
    assert held.model_dump(exclude={"generated_at"}) == fresh.model_dump(exclude={"generated_at"})


def test_unknown_run_is_bad_input_and_creates_no_ledger(ws: Path) -> None:
    workspace = Workspace.open(ws)
    with pytest.raises(UnknownRun):
        build_report(workspace, "nope")
    assert not workspace.state_dir.exists()
    with Ledger.open(workspace.ledger_path):
        pass
    with pytest.raises(UnknownRun):
        build_report(workspace, "nope")


# --- files --------------------------------------------------------------------------------------


def written(run: Run) -> tuple[DeliveryReport, str, str, dict[str, Any]]:
    report = build_report(run.ws, RUN)
    paths = write_report(run.ws, report)
    folder = run.ws.runs_dir / RUN
    assert paths.markdown == folder / "delivery-report.md"
    assert paths.json_path == folder / "delivery-report.json"
    assert paths.html == folder / "delivery-report.html"
    assert paths.step_data(run.ws) == {
        "markdown": f".vibehq/runs/{RUN}/delivery-report.md",
        "json": f".vibehq/runs/{RUN}/delivery-report.json",
        "html": f".vibehq/runs/{RUN}/delivery-report.html",
    }
    return (
        report,
        paths.markdown.read_text(),
        paths.html.read_text(),
        json.loads(paths.json_path.read_text()),
    )


def test_json_is_the_report(run: Run) -> None:
    report, _, _, data = written(run)
    assert DeliveryReport.model_validate(data) == report
    assert data["totals"]["recipe_sites"] == 5 and data["totals"]["model_sites"] == 4
    assert data["waiting"][1]["location"] == "apps/board/src/db.ts:40-42"


def test_markdown_has_the_seed_sections_and_the_numbers(run: Run) -> None:
    _, md, _, _ = written(run)
    headings = re.findall(r"^#+ (.+)$", md, re.M)
    assert headings == [
        "Delivery report: Option 2 demo",
        "Summary",
        "Still to do",
        "Waiting for 2 approvals",
        "Folders",
        "Model calls",
        "Approvals",
        "Violations and quarantines",
        "Patches",
        "Time per step",
    ]
    assert (
        "- **SQL sites**: 10 found; of the 10 the refactor took, 5 by recipes, 4 to models " in md
    )
    assert "- **Model calls**: 5, 5800 prompt + 1260 completion tokens, $0.1030" in md
    assert "decided by alice 1, bob 1, policy 1" in md
    assert "| board | apps/board | waiting | 6 | 5 | 2 | 2 | 0 |" in md
    assert "| complex | 2 | 1 | 1 | 0 | 3500 | 900 | $0.0900 |" in md
    assert f"| {run.ids['bob']} | patch_batch | chat | rejected | bob |" in md
    # No raw HTML from input reaches a Markdown renderer.
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt; answer for chat" in md
    assert (
        f"| {run.ids['auto']} | patch_batch | notes | approved | policy | auto: import_only |" in md
    )
    # A `|` or a line break in a cell cannot break the table.
    table_rows = [line for line in md.splitlines() if line.startswith("| ")]
    widths = {line.count(" | ") for line in table_rows if "apps/board/src/db.ts:12-14" in line}
    assert widths == {5}


def test_html_is_self_contained_escaped_and_charts_the_sites(run: Run) -> None:
    report, _, page, _ = written(run)
    # No tag loads anything: no src or href attribute at all (escaped text may say "src=").
    assert not re.search(r"<[^>]*\b(?:src|href)\s*=", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<img" not in page and "<script>alert" not in page
    assert html_escaped(HOSTILE_TITLE) in page
    assert page.count("<script") == 1  # the JSON data block, never code
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert data is not None
    assert DeliveryReport.model_validate(json.loads(data.group(1))) == report
    bars = {
        (m["folder"], m["series"]): (int(m["value"]), float(m["width"]))
        for m in re.finditer(
            r'<rect class="bar [a-z]+" x="[\d.]+" y="\d+" width="(?P<width>[\d.]+)" '
            r'height="\d+" fill="#[0-9a-f]+" data-folder="(?P<folder>[^"]+)" '
            r'data-series="(?P<series>[^"]+)" data-value="(?P<value>\d+)"',
            page,
        )
    }
    # The longest bar (board, 5 sites) spans the chart's 460 px; the others scale to it.
    assert bars == {
        ("notes", "recipes"): (2, 184.0),
        ("board", "recipes"): (2, 184.0),
        ("board", "models"): (2, 184.0),
        ("board", "moved or dropped"): (1, 92.0),
        ("chat", "recipes"): (1, 92.0),
        ("chat", "models"): (2, 184.0),
    }
    steps = re.findall(r'data-step="([a-z]+)" data-value="[\d.]+"><title>([^<]+)</title>', page)
    assert steps == [
        (s.step, f"{s.step}: {duration_text(s.duration_ms)} over {s.folders} folders")
        for s in report.steps
    ]
    assert [s for s, _ in steps] == [
        "plan",
        "migrate",
        "refactor",
        "gate",
        "approve",
        "apply",
        "tasks",
    ]


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_write_refuses_a_run_id_that_is_not_a_plain_name(run: Run) -> None:
    report = build_report(run.ws, RUN).model_copy(update={"run_id": "../escape"})
    with pytest.raises(BadInput, match="invalid run id"):
        write_report(run.ws, report)
    assert not (run.ws.state_dir / "escape").exists()


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_writes_the_three_files_and_prints_their_paths(cli: Any, run: Run) -> None:
    result = cli("epic", "report", RUN, "-w", run.root)
    assert result.code == 0, result.err
    folder = run.ws.runs_dir / RUN
    printed = result.out.splitlines()
    assert printed[-3:] == [
        str(folder / "delivery-report.md"),
        str(folder / "delivery-report.json"),
        str(folder / "delivery-report.html"),
    ]
    assert "waiting for 2 approvals" in printed[0]


def test_cli_prints_a_chosen_format(cli: Any, run: Run) -> None:
    as_json = cli("epic", "report", RUN, "--format", "json", "-w", run.root)
    assert as_json.code == 0 and as_json.json()["totals"]["pending"] == 2
    md = cli("epic", "report", RUN, "--format", "md", "-w", run.root)
    assert md.out.startswith("# Delivery report: Option 2 demo\n")
    page = cli("epic", "report", RUN, "--format", "html", "-w", run.root)
    assert page.out.startswith("<!doctype html>") and "<svg" in page.out
    paths = cli("epic", "report", RUN, "--json", "-w", run.root).json()
    assert paths["ok"] is True and paths["waiting"] == 2
    assert Path(paths["html"]).is_file()


def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(cli: Any, run: Run) -> None:
    for args in (("nope",), (RUN, "--format", "pdf")):
        result = cli("epic", "report", *args, "-w", run.root)
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1 and "error:" in result.err
    assert not (run.ws.runs_dir / RUN).exists()
    fresh = run.root.parent / "fresh"
    fresh.mkdir()
    result = cli("epic", "report", RUN, "--json", "-w", fresh)
    assert result.code == 2 and result.json()["errorType"] == "UnknownRun"
    assert not (fresh / ".vibehq").exists()


def test_a_one_manifest_run_reports_its_manifest_through_the_cli(cli: Any, ws: Path) -> None:
    # `vibehq epic run one.yaml`: the spec has a manifest and no STAGING folder.
    workspace = Workspace.open(ws)
    with Ledger.open(workspace.ledger_path) as ledger:
        spec = EpicSpec(name="one", manifest="/specs/one.yaml")
        create_run(ledger, RUN, spec=spec, source="one.yaml", options=EpicOptions())
        step(ledger, "one", "plan", {"dest": "apps/one", "files": 1, "sql_sites": 0})
        set_run_status(ledger, RUN, "done")
    report = build_report(workspace, RUN)
    assert (report.staging, report.manifest) == (None, "/specs/one.yaml")
    result = cli("epic", "report", RUN, "-w", ws)
    assert result.code == 0, result.err
    md = (workspace.runs_dir / RUN / "delivery-report.md").read_text()
    assert "manifest /specs/one.yaml: done" in md and "STAGING" not in md.split("\n")[2]
    html = (workspace.runs_dir / RUN / "delivery-report.html").read_text()
    assert "manifest <code>/specs/one.yaml</code>" in html


def test_a_rule_matched_by_many_files_is_listed_once(ws: Path) -> None:
    """A batch touching three orchestrator files is sent to a human by `human_path` three
    times over; the report names the rule once."""
    for name in ("a", "b", "c"):
        write(ws, f"orchestrator/{name}.ts", f"export const {name} = 1;\n")
    workspace = Workspace.open(ws)
    settings = Settings()
    with Ledger.open(workspace.ledger_path) as ledger:
        spec = EpicSpec(name="paths", staging="STAGING", template="manifests/{folder}.json")
        create_run(ledger, RUN, spec=spec, source="spec.yaml", options=EpicOptions())
        step(ledger, "api", "plan", {"dest": "apps/api", "files": 1, "sql_sites": 0})
        proposal = review_batch(
            workspace,
            PatchBatch.model_validate(
                {
                    "requester": "vibehq",
                    "patches": [
                        {"op": "append", "file": f"orchestrator/{n}.ts", "block": "// x"}
                        for n in ("a", "b", "c")
                    ],
                }
            ),
            settings,
        )
        item = submit(
            ledger,
            ApprovalRequest(payload=proposal, title="orchestrator changes", run_id=RUN),
            ApprovalSettings(),
        )
        assert [r.rule for r in item.verdict.reasons].count("human_path") == 3
    report = build_report(workspace, RUN)
    (line,) = report.approvals
    assert line.policy_rules == ["human_path"]
    assert report.waiting[0].reason == "human_path"
    paths = write_report(workspace, report)
    md, page = paths.markdown.read_text(), paths.html.read_text()
    assert "| human: human_path |" in md
    assert "human: human_path</td>" in page
    assert "human_path, human_path" not in md + page


def test_the_headline_follows_sites_to_items_to_decisions(run: Run) -> None:
    report = build_report(run.ws, RUN)
    assert report.headline == (
        "paused; 2/3 folders done; 10 SQL sites → 5 by recipes, 4 to models (2 answered) → "
        "5 approval items (3 needs-model, 2 batches) → 3 decided (1 by policy, 2 by people); "
        "5 model calls, $0.1030; waiting for 2 approvals"
    )
    _, md, page, _ = written(run)
    assert f"> {report.headline}" in md
    assert report.headline in page


def test_html_renders_the_markdown_of_prose_fields(run: Run) -> None:
    _, _, page, _ = written(run)
    waiting = re.search(r'<table class="waiting">.*?</table>', page, re.S)
    assert waiting is not None
    # The action's commands are code, not backticks shown as text.
    assert f"<code>vibehq approvals approve {run.ids['board1']} --edit BATCH.json</code>" in (
        waiting.group(0)
    )
    assert "`" not in waiting.group(0)
    todo = re.search(r'<ol class="todo">.*?</ol>', page, re.S)
    assert todo is not None
    assert f"<code>vibehq epic resume {RUN}</code>" in todo.group(0)
    assert "`" not in todo.group(0)
    # Markdown from input still cannot bring HTML, links or images.
    assert html_escaped(HOSTILE_TITLE) in page
    assert "<img" not in page


def test_markdown_links_and_images_in_input_stay_text(run: Run) -> None:
    from engine.epic.report_pages import report_html

    report = build_report(run.ws, RUN).model_copy(
        update={"headline": "see [the docs](https://example.com) and ![x](x.png) **now**"}
    )
    page = report_html(report)
    assert "<strong>now</strong>" in page
    assert not re.search(r"<[^>]*\b(?:src|href)\s*=", page, re.I)


def test_html_charts_folders_by_outcome_at_each_step(run: Run) -> None:
    report, _, page, _ = written(run)
    bars = {
        (m["step"], m["outcome"]): int(m["value"])
        for m in re.finditer(
            r'<rect class="bar outcome" [^>]*data-step="(?P<step>[a-z]+)" '
            r'data-outcome="(?P<outcome>[a-z ]+)" data-value="(?P<value>\d+)"',
            page,
        )
    }
    # notes went through every step; board waits at approve; chat skipped its apply.
    assert bars == {
        ("plan", "done"): 3,
        ("migrate", "done"): 3,
        ("refactor", "done"): 3,
        ("gate", "done"): 3,
        ("approve", "done"): 2,
        ("approve", "waiting"): 1,
        ("apply", "done"): 1,
        ("apply", "skipped"): 1,
        ("apply", "not reached"): 1,
        ("tasks", "done"): 2,
        ("tasks", "not reached"): 1,
    }
    assert "Folders by outcome, step by step" in page
    assert len(report.folders) == 3
