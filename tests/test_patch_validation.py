"""The validation hook: one check per batch on a staging copy, before the real tree is touched."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ValidationFailed
from engine.ledger.store import Ledger
from engine.patch.apply import apply_batch
from engine.patch.models import PatchBatch
from engine.patch.patch_events import patch_events
from engine.patch.validation import Finding, ValidationResult
from engine.settings import Settings
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, copy_example, snapshot, write


class RecordingValidator:
    """A real validator object: it reads the staging copy and rejects a forbidden word."""

    name = "forbidden-word"

    def __init__(self) -> None:
        self.calls: list[tuple[Path, list[str], dict[str, str]]] = []

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        seen = {rel: (staging_root / rel).read_text() for rel in changed_files}
        self.calls.append((staging_root, list(changed_files), seen))
        bad = [rel for rel, text in seen.items() if "FORBIDDEN" in text]
        findings = [Finding(tool=self.name, file=rel, message="forbidden word") for rel in bad]
        return ValidationResult(
            validator=self.name, ok=not bad, findings=findings, summary=f"{len(bad)} bad files"
        )


def batch(*patches: dict[str, Any]) -> PatchBatch:
    return PatchBatch.model_validate({"requester": "codex", "patches": list(patches)})


def test_validator_runs_once_on_a_staging_copy_with_the_batch_applied(ws: Path) -> None:
    write(ws, "a.ts", "a\n")
    write(ws, "b.ts", "b\n")
    validator = RecordingValidator()
    result = apply_batch(
        Workspace.open(ws),
        batch(
            {"op": "append", "file": "a.ts", "block": "a2"},
            {"op": "append", "file": "b.ts", "block": "b2"},
            {"op": "prepend", "file": "a.ts", "block": "a0"},
        ),
        Settings(),
        validator=validator,
    )
    [(root, changed, seen)] = validator.calls
    assert root != ws and not root.exists()
    assert changed == ["a.ts", "b.ts"]
    assert seen == {"a.ts": "a0\na\na2\n", "b.ts": "b\nb2\n"}
    assert result.validation is not None and result.validation.ok
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        assert {e.validation for e in patch_events(ledger)} == {"passed"}


def test_rejected_batch_writes_nothing_and_is_recorded(ws: Path) -> None:
    write(ws, "a.ts", "a\n")
    before = snapshot(ws)
    with pytest.raises(ValidationFailed, match="1 bad files"):
        apply_batch(
            Workspace.open(ws),
            batch(
                {"op": "append", "file": "a.ts", "block": "FORBIDDEN"},
                {"op": "create", "file": "c.ts", "block": "fine"},
            ),
            Settings(),
            validator=RecordingValidator(),
        )
    assert snapshot(ws, include_state=False) == before
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        failed = [e for e in patch_events(ledger) if e.kind == "failed"]
    assert [(e.file, e.validation) for e in failed] == [("a.ts", "failed"), ("c.ts", "failed")]


def test_validate_without_tsc_is_a_clear_bad_input(cli: Any, ws: Path, tmp_path: Path) -> None:
    write(ws, "tsconfig.json", "{}")
    write(ws, "a.ts", "a\n")
    path = tmp_path / "b.json"
    path.write_text('{"patches": [{"op": "append", "file": "a.ts", "block": "b"}]}')
    result = cli("patch", "apply", path, "-w", ws, "--validate")
    assert result.code == 2
    assert "tsc not found" in result.err and "npm install" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert (ws / "a.ts").read_text() == "a\n"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example")


@pytest.mark.integration
def test_real_tsc_gate_on_the_example_batches(cli: Any, example: Path) -> None:
    batches = EXAMPLES / "batches"
    for name in ("01-seed-format.json", "02-anchors.json"):
        result = cli("patch", "apply", batches / name, "-w", example, "--validate", "--json")
        assert result.code == 0, result.out + result.err
        assert result.json()["validation"]["ok"] is True
    before = snapshot(example, include_state=False)
    refused = cli(
        "patch", "apply", batches / "03-breaks-types.json", "-w", example, "--validate", "--json"
    )
    assert refused.code == 1
    findings = refused.json()["validation"]["findings"]
    assert [(f["file"], f["code"]) for f in findings] == [
        ("orchestrator/worker/entrypoints/patch.ts", "TS2322")
    ]
    assert snapshot(example, include_state=False) == before
