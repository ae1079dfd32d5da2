"""Every option and argument of every command says what it is for, and every choice flag
lists its values in `--help`."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
import typer.main

from cli.app import app
from cli.options import PRIORITY_CHOICES, STATUS_CHOICES
from engine.plan.document import PRIORITIES, STATUSES


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def visible_params(command: Any) -> list[Any]:
    return [p for p in command.params if p.name != "help" and not getattr(p, "hidden", False)]


def choices_of(param: Any) -> list[str]:
    found = getattr(getattr(param, "type", None), "choices", None)
    if isinstance(found, (list, tuple)):
        return [str(c) for c in found]
    # Typer keeps the annotation (an Enum for a choice flag) beside the click parameter.
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(m.value) for m in annotation]
    return []


def test_the_tree_is_walked() -> None:
    paths = {" ".join(p) for p, _ in commands()}
    assert {"tasks list", "tasks subtask add", "report patches", "batch", "scan"} <= paths


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"vibehq {' '.join(path)} {'/'.join(p.opts)}"
        for path, command in commands()
        for p in visible_params(command)
        if not (getattr(p, "help", None) or "").strip()
    ]
    assert missing == []


CHOICE_COMMANDS = sorted(
    {path for path, command in commands() if any(choices_of(p) for p in visible_params(command))}
)


def test_choice_flags_exist() -> None:
    assert ("approvals", "list") in CHOICE_COMMANDS
    assert ("migrate", "apply") in CHOICE_COMMANDS


@pytest.mark.parametrize("path", CHOICE_COMMANDS, ids=" ".join)
def test_every_choice_flag_lists_its_values(cli: Any, path: tuple[str, ...]) -> None:
    command = dict(commands())[path]
    shown = cli(*path, "--help")
    assert shown.code == 0, shown.err
    for param in visible_params(command):
        for value in choices_of(param):
            assert value in shown.out, f"{' '.join(path)} {param.opts}: {value} not in help"


def test_patch_event_kinds_are_listed(cli: Any) -> None:
    from typing import get_args

    from engine.patch.patch_events import PatchEventKind

    shown = cli("report", "patches", "--help").out
    for kind in get_args(PatchEventKind):
        assert kind in shown


def test_status_and_priority_help_names_task_masters_values() -> None:
    assert [s.strip() for s in STATUS_CHOICES.replace(" or ", ", ").split(",")] == list(STATUSES)
    listed = [p.strip() for p in PRIORITY_CHOICES.replace(" or ", ", ").split(",")]
    assert listed == list(PRIORITIES)
