"""The options given before the subcommand (`vibehq -w DIR --json tasks list`): the root
callback stores them on the click context, and the commands read them back from there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Typer 0.2x vendors click; older releases depend on it.
try:
    from typer._click.globals import get_current_context
except ImportError:
    from click.globals import get_current_context  # type: ignore[no-redef]


@dataclass(frozen=True)
class RootOptions:
    workspace: Path | None = None
    # An explicit `-w` before the subcommand beats `VIBEHQ_WORKSPACE`, which the command's
    # own option would otherwise pick up.
    workspace_typed: bool = False
    as_json: bool = False


def current() -> RootOptions | None:
    """The root's options, when a command runs under the `vibehq` app."""
    ctx = get_current_context(silent=True)
    if ctx is None:
        return None
    found = ctx.find_root().obj
    return found if isinstance(found, RootOptions) else None


def typed_on_command_line(name: str) -> bool:
    ctx = get_current_context(silent=True)
    source = None if ctx is None else ctx.get_parameter_source(name)
    # By name: the enum is click's own or Typer's vendored copy, depending on the release.
    return source is not None and source.name == "COMMANDLINE"


def workspace_choice(given: Path | None) -> Path | None:
    """The workspace a command opens: its own `-w` when typed after it, else the one typed
    before the subcommand, else `VIBEHQ_WORKSPACE`, else None (the current directory)."""
    root = current()
    if root is None or root.workspace is None:
        return given
    if given is not None and typed_on_command_line("workspace"):
        return given
    if root.workspace_typed or given is None:
        return root.workspace
    return given


def json_requested() -> bool:
    """`--json` was given before the subcommand."""
    root = current()
    return root is not None and root.as_json
