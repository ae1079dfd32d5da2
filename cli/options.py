"""Options and arguments shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
        help="Folder that manifest `from` paths are relative to. Default: the manifest's folder.",
        show_default=False,
    ),
]
ConflictOpt = Annotated[
    str,
    typer.Option(
        "--on-conflict",
        help="skip | overwrite | fail: a destination file that exists with other content.",
    ),
]


ItemArg = Annotated[int, typer.Argument(help="Approval item id (from `vibehq approvals list`).")]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who decides (recorded in the ledger). Default: your user name."),
]
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
