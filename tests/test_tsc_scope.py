"""A scoped tsc check checks the files a change can affect, and everything when it can reach
further: real tsc (the examples' TypeScript) through the tsc server, files on disk."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.epic.project_gate import FolderCheck, check_folder
from engine.patch.validation import Finding
from engine.validate.baseline import Baseline
from engine.validate.projects import check_project
from engine.validate.staging_baseline import (
    FolderBaseline,
    staging_findings,
    take_staging_baseline,
)
from engine.validate.tsc_scope import SCOPE_AFFECTED, SCOPE_ALL, SCOPE_NONE, Scope
from engine.validate.tsc_server import MODE_ENV, close_all
from tests.conftest import write
from tests.test_tscheck import TSCONFIG, _project

pytestmark = pytest.mark.integration

USER = 'import { ok } from "./fine";\nexport const twice: number = ok;\n'


@pytest.fixture(autouse=True)
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(MODE_ENV, raising=False)
    close_all()
    yield
    close_all()


def _gate(
    root: Path,
    changed: Sequence[str],
    baseline: FolderBaseline,
    **options: Any,
) -> FolderCheck:
    """A moved folder's gate check at apps/w, with no project outside it."""
    return check_folder(
        root,
        changed,
        dest="apps/w",
        baseline=baseline,
        project_baseline=lambda tsconfig, config: Baseline(tool="tsc", findings=[]),
        **options,
    )


def _files(check_findings: list) -> set[str]:
    return {f.file for f in check_findings if f.severity == "error"}


def test_only_the_changed_file_and_its_importers_are_checked(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write(root, "src/user.ts", USER)
    full = check_project(root, "tsconfig.json")
    assert full.scope == SCOPE_ALL
    assert _files(full.findings) == {"src/broken.ts", "src/user.ts"}

    scoped = check_project(root, "tsconfig.json", scope=Scope(changed=[root / "src/fine.ts"]))
    assert scoped.scope == SCOPE_AFFECTED
    # user.ts imports fine.ts: checked; broken.ts does not: left to the before-picture.
    assert _files(scoped.findings) == {"src/user.ts"}

    nothing = check_project(root, "tsconfig.json", scope=Scope(changed=[]))
    assert nothing.scope == SCOPE_AFFECTED
    assert _files(nothing.findings) == set()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("script", "declares globals"),
        ("augment", "declares globals or augments a module"),
        ("delete", "was deleted"),
        ("tsconfig", "configures the program"),
    ],
)
def test_a_change_that_reaches_further_checks_everything(
    tmp_path: Path, change: str, why: str
) -> None:
    root = _project(tmp_path)
    changed = root / "src/fine.ts"
    if change == "script":
        write(root, "src/fine.ts", "const ok: string = 'no module';\n")
    elif change == "augment":
        write(root, "src/fine.ts", "export {};\ndeclare global { var extra: number }\n")
    elif change == "delete":
        changed = root / "src/gone.ts"
    else:
        changed = root / "tsconfig.json"
    check = check_project(root, "tsconfig.json", scope=Scope(changed=[changed]))
    assert check.scope == SCOPE_ALL
    assert why in check.why
    assert "src/broken.ts" in _files(check.findings)


def test_a_moved_folder_with_the_baselines_structure_checks_only_what_changed(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "ws")
    staging = root / "STAGING" / "w"
    write(staging, "tsconfig.json", TSCONFIG)
    write(staging, "src/broken.ts", (root / "src/broken.ts").read_text())
    write(staging, "src/fine.ts", "export const ok: number = 1;\n")
    write(staging, "src/user.ts", USER)
    baseline = take_staging_baseline(root, "STAGING/w")
    assert set(baseline.structures) == {"tsconfig.json"}
    assert baseline.errors >= 3

    # The move: the same files one level deeper; only user.ts changes, with a new error.
    dest = root / "apps" / "w"
    shutil.copytree(staging, dest)
    write(dest, "src/user.ts", USER + 'export const bad: number = "one";\n')

    def gate() -> tuple[list[str], dict[str, str]]:
        check = _gate(root, ["apps/w/src/user.ts"], baseline)
        return check.lines, check.scopes

    lines, scopes = gate()
    assert lines == [
        "apps/w/src/user.ts:3 TS2322 Type 'string' is not assignable to type 'number'."
    ]
    # A new error is confirmed on the whole program: that check's reason is recorded.
    assert scopes["apps/w/tsconfig.json"] != SCOPE_AFFECTED

    write(dest, "src/user.ts", USER)
    lines, scopes = gate()
    assert lines == []
    assert scopes == {"apps/w/tsconfig.json": SCOPE_AFFECTED}

    # Other compiler options: not the program the baseline judged, so everything is checked.
    options = json.loads(TSCONFIG)
    options["compilerOptions"]["noImplicitReturns"] = True
    write(dest, "tsconfig.json", json.dumps(options))
    lines, scopes = gate()
    assert lines == []
    assert "differs from the baseline's" in scopes["apps/w/tsconfig.json"]


