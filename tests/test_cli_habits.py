"""The shell's habits: path arguments read from the current directory (or absolute) yet held
inside the workspace, `-w`/`--json` before the subcommand, `--version`, shell completion."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_example, write
from tests.test_refactor_pipeline import WORKER

CRITICAL = "export function f(): number {\n  // TODO: implement\n  return 0;\n}\n"


@pytest.fixture
def src_ws(ws: Path) -> Path:
    write(ws, "src/a.ts", CRITICAL)
    write(ws, "src/b.ts", "export const b = 1;\n")
    write(ws, "lib/c.ts", "export const c = 2;\n")
    return ws


def scanned(result: Any) -> set[str]:
    assert result.code in (0, 1), result.err
    return {v["file"] for v in result.json()["violations"]}


def test_scan_from_a_subfolder_reads_paths_from_there(
    cli: Any, src_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(src_ws / "src")
    relative = cli("scan", "a.ts", "-w", src_ws, "--json")
    assert scanned(relative) == {"src/a.ts"}
    absolute = cli("scan", str(src_ws / "src" / "a.ts"), "-w", src_ws, "--json")
    assert scanned(absolute) == {"src/a.ts"}
    # The workspace found from the environment, as a shell user has it.
    monkeypatch.setenv("VIBEHQ_WORKSPACE", str(src_ws))
    assert scanned(cli("scan", "a.ts", "--json")) == {"src/a.ts"}
    sibling = cli("scan", "../lib/c.ts", "--json")
    assert sibling.code == 0, sibling.err
    assert sibling.json()["files_checked"] == 1
    whole = cli("scan", ".", "--json")
    assert whole.json()["files_checked"] == 2


def test_scan_from_the_root_and_from_outside_keeps_workspace_paths(
    cli: Any, src_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(src_ws)
    assert scanned(cli("scan", "src/a.ts", "--json")) == {"src/a.ts"}
    # From a folder outside the workspace, a relative path is read from the workspace root.
    monkeypatch.chdir(tmp_path)
    assert scanned(cli("scan", "src/a.ts", "-w", src_ws, "--json")) == {"src/a.ts"}


@pytest.mark.parametrize(
    "given",
    ["../../outside.ts", "{outside}", "../{ws}/../outside.ts", "link/x.ts", "../.vibehq"],
)
def test_scan_refuses_a_path_outside_the_workspace(
    cli: Any, src_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    outside = write(tmp_path, "outside.ts", CRITICAL)
    write(tmp_path, "elsewhere/x.ts", CRITICAL)
    (src_ws / "src" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (src_ws / ".vibehq").mkdir()
    monkeypatch.chdir(src_ws / "src")
    path = given.format(outside=outside, ws=src_ws.name)
    result = cli("scan", path, "-w", src_ws)
    assert result.code == 2
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert result.err.startswith("error:")


def test_refactor_plan_takes_a_folder_relative_to_the_cwd_or_absolute(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = copy_example(tmp_path / "example", require_tsc=False)
    write(example, "apps/notes/src/index.ts", WORKER)
    canonical = cli("refactor", "plan", "apps/notes", "-w", example, "--json")
    assert canonical.code == 0, canonical.err
    monkeypatch.chdir(example / "apps")
    relative = cli("refactor", "plan", "notes", "-w", example, "--json")
    assert relative.code == 0, relative.err
    assert relative.json() == canonical.json()
    absolute = cli("refactor", "plan", str(example / "apps" / "notes"), "-w", example, "--json")
    assert absolute.json() == canonical.json()
    monkeypatch.chdir(example / "apps" / "notes")
    assert cli("refactor", "plan", ".", "-w", example, "--json").json() == canonical.json()
    outside = cli("refactor", "plan", str(tmp_path), "-w", example)
    assert outside.code == 2
    assert len(outside.err.strip().splitlines()) == 1, outside.err


def test_workspace_and_json_before_the_subcommand(
    cli: Any, src_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    after = cli("scan", "src", "-w", src_ws, "--json")
    before = cli("-w", src_ws, "--json", "scan", "src")
    assert before.code == after.code == 0
    assert before.json() == after.json()
    mixed = cli("--json", "scan", "src", "--workspace", src_ws)
    assert mixed.json() == after.json()
    # Errors honour a leading --json too.
    refused = cli("--json", "-w", src_ws, "scan", "nowhere.ts")
    assert refused.code == 2
    assert refused.json()["ok"] is False


def test_a_workspace_typed_before_the_subcommand_beats_the_environment(
    cli: Any, src_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    write(other, "src/a.ts", "export const a = 1;\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIBEHQ_WORKSPACE", str(other))
    assert scanned(cli("-w", src_ws, "scan", "src/a.ts", "--json")) == {"src/a.ts"}
    assert scanned(cli("scan", "src/a.ts", "--json")) == set()
    # The command's own -w, typed after it, wins over the one before it.
    assert scanned(cli("-w", other, "scan", "src/a.ts", "-w", src_ws, "--json")) == {"src/a.ts"}


def test_version_comes_from_the_package_metadata(cli: Any) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"vibehq {version('vibehq')}"


def test_shell_completion_is_offered_and_installs(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_text = cli("--help").out
    assert "--install-completion" in help_text
    assert "--show-completion" in help_text
    shown = cli("--show-completion", "bash")
    assert shown.code == 0
    assert "_VIBEHQ_COMPLETE" in shown.out
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SHELL", "/bin/bash")
    installed = cli("--install-completion", "bash")
    assert installed.code == 0, installed.err
    script = tmp_path / ".bash_completions" / "vibehq.sh"
    assert "_VIBEHQ_COMPLETE" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


def test_completion_lists_commands_and_options(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_VIBEHQ_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "vibehq tasks list --st")
    monkeypatch.setenv("COMP_CWORD", "3")
    assert "--status" in cli().out.split()
    monkeypatch.setenv("COMP_WORDS", "vibehq ta")
    monkeypatch.setenv("COMP_CWORD", "1")
    assert cli().out.split() == ["tasks"]


def test_tasks_list_takes_the_workspace_before_the_subcommand(
    cli: Any, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from tests.conftest import TASKS_FIXTURE

    plan = ws / ".taskmaster" / "tasks" / "tasks.json"
    plan.parent.mkdir(parents=True)
    shutil.copyfile(TASKS_FIXTURE, plan)
    monkeypatch.chdir(tmp_path)
    before = cli("-w", ws, "tasks", "list", "--json")
    after = cli("tasks", "list", "-w", ws, "--json")
    assert before.code == after.code == 0, before.err
    assert before.json() == after.json()
    assert len(before.json()) > 10
    assert cli("-w", ws, "--json", "tasks", "list").json() == after.json()
