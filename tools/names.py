"""The names of every vibehq tool, importable without CrewAI (agents.yaml is checked against
them by commands that must start fast). tools/registry.py holds the tools themselves and
refuses to import if the two ever disagree."""

from __future__ import annotations

TOOL_NAMES: tuple[str, ...] = (
    "tasks_list",
    "task_show",
    "task_next",
    "task_set_status",
    "task_add",
    "subtask_add",
    "task_update",
    "deps_validate",
    "migrate_plan",
    "migrate_folder",
    "sql_sites",
    "refactor_plan",
    "refactor_recipes",
    "work_item_show",
    "propose_patch_batch",
    "quality_scan",
    "validate_workspace",
    "quarantine_status",
    "request_release",
    "memory_search",
    "memory_add",
    "approvals_list",
    "approval_show",
    "read_file",
    "changes_by",
)
