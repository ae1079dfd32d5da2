"""`vibehq epic ...` as users run it: separate processes, the real tsc, the example STAGING
folders. Pause in one process, decide in another, resume in a third; kill a run mid-way and
resume it with nothing applied twice; and every bad input is one line, exit 2, nothing
changed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT, copy_example, snapshot

TASKS_FIXTURE = Path(__file__).parent / "fixtures" / "taskmaster" / "tasks.before-option2.json"
TASKS_REL = ".taskmaster/tasks/tasks.json"
PAUSED = 3


def vibehq(root: Path, *args: str, check: int | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", "import main; main.run()", *args, "-w", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def spec(tmp_path: Path, *folders: str) -> Path:
    path = tmp_path / "epic.yaml"
    data = {
        "name": "cli epic",
        "staging": str(EXAMPLES / "STAGING"),
        "template": str(ROOT / "manifests" / "staging-template.yaml"),
        "folders": list(folders),
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws")
    (ws / TASKS_REL).parent.mkdir(parents=True, exist_ok=True)
    (ws / TASKS_REL).write_bytes(TASKS_FIXTURE.read_bytes())
    return ws


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert "summary" in lines[-1], proc.stdout[-2000:]
    events = lines[:-1]
    assert all("kind" in e and "run_id" in e for e in events)
    return dict(lines[-1]["summary"])


def applied_counts(root: Path) -> dict[str, int]:
    conn = sqlite3.connect(root / ".vibehq" / "ledger.sqlite")
    rows = conn.execute(
        "SELECT batch_id, COUNT(DISTINCT ts) FROM patch_events WHERE kind = 'applied' "
        "GROUP BY batch_id"
    ).fetchall()
    conn.close()
    return {str(b): int(n) for b, n in rows}


def tsc_errors(root: Path) -> str:
    proc = subprocess.run(
        ["./node_modules/.bin/tsc", "--noEmit", "-p", "tsconfig.json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.stdout


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["epic", "run", "missing.yaml"], "epic spec 'missing.yaml' not found"),
        (["epic", "run", "{spec}", "--auto-approve", "maybe"], "'maybe' is not one of"),
        (["epic", "run", "{spec}", "--epic", "999"], "999"),
        (["epic", "run", "{spec}", "--folders", "zzz*"], "no epic folders match 'zzz*'"),
        (["epic", "run", "{bad}"], "malformed YAML"),
        (["epic", "run", "777"], "777"),
        (["epic", "resume", "epic-nope"], "epic run 'epic-nope' not found"),
        (["epic", "status", "epic-nope"], "epic run 'epic-nope' not found"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    ws = copy_example(tmp_path / "ws", require_tsc=False)
    (ws / TASKS_REL).parent.mkdir(parents=True, exist_ok=True)
    (ws / TASKS_REL).write_bytes(TASKS_FIXTURE.read_bytes())
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    filled = [
        a.replace("{spec}", str(spec(tmp_path, "logger"))).replace("{bad}", str(bad)) for a in args
    ]
    before = snapshot(ws, include_state=False)
    proc = vibehq(ws, *filled)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(ws, include_state=False) == before


# --- pause and resume across processes ---------------------------------------------------------


@pytest.mark.integration
def test_pause_decide_and_resume_in_three_processes(tmp_path: Path, root: Path) -> None:
    first = vibehq(root, "epic", "run", str(spec(tmp_path, "logger", "sqlite-demo")), "--json")
    assert first.returncode == PAUSED, first.stderr
    summary = summary_of(first)
    assert summary["status"] == "paused"
    assert summary["folders"] == {"logger": "waiting", "sqlite-demo": "waiting"}
    run_id = summary["run_id"]
    folder_items = [w["id"] for w in summary["waiting"] if w["kind"] == "patch_batch"]
    assert len(folder_items) == 1
    assert any(w["kind"] == "needs_model" for w in summary["waiting"])
    assert not (root / "apps/logger/src/storage.ts").exists()
    report = summary["report"]
    assert report and (root / report["html"]).is_file()
    assert "paused" in (root / report["markdown"]).read_text(encoding="utf-8")

    vibehq(root, "approvals", "approve", str(folder_items[0]), "--by", "carol", check=0)

    second = vibehq(root, "epic", "resume", run_id, "--json")
    assert second.returncode == PAUSED, second.stderr
    after = summary_of(second)
    assert after["folders"] == {"logger": "applied", "sqlite-demo": "waiting"}
    assert [w["kind"] for w in after["waiting"]] == ["needs_model"]
    assert "bun:sqlite" not in (root / "apps/logger/src/storage.ts").read_text()
    assert "apps/logger" not in tsc_errors(root)
    assert not (root / "apps/sqlite-demo").exists()
    tasks = json.loads((root / TASKS_REL).read_text())
    epic = next(t for t in tasks["master"]["tasks"] if t["title"] == "Epic: cli epic")
    statuses = {s["title"]: s["status"] for s in epic["subtasks"]}
    assert statuses == {
        "Migrate STAGING/logger to apps/logger": "done",
        "Migrate STAGING/sqlite-demo to apps/sqlite-demo": "blocked",
    }
    status = vibehq(root, "epic", "status", run_id, check=0)
    assert "waiting" in status.stdout and "logger" in status.stdout


# --- kill and resume ---------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("folder", "step", "applied_before"),
    [("task-queue", "gate", 0), ("logger", "apply", 1)],
    ids=["killed-while-gating", "killed-while-applying"],
)
def test_a_killed_run_resumes_and_applies_nothing_twice(
    tmp_path: Path, root: Path, folder: str, step: str, applied_before: int
) -> None:
    (root / "vibehq.toml").write_text("[approvals]\nhuman_paths = []\n", encoding="utf-8")
    epic = spec(tmp_path, "d1-notes", "logger", "task-queue", "terminal-demo")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import main; main.run()",
            "epic",
            "run",
            str(epic),
            "--json",
            "-w",
            str(root),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Folders are applied after every folder is gated: killed while gating, nothing is
    # applied yet; killed while applying the second folder, the first one is.
    assert proc.stdout is not None
    killed_at = None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("folder") == folder and event.get("step") == step:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = event
            break
    proc.wait(timeout=60)
    assert killed_at is not None and proc.returncode == -signal.SIGKILL
    run_id = killed_at["run_id"]
    assert len(applied_counts(root)) <= applied_before + 1

    resumed = vibehq(root, "epic", "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr
    summary = summary_of(resumed)
    assert set(summary["folders"].values()) == {"applied"}
    counts = applied_counts(root)
    assert len(counts) == 4 and set(counts.values()) == {1}
    assert tsc_errors(root) == ""

    again = vibehq(root, "epic", "resume", run_id, "--json", check=0)
    assert summary_of(again)["status"] == "done"
    assert applied_counts(root) == counts


# --- a kill at each fault point of the apply, during `epic resume` -----------------------------


@pytest.mark.integration
@pytest.mark.parametrize("point", ["apply.before-record", "apply.mid-commit", "apply.after-commit"])
def test_a_resume_killed_at_a_fault_point_completes_on_the_next_resume(
    tmp_path: Path, root: Path, point: str
) -> None:
    first = vibehq(root, "epic", "run", str(spec(tmp_path, "d1-notes", "logger")), "--json")
    assert first.returncode == PAUSED, first.stdout[-2000:] + first.stderr
    summary = summary_of(first)
    run_id = summary["run_id"]
    for waiting in summary["waiting"]:
        vibehq(root, "approvals", "approve", str(waiting["id"]), "--by", "carol", check=0)

    cmd = [sys.executable, "-c", "import main; main.run()", "epic", "resume", run_id, "--json"]
    killed = subprocess.run(
        [*cmd, "-w", str(root)],
        cwd=ROOT,
        env={**os.environ, "VIBEHQ_FAULT": point},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr

    resumed = vibehq(root, "epic", "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr
    assert set(summary_of(resumed)["folders"].values()) == {"applied"}
    counts = applied_counts(root)
    assert sorted(counts) == [f"{run_id}.d1-notes", f"{run_id}.logger"]
    assert set(counts.values()) == {1}
    assert not list((root / ".vibehq" / "journal").glob("*.pending"))
    assert tsc_errors(root) == ""
    again = vibehq(root, "epic", "resume", run_id, "--json", check=0)
    assert summary_of(again)["status"] == "done"
    assert applied_counts(root) == counts