def test_with_preserved_symlinks_a_moved_folder_keeps_its_nested_packages_structure(
    tmp_path: Path,
) -> None:
    """With `preserveSymlinks` tsc names a nested package's files by the link the destination
    reaches them through (the gate links the STAGING folder's node_modules there): the same
    files, so the program keeps the baseline's structure and the check is still narrowed."""
    root = _project(tmp_path / "ws")
    options = json.loads(TSCONFIG)
    options["compilerOptions"]["preserveSymlinks"] = True
    staging = root / "STAGING" / "w"
    write(staging, "tsconfig.json", json.dumps(options))
    write(staging, "node_modules/nested/package.json", '{"name": "nested", "types": "index.d.ts"}')
    write(staging, "node_modules/nested/index.d.ts", "export declare const size: number;\n")
    write(staging, "src/fine.ts", 'import { size } from "nested";\nexport const ok = size;\n')
    write(staging, "src/user.ts", USER)
    baseline = take_staging_baseline(root, "STAGING/w", check=False)
    assert baseline.structures

    dest = root / "apps" / "w"
    shutil.copytree(staging, dest, ignore=shutil.ignore_patterns("node_modules"))
    (dest / "node_modules").symlink_to(staging / "node_modules", target_is_directory=True)

    def gate(user: str) -> tuple[list[str], dict[str, str]]:
        write(dest, "src/user.ts", user)
        check = _gate(root, ["apps/w/src/user.ts"], baseline, staging_errors=lambda which: [])
        return check.lines, check.scopes

    lines, scopes = gate(USER + "export const again: number = ok;\n")
    assert (lines, scopes) == ([], {"apps/w/tsconfig.json": SCOPE_AFFECTED})

    # A second name for the package's file in the destination's program is not the same
    # program: its own name is kept and everything is checked.
    _, scopes = gate(USER + 'import "../../../STAGING/w/node_modules/nested/index";\n')
    assert "the program now holds" in scopes["apps/w/tsconfig.json"]


def test_a_staging_baseline_is_checked_only_as_far_as_the_verdict_needs(tmp_path: Path) -> None:
    root = _project(tmp_path / "ws")
    staging = root / "STAGING" / "w"
    write(staging, "tsconfig.json", TSCONFIG)
    write(staging, "src/broken.ts", (root / "src/broken.ts").read_text())
    write(staging, "src/fine.ts", "export const ok: number = 1;\n")
    had = 'export const had: number = "already";\n'
    write(staging, "src/user.ts", USER + had)
    # First the structure alone: the program is built, nothing is checked.
    baseline = take_staging_baseline(root, "STAGING/w", check=False)
    assert not baseline.findings_taken and baseline.findings == []
    assert set(baseline.structures) == {"tsconfig.json"}

    asked: list[object] = []

    def staging_errors(which: tuple[str, Sequence[str]] | None) -> list[Finding]:
        asked.append(which)
        if which is not None:
            found = staging_findings(root, "STAGING/w", *which)
            assert found is not None
            return found
        return list(take_staging_baseline(root, "STAGING/w").findings)

    dest = root / "apps" / "w"
    shutil.copytree(staging, dest)

    def gate() -> list[str]:
        # As each gate does: the structures taken right before the check (the server keeps
        # the program for it), from the workspace the folder stands in.
        asked.clear()
        baseline = take_staging_baseline(root, "STAGING/w", check=False)
        return _gate(
            root,
            ["apps/w/src/user.ts"],
            baseline,
            staging_errors=staging_errors,
            source_root=root,
        ).lines

    # Moved as it stood: nothing is checked that has an error, so nothing is asked of STAGING,
    # although broken.ts and user.ts had errors there.
    assert gate() == [] and asked == []

    # A change to user.ts that keeps its old error: STAGING is asked for user.ts alone.
    write(dest, "src/user.ts", USER + had + "export const more = 2;\n")
    assert gate() == []
    assert asked == [("tsconfig.json", ["src/user.ts"])]

    # A new error: asked for user.ts, then confirmed against the whole baseline.
    write(dest, "src/user.ts", USER + had + 'export const bad: number = "one";\n')
    assert gate() == [
        "apps/w/src/user.ts:4 TS2322 Type 'string' is not assignable to type 'number'."
    ]
    assert asked == [("tsconfig.json", ["src/user.ts"]), None]


