"""Deterministic commands must not import the agent stack (crewai, litellm, langchain,
chromadb: over 20 s together) nor rich's Markdown renderer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, batch_file, write

FORBIDDEN = ("crewai", "litellm", "langchain", "chromadb", "rich.markdown", "markdown_it")

PROBE = r"""
import json, sys
import main
sys.argv = ["vibehq", *sys.argv[1:]]
try:
    main.run()
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    "kind", ["help", "dry-run", "list", "approvals", "epic-status", "epic-bad-spec", "chat"]
)
def test_deterministic_commands_keep_the_agent_stack_out(
    ws: Path, tmp_path: Path, kind: str
) -> None:
    write(ws, "a.ts", "x\n")
    args = {
        "help": ["--help"],
        "dry-run": [
            "patch",
            "apply",
            str(batch_file(tmp_path, [{"op": "append", "file": "a.ts", "block": "y"}])),
            "--dry-run",
            "-w",
            str(ws),
        ],
        "list": ["patch", "list", "-w", str(ws)],
        "approvals": ["approvals", "list", "-w", str(ws)],
        "epic-status": ["epic", "status", "-w", str(ws)],
        # Bad input to `epic run` is refused before the flow (and crewai) is imported.
        "epic-bad-spec": ["epic", "run", str(tmp_path / "missing.yaml"), "-w", str(ws)],
        # With no model configured, chat says so without loading the agent stack.
        "chat": ["chat", "--once", "hello", "-w", str(ws)],
    }[kind]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "engine" in modules or kind == "help"
    leaked = [m for m in modules if m.split(".")[0] in FORBIDDEN or m in FORBIDDEN]
    assert leaked == []


def test_env_defaults_for_offline_model_stack_are_set() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, main; print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'],"
            " os.environ['CREWAI_DISABLE_TELEMETRY'], os.environ['OTEL_SDK_DISABLED'])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.split() == ["True", "true", "true"]
