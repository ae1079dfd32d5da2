"""`vibehq init`: what a workspace already has (its tsconfig, its package manager, a
task-master plan) and the commented `vibehq.toml` written from it.

The file sets only what was found; everything else is a comment that names the key, its
default and what it does, so the file documents the settings a user is most likely to touch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field

from engine.errors import BadInput
from engine.filelock import write_atomic
from engine.settings import SETTINGS_FILE

__all__ = ["ConfigExists", "WorkspaceFacts", "detect_workspace", "render_config", "write_config"]

# Where a workspace's own tsconfig usually is, in the order a root tsconfig is looked for.
_TSCONFIGS = ("tsconfig.json", "tsconfig.base.json")
# (marker file, package manager), in the order that decides: the same rules as the migration's
# package-manager workspaces (`engine.migrate.workspaces.detect_layout`), plus the lockfiles.
_MANAGER_MARKERS = (
    ("pnpm-workspace.yaml", "pnpm"),
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    (".yarnrc.yml", "yarn"),
    ("package-lock.json", "npm"),
)
_TASKMASTER_DIR = ".taskmaster"
_TASKS_FILE = ".taskmaster/tasks/tasks.json"


class ConfigExists(BadInput):
    """vibehq.toml is already there and `--force` was not given."""


class WorkspaceFacts(BaseModel):
    tsconfig: str | None = Field(None, description="the root tsconfig, workspace-relative")
    package_manager: str | None = Field(None, description="npm, pnpm or yarn")
    package_manager_reason: str | None = Field(None, description="the file that says so")
    taskmaster: bool = Field(False, description="a .taskmaster/ folder is there")
    tasks_file: str | None = Field(None, description="its tasks.json, workspace-relative")


def detect_workspace(root: Path) -> WorkspaceFacts:
    """Read what the workspace has; reads files only, never runs a tool."""
    tsconfig = next((name for name in _TSCONFIGS if (root / name).is_file()), None)
    manager, reason = _package_manager(root)
    taskmaster = (root / _TASKMASTER_DIR).is_dir()
    return WorkspaceFacts(
        tsconfig=tsconfig,
        package_manager=manager,
        package_manager_reason=reason,
        taskmaster=taskmaster,
        tasks_file=_tasks_file(root) if taskmaster else None,
    )


def _package_manager(root: Path) -> tuple[str | None, str | None]:
    for marker, manager in _MANAGER_MARKERS:
        if (root / marker).is_file():
            return manager, marker
    package = root / "package.json"
    if not package.is_file():
        return None, None
    try:
        data = json.loads(package.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "npm", "package.json"
    # corepack's field: "pnpm@9.1.0" says pnpm even before a lockfile exists.
    declared = data.get("packageManager") if isinstance(data, dict) else None
    if isinstance(declared, str):
        name = declared.split("@", 1)[0]
        if name in ("npm", "pnpm", "yarn"):
            return name, "package.json packageManager"
    return "npm", "package.json"


def _tasks_file(root: Path) -> str | None:
    if (root / _TASKS_FILE).is_file():
        return _TASKS_FILE
    found = sorted((root / _TASKMASTER_DIR).rglob("tasks.json"))
    return found[0].relative_to(root).as_posix() if found else None


def _toml_string(value: str) -> str:
    return json.dumps(value)


def render_config(facts: WorkspaceFacts) -> str:
    """The commented vibehq.toml for a workspace with these facts."""
    manager = (
        f"{facts.package_manager} ({facts.package_manager_reason})"
        if facts.package_manager
        else "none found (no package.json)"
    )
    if facts.taskmaster:
        plan = facts.tasks_file or f"{_TASKMASTER_DIR}/ (no tasks.json yet)"
    else:
        plan = "none found (no .taskmaster/)"
    lines = [
        "# vibehq settings, written by `vibehq init`. Every key is optional; a commented one",
        "# shows its default. VIBEHQ_<SECTION>__<KEY> in the environment wins over this file,",
        "# e.g. VIBEHQ_PATCH__TSCONFIG=tsconfig.app.json.",
        "#",
        "# Found in this workspace:",
        f"#   tsconfig:        {facts.tsconfig or 'none found'}",
        f"#   package manager: {manager}",
        f"#   task-master:     {plan}",
        "# Migrated folders join this package manager's workspaces; its lockfile decides it.",
        "",
        "[patch]",
        "# The tsconfig the tsc validator type-checks the workspace with (its baseline is in",
        "# .vibehq/; `vibehq validate --baseline` records it again).",
    ]
    if facts.tsconfig:
        lines.append(f"tsconfig = {_toml_string(facts.tsconfig)}")
    else:
        lines += [
            "# None was found: batches are not type-checked until one exists.",
            '# tsconfig = "tsconfig.json"',
        ]
    lines += [
        "# Type-check a staging copy of every batch before it is applied. Unset: on wherever",
        "# the tsconfig exists.",
        "# validate = true",
        "",
        "[plan]",
        "# task-master's tasks.json, workspace-relative.",
    ]
    if facts.tasks_file:
        lines.append(f"tasks_file = {_toml_string(facts.tasks_file)}")
    else:
        lines.append(f"# tasks_file = {_toml_string(_TASKS_FILE)}")
    lines += [
        "# The task-master tag to read and change. Unset: the plan's current tag.",
        '# tag = "master"',
        "",
        "[approvals]",
        "# A batch touching one of these always waits for a human.",
        '# human_paths = ["orchestrator/**", "**/wrangler.toml", "**/wrangler.json*"]',
        "# A batch that only changes imports, in at most this many lines, passes by itself.",
        "# auto_pass_import_only_max_lines = 40",
        "",
        "[route]",
        "# Models are optional: without one, recipes still run and what needs a model waits",
        "# as an approval item. Any LiteLLM model string works, on any provider.",
        "# budget_usd = 1.0     # per run, checked before every call",
        "#",
        "# [[route.tiers.standard.deployments]]",
        '# model = "openai/gpt-4o-mini"',
        '# api_key_env = "OPENAI_API_KEY"',
        "#",
        "# [[route.tiers.simple.deployments]]",
        '# model = "ollama/qwen2.5-coder:7b"',
        '# api_base = "http://127.0.0.1:11434"',
    ]
    return "\n".join(lines) + "\n"


def write_config(root: Path, text: str, *, force: bool) -> Path:
    """Write `vibehq.toml`; ConfigExists (bad input) if it is there and `force` is off."""
    path = root / SETTINGS_FILE
    if os.path.lexists(path) and not force:
        raise ConfigExists(f"{SETTINGS_FILE} already exists in {root}; --force replaces it")
    if path.is_symlink():
        raise BadInput(f"{path} is a symlink; vibehq writes its settings only to a real file")
    write_atomic(path, text.encode("utf-8"))
    return path
