"""`vibehq init`: a commented vibehq.toml from what the workspace has (tsconfig, package
manager, task-master plan), never over an existing one without --force, and the baseline."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from engine.settings import Settings, load_settings
from engine.workspace_init import detect_workspace, render_config
from tests.conftest import copy_example, snapshot, write


@pytest.mark.parametrize(
    ("files", "manager", "reason"),
    [
        ({"pnpm-workspace.yaml": "packages: []\n", "package.json": "{}"}, "pnpm", None),
        ({"pnpm-lock.yaml": "", "package.json": "{}"}, "pnpm", None),
        ({"yarn.lock": "", "package.json": "{}"}, "yarn", None),
        ({".yarnrc.yml": "", "package.json": "{}"}, "yarn", None),
        ({"package-lock.json": "{}", "package.json": "{}"}, "npm", None),
        (
            {"package.json": '{"packageManager": "pnpm@9.1.0"}'},
            "pnpm",
            "package.json packageManager",
        ),
        ({"package.json": "{}"}, "npm", "package.json"),
        ({}, None, None),
    ],
)
def test_the_package_manager_comes_from_the_lockfile_or_workspace_file(
    ws: Path, files: dict[str, str], manager: str | None, reason: str | None
) -> None:
    for name, text in files.items():
        write(ws, name, text)
    facts = detect_workspace(ws)
    assert facts.package_manager == manager
    expected = reason or next(iter(files), None)
    assert facts.package_manager_reason == expected


def test_init_writes_what_it_found_and_the_file_loads(cli: Any, ws: Path) -> None:
    write(ws, "tsconfig.json", "{}")
    write(ws, "pnpm-workspace.yaml", "packages: ['apps/*']\n")
    write(ws, ".taskmaster/tasks/tasks.json", '{"master": {"tasks": []}}')
    result = cli("init", "-w", ws, "--no-baseline", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["found"] == {
        "tsconfig": "tsconfig.json",
        "package_manager": "pnpm",
        "package_manager_reason": "pnpm-workspace.yaml",
        "taskmaster": True,
        "tasks_file": ".taskmaster/tasks/tasks.json",
    }
    assert data["baseline"] is None and data["baseline_skipped"] == "--no-baseline"
    text = (ws / "vibehq.toml").read_text()
    assert "#   package manager: pnpm (pnpm-workspace.yaml)" in text
    settings = load_settings(ws)
    assert settings.patch.tsconfig == "tsconfig.json"
    assert settings.plan.tasks_file == ".taskmaster/tasks/tasks.json"
    # Nothing but the file: no baseline asked for, no state.
    assert not (ws / ".vibehq").exists()


def test_a_bare_folder_gets_every_setting_as_a_comment(ws: Path) -> None:
    facts = detect_workspace(ws)
    assert (facts.tsconfig, facts.package_manager, facts.taskmaster) == (None, None, False)
    text = render_config(facts)
    assert tomllib.loads(text) == {"patch": {}, "plan": {}, "approvals": {}, "route": {}}
    assert "#   tsconfig:        none found" in text


def test_every_commented_setting_is_a_real_one_with_its_default(ws: Path) -> None:
    """Uncommented, the examples load: no key in the comments is misspelt or misplaced."""
    text = render_config(detect_workspace(ws))
    setting = re.compile(r"^# (\[\[?[a-z_.]+\]\]?|[a-z_]+ = .+?)(?:\s+#.*)?$")
    lines = [m.group(1) if (m := setting.match(line)) else line for line in text.splitlines()]
    data = tomllib.loads("\n".join(lines))
    settings = Settings(**data)
    assert settings.patch.tsconfig == "tsconfig.json"
    assert settings.patch.validate_batches is True
    assert settings.approvals.human_paths == Settings().approvals.human_paths
    assert settings.approvals.auto_pass_import_only_max_lines == 40
    assert settings.route.budget_usd == Settings().route.budget_usd
    assert [d.model for d in settings.route.tiers.standard.deployments] == ["openai/gpt-4o-mini"]
    assert [d.model for d in settings.route.tiers.simple.deployments] == ["ollama/qwen2.5-coder:7b"]


def test_init_never_overwrites_without_force(cli: Any, ws: Path) -> None:
    write(ws, "vibehq.toml", "[patch]\nfsync = false\n")
    before = snapshot(ws)
    refused = cli("init", "-w", ws, "--no-baseline")
    assert refused.code == 2
    assert len(refused.err.strip().splitlines()) == 1
    assert "--force" in refused.err
    assert snapshot(ws) == before
    forced = cli("init", "-w", ws, "--no-baseline", "--force")
    assert forced.code == 0, forced.err
    assert "fsync = false" not in (ws / "vibehq.toml").read_text()
    assert load_settings(ws).patch.fsync is True


def test_without_a_tsconfig_the_baseline_is_skipped_and_says_so(cli: Any, ws: Path) -> None:
    result = cli("init", "-w", ws)
    assert result.code == 0, result.err
    assert "baseline not recorded: no tsconfig found" in result.out
    assert (ws / "vibehq.toml").is_file()


@pytest.mark.integration
def test_init_records_the_baseline_with_the_real_tsc(cli: Any, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "example")
    write(root, "apps/broken/src/x.ts", "export const x: number = 'text';\n")
    result = cli("init", "-w", root, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["found"]["tsconfig"] == "tsconfig.json"
    assert data["found"]["package_manager"] == "npm"
    assert data["baseline"]["recorded"] is True
    tsc = next(r for r in data["baseline"]["results"] if r["tool"] == "tsc")
    assert tsc["findings"] >= 1
    baseline = json.loads((root / ".vibehq" / "baseline" / "tsc.json").read_text())
    assert baseline
    # The error that was there is the baseline's, not a new one.
    again = cli("validate", "-w", root, "--json")
    assert again.code == 0, again.out
    assert again.json()["new"] == []
