"""Quarantine and specialist triggers on a real ledger file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.ledger.store import Ledger
from engine.settings import TriggerSettings
from engine.validate.quarantine import (
    AgentQuarantined,
    agent_statuses,
    ensure_active,
    record_check,
    release,
)
from engine.validate.triggers import BatchFacts, PackageChange, evaluate, major_of, queue_items


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / ".vibehq" / "ledger.sqlite")


def test_critical_violation_quarantines_until_released(ledger: Ledger) -> None:
    ensure_active(ledger, "codex", "b1")
    assert record_check(ledger, "codex", "b1", violations=2, critical=0, reason="") is False
    ensure_active(ledger, "codex", "b2")
    assert (
        record_check(
            ledger, "codex", "b2", violations=1, critical=1, reason="PLACEHOLDER_DROPPED in a.ts:3"
        )
        is True
    )
    with pytest.raises(AgentQuarantined, match=r"PLACEHOLDER_DROPPED in a\.ts:3"):
        ensure_active(ledger, "codex", "b3")
    ensure_active(ledger, "auto", "b4")
    with pytest.raises(BadInput, match="--reason"):
        release(ledger, "codex", reason=" ", actor="human")
    release(ledger, "codex", reason="reviewed: false positive", actor="human")
    ensure_active(ledger, "codex", "b5")
    with pytest.raises(BadInput, match="not quarantined"):
        release(ledger, "codex", reason="again", actor="human")


def test_agent_statistics(ledger: Ledger) -> None:
    record_check(ledger, "codex", "b1", violations=0, critical=0, reason="")
    record_check(ledger, "codex", "b2", violations=3, critical=1, reason="secret")
    with pytest.raises(AgentQuarantined):
        ensure_active(ledger, "codex", "b3")
    record_check(ledger, "auto", "b4", violations=0, critical=0, reason="")
    [auto, codex] = agent_statuses(ledger)
    assert (auto.agent, auto.status, auto.clean_rate) == ("auto", "active", 1.0)
    assert codex.status == "quarantined" and codex.reason == "secret"
    assert (codex.batches_checked, codex.batches_with_violations) == (2, 1)
    assert codex.violation_rate == 0.5 and codex.quarantine_count == 1 and codex.refused == 1
    assert codex.mean_time_to_release_s is None
    release(ledger, "codex", reason="ok", actor="human")
    codex = agent_statuses(ledger)[1]
    assert codex.status == "active" and codex.mean_time_to_release_s is not None
    assert codex.mean_time_to_release_s >= 0


def package(deps: dict[str, str]) -> bytes:
    return json.dumps({"name": "x", "dependencies": deps}).encode()


def test_each_trigger_fires_once_and_deduplicates(ledger: Ledger) -> None:
    settings = TriggerSettings()
    facts = BatchFacts(
        batch_id="b1",
        task_id="7",
        lines_added=80,
        lint_errors_introduced=4,
        packages=[
            PackageChange(
                "package.json",
                package({"hono": "^3.1.0", "zod": "^3.0.0"}),
                package({"hono": "^4.0.0", "zod": "~3.2.0"}),
            )
        ],
    )
    first = evaluate(ledger, facts, settings)
    assert sorted(i.specialist for i in first) == [
        "Dependency Auditor",
        "DocString Architect",
        "Lint Surgeon",
    ]
    deps = next(i for i in first if i.specialist == "Dependency Auditor")
    assert deps.detail == {"file": "package.json", "package": "hono", "from": 3, "to": 4}
    assert evaluate(ledger, facts, settings) == []
    assert len(queue_items(ledger)) == 3


def test_thresholds_are_configurable_and_respected(ledger: Ledger) -> None:
    facts = BatchFacts(batch_id="b2", task_id=None, lines_added=49, lint_errors_introduced=2)
    assert evaluate(ledger, facts, TriggerSettings()) == []
    strict = TriggerSettings(docstring_min_lines=10, lint_min_errors=2)
    assert {i.specialist for i in evaluate(ledger, facts, strict)} == {
        "DocString Architect",
        "Lint Surgeon",
    }


@pytest.mark.parametrize(
    ("spec", "major"),
    [
        ("^2.1.0", 2),
        ("~0.3", 0),
        (">=5", 5),
        ("v7.0.0", 7),
        ("latest", None),
        ("*", None),
        ("github:user/repo", None),
        ("10.2.3", 10),
    ],
)
def test_major_of(spec: str, major: int | None) -> None:
    assert major_of(spec) == major
