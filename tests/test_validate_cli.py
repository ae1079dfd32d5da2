"""`vibehq validate`, `agents` and `queue` through the real CLI entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.validate.quarantine import record_check
from tests.conftest import copy_example, write


def test_missing_toolchain_is_one_line_exit_2(cli: Any, ws: Path) -> None:
    write(ws, "tsconfig.json", "{}")
    result = cli("validate", "-w", ws)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "npm install" in result.err


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example")


@pytest.mark.integration
def test_validate_reports_only_what_is_new_since_the_baseline(cli: Any, example: Path) -> None:
    write(example, "apps/logger/src/old.ts", 'export const old: number = "legacy";\n')
    recorded = cli("validate", "--baseline", "-w", example, "--json")
    assert recorded.code == 0, recorded.err
    assert recorded.json()["results"][0]["findings"] == 1
    assert cli("validate", "-w", example).code == 0
    text = (example / "apps/logger/src/old.ts").read_text()
    write(example, "apps/logger/src/old.ts", "\n\n\n" + text)
    write(example, "apps/logger/src/new.ts", "export const fresh: boolean = 1;\n")
    result = cli("validate", "-w", example, "--json")
    assert result.code == 1
    new = result.json()["new"]
    assert [(f["file"], f["code"]) for f in new] == [("apps/logger/src/new.ts", "TS2322")]


def test_agents_list_and_release(cli: Any, ws: Path) -> None:
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        record_check(ledger, "codex", "b1", violations=1, critical=1, reason="secret in a.ts")
    listed = cli("agents", "list", "-w", ws, "--json").json()
    assert [(a["agent"], a["status"]) for a in listed] == [("codex", "quarantined")]
    missing_reason = cli("agents", "release", "codex", "-w", ws)
    assert missing_reason.code == 2
    released = cli("agents", "release", "codex", "--reason", "false positive", "-w", ws)
    assert released.code == 0
    assert cli("agents", "list", "-w", ws, "--json").json()[0]["status"] == "active"
    again = cli("agents", "release", "codex", "--reason", "again", "-w", ws)
    assert again.code == 2 and "not quarantined" in again.err


def test_queue_list_empty_and_filtered(cli: Any, ws: Path) -> None:
    assert cli("queue", "list", "-w", ws, "--json").json() == []
    assert "empty" in cli("queue", "list", "-w", ws).out
