"""Options and arguments shared by several commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="VIBEHQ_WORKSPACE",
        help="Workspace (target monorepo) root. Default: the current directory.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for machines.")]
ManifestArg = Annotated[Path, typer.Argument(help="Migration manifest (YAML or JSON).")]
BaseOpt = Annotated[
    Path | None,
    typer.Option(
        "--base",
        help="Folder that manifest `from` paths are relative to. Default: the manifest's folder. "
        "For a seed manifest (source_paths): the STAGING folder its `path` globs are resolved "
        "under. Default: <workspace>/STAGING, as in the seed.",
        show_default=False,
    ),
]


ItemArg = Annotated[int, typer.Argument(help="Approval item id (from `vibehq approvals list`).")]
ValidateOpt = Annotated[
    bool | None,
    typer.Option(
        "--validate/--no-validate",
        help="Run the validator (tsc, eslint) on a staging copy when checking a batch. "
        "Default: [patch] validate in vibehq.toml.",
        show_default=False,
    ),
]


TasksFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="tasks.json (default: [plan] tasks_file, .taskmaster/tasks/tasks.json)",
        show_default=False,
    ),
]
TagOpt = Annotated[str | None, typer.Option("--tag", help="task-master tag (default: current)")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who makes the change (ledger).")]

# The fields a task and a subtask share, in `tasks add`, `tasks update` and `subtask add`.
TitleOpt = Annotated[str, typer.Option("--title", help="The task's title.")]
DescriptionOpt = Annotated[
    str | None, typer.Option("--description", help="What the task is, in a sentence or two.")
]
DetailsOpt = Annotated[
    str | None,
    typer.Option("--details", help="How to do it: implementation notes (replaces the old ones)."),
]
TestStrategyOpt = Annotated[
    str | None, typer.Option("--test-strategy", help="How to check that it is done.")
]

FolderArg = Annotated[str, typer.Argument(help="The migrated folder, e.g. apps/sqlite-demo.")]
RpcManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        help="Manifest whose `rpc` section names the entrypoint and "
        "binding (default: conventions from the folder name).",
    ),
]


KindOpt = Annotated[
    str | None,
    typer.Option("--kind", help="convention | decision | task | migration_fact"),
]
FolderOpt = Annotated[
    str | None, typer.Option("--folder", help="Workspace folder the entry is about.")
]
TaskOpt = Annotated[str | None, typer.Option("--task", help="Task id the entry is about.")]

T = TypeVar("T")

# task-master's statuses and priorities (`engine.plan.document`, which the CLI does not import
# at start-up; tests/test_cli_help.py checks the two stay the same).
STATUS_CHOICES = "pending, in-progress, done, review, deferred, cancelled or blocked"
PRIORITY_CHOICES = "critical, high, medium or low"


# -- choices: each choice flag takes one of these, so `--help` lists them and a typo is refused
# by the parser (one line, exit 2) before any work starts.


class OnConflict(StrEnum):
    """What `migrate apply` and `batch` do with a destination file that has other content."""

    skip = "skip"
    overwrite = "overwrite"
    fail = "fail"


class AutoApprove(StrEnum):
    safe = "safe"
    none = "none"


class ReportView(StrEnum):
    logs = "logs"
    stats = "stats"
    trends = "trends"


class LogOrder(StrEnum):
    desc = "desc"
    asc = "asc"


class TrendGroup(StrEnum):
    weekly = "weekly"
    task = "task"
    order = "order"


class MergeMark(StrEnum):
    """What becomes of the tasks a merge absorbs."""

    subsumed = "subsumed"
    done = "done"
    cancelled = "cancelled"


class ReportFormat(StrEnum):
    md = "md"
    json = "json"
    html = "html"


class QueueStatus(StrEnum):
    open = "open"
    done = "done"


class ApprovalState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"


class ApprovalKind(StrEnum):
    patch_batch = "patch_batch"
    needs_model = "needs_model"
    plan_change = "plan_change"
    quarantine_release = "quarantine_release"


ConflictOpt = Annotated[
    OnConflict,
    typer.Option(
        "--on-conflict",
        help="A destination file that exists with other content: skip it, overwrite it, or fail.",
    ),
]
ApproverOpt = Annotated[
    str | None,
    typer.Option(
        "--approver",
        help="Who decides (recorded in the ledger). Default: your user name.",
        show_default=False,
    ),
]
# `--by` once meant three things (the approver, a trend's grouping, a deprecated task's
# successor); each has its own name now, and `--by` stays as a hidden alias of each.
ApproverByOpt = Annotated[str | None, typer.Option("--by", hidden=True)]


def either(new: T | None, old: T | None, *, name: str, alias: str) -> T | None:
    """The value of an option given under its name or its old alias, not both."""
    if new is not None and old is not None and new != old:
        from engine.errors import BadInput

        raise BadInput(f"{name} and {alias} name the same option; give one of them")
    return new if new is not None else old
