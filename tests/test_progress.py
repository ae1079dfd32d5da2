"""The live progress of an epic run: the folders x steps table, the footer (agent, tool, tokens,
cost, waiting approvals), plain lines when the console is not a terminal, and JSON lines."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from rich.console import Console

from crews.progress import JsonLines, ProgressState, ProgressView, open_sink
from engine.epic.models import EpicEvent

RUN = "epic-1"


def ev(kind: str, second: float, **fields: Any) -> EpicEvent:
    minute, sec = divmod(second, 60)
    ts = f"2030-01-01T00:{int(minute):02d}:{sec:09.6f}Z"
    return EpicEvent(run_id=RUN, kind=kind, ts=ts, **fields)  # type: ignore[arg-type]


def step(second: float, folder: str, name: str, status: str, **fields: Any) -> EpicEvent:
    return ev("step", second, folder=folder, step=name, status=status, **fields)


EVENTS = [
    ev("run", 0, status="running", message="2 folders"),
    step(0, "notes", "plan", "running"),
    step(1.5, "notes", "plan", "done"),
    step(1.5, "notes", "migrate", "running"),
    step(2.0, "notes", "migrate", "done"),
    step(2.0, "notes", "refactor", "running"),
    ev("agent", 2.1, agent="Codex", status="started"),
    ev("tool", 2.2, agent="Codex", tool="propose_patch_batch"),
    ev("llm", 3, agent="Codex", prompt_tokens=1200, completion_tokens=300, cost_usd=0.0125),
    ev("llm", 4, agent="Codex", prompt_tokens=800, completion_tokens=100, cost_usd=0.0075),
    step(4.25, "notes", "refactor", "done"),
    step(4.25, "board", "plan", "running"),
    step(4.5, "board", "plan", "failed", message="STAGING/board vanished"),
    step(5, "notes", "gate", "skipped"),
    step(5, "notes", "approve", "running"),
    step(6, "notes", "approve", "waiting", message="waiting for 3 approvals"),
    ev("run", 6, status="paused", message="waiting for 3 approvals"),
]


def feed(view: ProgressView, events: list[EpicEvent] = EVENTS) -> None:
    for event in events:
        view.handle(event)


def rendered(view: ProgressView) -> str:
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(view.render())
    return console.export_text()


def row(text: str, folder: str) -> str:
    [line] = [line for line in text.splitlines() if line.strip("│┃ ").startswith(folder + " ")]
    return line


def test_state_folds_steps_durations_tokens_cost_and_waiting() -> None:
    state = ProgressState()
    for event in EVENTS:
        state.apply(event)
    assert state.folders == ["notes", "board"]
    plan = state.cells[("notes", "plan")]
    assert (plan.status, plan.duration_ms) == ("done", 1500.0)
    assert state.cells[("notes", "refactor")].duration_ms == 2250.0
    assert state.cells[("notes", "gate")].duration_ms is None  # skipped without a start
    assert (state.prompt_tokens, state.completion_tokens, state.calls) == (2000, 400, 2)
    assert state.cost_usd == pytest.approx(0.02)
    assert (state.agent, state.tool) == ("Codex", "propose_patch_batch")
    assert state.waiting == 3
    assert state.run_status == "paused"
    state.apply(step(7, "notes", "approve", "running"))
    assert state.waiting == 0  # a resumed step waits no longer


def test_table_shows_each_cell_status_and_the_footer() -> None:
    view = ProgressView(Console(file=io.StringIO(), width=160))
    feed(view)
    text = rendered(view)
    assert "epic run epic-1: paused" in text
    header = next(line for line in text.splitlines() if "folder" in line)
    for column in ("plan", "migrate", "refactor", "gate", "approve", "apply", "tasks", "report"):
        assert column in header
    notes = row(text, "notes")
    assert "✓ 1.5 s" in notes and "✓ 500 ms" in notes and "✓ 2.2 s" in notes
    assert "\u2013" in notes and "⏸ 3" in notes  # skipped: an en dash
    board = row(text, "board")
    assert "✗ 250 ms" in board and board.count("·") == 7
    assert (
        "agent Codex · tool propose_patch_batch · tokens 2,000 in / 400 out · cost $0.0200 · "
        "waiting approvals 3"
    ) in text


def test_a_running_step_shows_a_spinner_and_the_run_wide_report_its_own_row() -> None:
    view = ProgressView(Console(file=io.StringIO(), width=160))
    feed(view, [step(0, "notes", "plan", "running"), step(1, "*", "report", "done")])
    text = rendered(view)
    notes = row(text, "notes")
    assert "·" in notes and "✓" not in notes
    cells = [c.strip() for c in notes.split("│")]
    assert cells[2] and cells[2][0] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # the spinner's frame
    run_row = row(text, "(run)")
    assert run_row.count("·") == 7 and "✓" in run_row


def test_not_a_terminal_prints_one_plain_line_per_change_and_no_redraws() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120)
    assert not console.is_terminal
    with ProgressView(console) as view:
        feed(view)
    lines = out.getvalue().splitlines()
    assert lines == [
        "run epic-1 running: 2 folders",
        "notes plan running",
        "notes plan done 1.5 s",
        "notes migrate running",
        "notes migrate done 500 ms",
        "notes refactor running",
        "notes refactor done 2.2 s",
        "board plan running",
        "board plan failed 250 ms - STAGING/board vanished",
        "notes gate skipped",
        "notes approve running",
        "notes approve waiting - waiting for 3 approvals",
        "run epic-1 paused: waiting for 3 approvals",
        "agent Codex · tool propose_patch_batch · tokens 2,000 in / 400 out · cost $0.0200 · "
        "waiting approvals 3",
    ]
    assert "\x1b" not in out.getvalue()


def test_a_terminal_gets_the_live_table() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=True, color_system=None)
    with ProgressView(console, refresh_per_second=50) as view:
        feed(view)
    text = out.getvalue()
    assert "notes plan running" not in text  # no plain lines
    assert "⏸ 3" in text and "✗ 250 ms" in text and "cost $0.0200" in text


def test_the_ledger_count_of_waiting_approvals_wins() -> None:
    asked: list[int] = []

    def pending() -> int:
        asked.append(1)
        return 5

    view = ProgressView(Console(file=io.StringIO(), width=160), pending_approvals=pending)
    feed(view)
    assert view.state.waiting == 5 and "waiting approvals 5" in view.footer_text()
    assert len(asked) == sum(1 for e in EVENTS if e.kind in ("run", "step"))


def test_json_lines_are_one_event_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    with JsonLines() as sink:
        for event in EVENTS:
            sink.handle(event)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(EVENTS)
    parsed = [EpicEvent.model_validate(json.loads(line)) for line in lines]
    assert parsed == EVENTS
    assert json.loads(lines[8])["prompt_tokens"] == 1200


def test_open_sink_picks_json_lines_or_the_view() -> None:
    assert isinstance(open_sink(as_json=True), JsonLines)
    view = open_sink(as_json=False, console=Console(file=io.StringIO()), folders=["a", "b"])
    assert isinstance(view, ProgressView) and view.state.folders == ["a", "b"]


def test_progress_imports_no_crewai() -> None:
    import subprocess

    code = "import crews.progress, sys; print('crewai' in sys.modules, 'litellm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
