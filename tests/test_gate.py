"""The gate in front of `vibehq patch apply`: quality monitor, quarantine, triggers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import batch_file, snapshot, write

LOGGER = """export class Logger {
  private lines: string[] = [];

  log(msg: string): void {
    this.lines.push(msg);
  }
}
"""


def test_lazy_placeholder_quarantines_and_release_unblocks(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    write(ws, "src/logger.ts", LOGGER)
    lazy = batch_file(
        tmp_path,
        [
            {
                "op": "replace-block",
                "file": "src/logger.ts",
                "start": 4,
                "end": 6,
                "block": "// ... existing code ...",
            }
        ],
        requester="codex",
    )
    before = snapshot(ws, include_state=False)
    refused = cli("patch", "apply", lazy, "-w", ws)
    assert refused.code == 1
    assert "PLACEHOLDER_DROPPED" in refused.err and "quarantined agent 'codex'" in refused.err
    assert snapshot(ws, include_state=False) == before

    clean = batch_file(
        tmp_path,
        [
            {
                "op": "insert-after",
                "file": "src/logger.ts",
                "line": 6,
                "block": "size(): number {\n  return this.lines.length;\n}",
            }
        ],
        requester="codex",
    )
    blocked = cli("patch", "apply", clean, "-w", ws)
    assert blocked.code == 1 and "is quarantined" in blocked.err
    assert snapshot(ws, include_state=False) == before

    other = batch_file(
        tmp_path,
        [{"op": "append", "file": "src/logger.ts", "block": "export default Logger;"}],
        requester="auto",
    )
    assert cli("patch", "apply", other, "-w", ws).code == 0

    agents = {a["agent"]: a for a in cli("agents", "list", "-w", ws, "--json").json()}
    assert agents["codex"]["status"] == "quarantined" and agents["codex"]["refused"] == 1
    assert agents["auto"]["status"] == "active"

    assert cli("agents", "release", "codex", "--reason", "reviewed", "-w", ws).code == 0
    assert cli("patch", "apply", clean, "-w", ws).code == 0
    assert "size(): number" in (ws / "src/logger.ts").read_text()


def test_only_added_lines_are_judged(cli: Any, ws: Path, tmp_path: Path) -> None:
    write(
        ws,
        "src/legacy.ts",
        "export const a = 1;\n// TODO: someone else's old note\n"
        "// ... rest of the implementation\n",
    )
    fine = batch_file(
        tmp_path,
        [{"op": "append", "file": "src/legacy.ts", "block": "export const b = 2;"}],
        requester="codex",
    )
    result = cli("patch", "apply", fine, "-w", ws, "--json")
    assert result.code == 0, result.err
    assert result.json()["quality"]["violations"] == []


def test_dry_run_reports_but_does_not_quarantine(cli: Any, ws: Path, tmp_path: Path) -> None:
    write(ws, "src/a.ts", "export const a = 1;\n")
    risky = batch_file(
        tmp_path,
        [
            {
                "op": "append",
                "file": "src/a.ts",
                "block": "export const run = (s: string) => eval(s);",
            }
        ],
        requester="codex",
    )
    result = cli("patch", "apply", risky, "--dry-run", "-w", ws, "--json")
    assert result.code == 1
    assert result.json()["quality"]["violations"][0]["kind"] == "SECURITY_RISK"
    assert cli("agents", "list", "-w", ws, "--json").json() == []


def test_triggers_queue_specialists_after_an_applied_batch(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    write(
        ws,
        "package.json",
        json.dumps({"name": "x", "dependencies": {"hono": "^3.11.0"}}, indent=2) + "\n",
    )
    write(ws, "src/big.ts", "export {};\n")
    body = "\n".join(f"export const v{i} = {i};" for i in range(60))
    batch = batch_file(
        tmp_path,
        [
            {"op": "append", "file": "src/big.ts", "block": body},
            {
                "op": "replace-block",
                "file": "package.json",
                "match": '    "hono": "^3.11.0"',
                "block": '"hono": "^4.6.0"',
            },
        ],
        requester="codex",
        taskId="12",
    )
    result = cli("patch", "apply", batch, "-w", ws, "--json")
    assert result.code == 0, result.err
    assert {q["specialist"] for q in result.json()["queued"]} == {
        "DocString Architect",
        "Dependency Auditor",
    }
    queue = cli("queue", "list", "-w", ws, "--json").json()
    deps = next(q for q in queue if q["specialist"] == "Dependency Auditor")
    assert deps["detail"] == {"file": "package.json", "package": "hono", "from": 3, "to": 4}
    assert deps["task_id"] == "12"


def test_scan_command(cli: Any, ws: Path) -> None:
    write(ws, "src/ok.ts", "export const ok = (xs: number[]) => Math.max(...xs);\n")
    write(ws, "src/bad.ts", "export function f(): void {\n  // ... rest of the code\n}\n")
    ok = cli("scan", "src/ok.ts", "-w", ws, "--json")
    assert ok.code == 0 and ok.json()["violations"] == []
    bad = cli("scan", "src", "-w", ws, "--json")
    assert bad.code == 1
    assert [(v["kind"], v["file"]) for v in bad.json()["violations"]] == [
        ("PLACEHOLDER_DROPPED", "src/bad.ts")
    ]
    assert cli("scan", "../outside", "-w", ws).code == 2
