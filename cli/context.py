"""What most commands start from: the open workspace, its settings, its tasks file, and the
validator and approver the options ask for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cli.output import get_console

if TYPE_CHECKING:
    from engine.patch.validation import BatchValidator
    from engine.settings import Settings
    from engine.validate.judge import Step
    from engine.workspace import Workspace


def open_workspace(workspace: Path | None) -> tuple[Workspace, Settings]:
    """Open the workspace, load its settings, and finish any commit a crash interrupted."""
    from cli.root_options import workspace_choice
    from engine.patch.apply import recover_workspace
    from engine.settings import load_settings
    from engine.workspace import Workspace

    ws = Workspace.open(workspace_choice(workspace))
    settings = load_settings(ws.root)
    if any(ws.journal_dir.glob("*.pending")):
        for batch_id in recover_workspace(ws, settings):
            get_console(stderr=True).print(
                f"[yellow]recovered:[/] batch {batch_id} was interrupted mid-commit; "
                "its files were restored"
            )
    return ws, settings


def workspace_relative(ws: Workspace, given: str) -> str:
    """A path from the command line as the workspace-relative POSIX path the engines take.

    Read as the shell reads it: relative to the current directory, or absolute. When the
    current directory lies outside the workspace (`-w` elsewhere), a relative path is read
    from the workspace root, as before. Either way the result is checked by
    `Workspace.resolve` (no `..` out, no symlink out, not the state folder), so a path outside
    the workspace is refused with one line.
    """
    from engine.errors import UnsafePath

    if not given or "\x00" in given:
        raise UnsafePath(f"path {given!r} is empty or contains a NUL byte")
    root = str(ws.root)
    cwd = os.getcwd()
    if not os.path.isabs(given) and not _within(root, cwd):
        rel = given
    else:
        joined = os.path.join(cwd, given)
        candidates = [os.path.normpath(joined)]
        # `..` after a symlink, or a $PWD spelled through a symlinked folder, only lands in
        # the workspace once the folders are resolved, as the shell's own `ls` would.
        physical = os.path.join(os.path.realpath(os.path.dirname(joined)), os.path.basename(joined))
        candidates.append(os.path.normpath(physical))
        if ".." in Path(given).parts:
            candidates.reverse()
        inside = next((c for c in candidates if _within(root, c)), None)
        if inside is None:
            raise UnsafePath(f"path {given!r} lies outside the workspace {root}")
        rel = os.path.relpath(inside, root).replace(os.sep, "/")
    if rel != ".":
        ws.resolve(rel)
    return rel


def _within(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def tasks_file(ws: Workspace, settings: Settings, file: Path | None) -> Path:
    from engine.plan.change import tasks_path

    return tasks_path(ws, settings, file)


def batch_validator(ws: Workspace, settings: Settings) -> BatchValidator:
    """tsc (incremental) and eslint when configured, each judged against its baseline."""
    from engine.validate.run import make_batch_validator

    return make_batch_validator(ws, settings)


def validator_choice(
    ws: Workspace, settings: Settings, validate: bool | None
) -> tuple[BatchValidator | None, dict[Step, str]]:
    """The validator `--validate/--no-validate` asks for, and the gate's skip when there is
    none: unset, validation is on wherever the workspace has its tsconfig, unless
    `[patch] validate = false`."""
    from engine.validate.judge import choose_validator

    return choose_validator(ws, settings, validate)


def chosen_validator(
    ws: Workspace, settings: Settings, validate: bool | None
) -> BatchValidator | None:
    """The validator alone, for reviews that record no skip of their own."""
    return validator_choice(ws, settings, validate)[0]


def approver(name: str | None, by: str | None = None) -> str:
    """Who decides: `--approver` (or its old alias `--by`), else the user's login name."""
    import getpass

    from cli.options import either

    given = either(name, by, name="--approver", alias="--by")
    return given if given is not None else getpass.getuser()