@pytest.mark.parametrize("elsewhere", ["nothing", "outside import", "ancestor types"])
def test_a_folder_moved_as_it_stood_is_built_again_only_when_it_resolves_elsewhere(
    tmp_path: Path, elsewhere: str
) -> None:
    """The gate judges a folder moved as it stood without building its program at the
    destination when the project would be built the same there: the same options, configs and
    root files, and each import of its own files resolving to the same place. A folder that
    reaches outside itself, or meets other automatic types there, is built and checked."""
    root = _project(tmp_path / "ws")
    options = json.loads(TSCONFIG)
    options["compilerOptions"].pop("types")
    staging = root / "STAGING" / "w"
    write(staging, "tsconfig.json", json.dumps(options))
    write(staging, "src/broken.ts", (root / "src/broken.ts").read_text())
    write(staging, "src/user.ts", USER)
    write(staging, "src/fine.ts", "export const ok: number = 1;\n")
    if elsewhere == "outside import":
        write(root, "STAGING/lib/shared.ts", "export const shared: number = 1;\n")
        write(staging, "src/fine.ts", 'export { shared as ok } from "../../lib/shared";\n')
    shutil.copytree(staging, root / "apps" / "w")
    if elsewhere == "ancestor types":
        # A type package only the destination's folders see, with a global that clashes.
        write(root, "apps/node_modules/@types/clash/package.json", '{"name": "@types/clash"}')
        write(root, "apps/node_modules/@types/clash/index.d.ts", "declare var ok: string;\n")
        write(root, "apps/w/src/script.ts", "var ok: number = 1;\n")
        write(staging, "src/script.ts", "var ok: number = 1;\n")

    files = sorted(
        p.relative_to(root).as_posix() for p in (root / "apps/w").rglob("*") if p.is_file()
    )
    baseline = take_staging_baseline(root, "STAGING/w", check=False)
    check = _gate(root, files, baseline, staging_errors=lambda which: [], source_root=root)
    scope = check.scopes["apps/w/tsconfig.json"]
    if elsewhere == "nothing":
        # Nothing to build: broken.ts's errors were there before, nothing can be new.
        assert (check.lines, scope) == ([], SCOPE_AFFECTED)
        # Without the program the shallow structure was taken from, it is checked whole.
        alone = _gate(root, files, baseline, staging_errors=lambda which: [])
        assert "built shallow" in alone.scopes["apps/w/tsconfig.json"]
    elif elsewhere == "outside import":
        assert scope != SCOPE_AFFECTED
        assert any("TS2307" in line and "../../lib/shared" in line for line in check.lines)
    else:
        assert scope != SCOPE_AFFECTED
        assert "apps/node_modules/@types/clash" in scope
        assert any(line.startswith("apps/node_modules/@types/clash") for line in check.lines)


def test_the_server_builds_a_program_without_checking_it_or_checks_only_named_files(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    write(root, "src/user.ts", USER)
    built = check_project(root, "tsconfig.json", scope=Scope(folder=root, check=False))
    assert built.scope == SCOPE_NONE and built.findings == [] and built.ok
    named = check_project(root, "tsconfig.json", scope=Scope(only=[root / "src/broken.ts"]))
    assert named.scope == SCOPE_AFFECTED and named.checked == ["src/broken.ts"]
    assert _files(named.findings) == {"src/broken.ts"}
