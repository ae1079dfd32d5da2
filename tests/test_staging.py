from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.errors import BadInput, UnsafePath
from engine.patch.staging import staging_copy


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under root (not following symlinks), by relative path."""
    files: dict[str, bytes] = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    files = {
        "tsconfig.json": b'{"include": ["src"]}\n',
        "src/index.ts": b"export const a: number = 1;\n",
        "src/deep/util.ts": b"export function twice(n: number): number {\n  return n * 2;\n}\n",
        "src/remove-me.ts": b"export {};\n",
        "scripts/build.sh": b"#!/bin/sh\necho build\n",
        ".vibehq/ledger.sqlite": b"SQLite format 3\x00",
        ".git/HEAD": b"ref: refs/heads/main\n",
        "node_modules/typescript/package.json": b'{"name": "typescript"}\n',
        "apps/logger/node_modules/local/index.js": b"module.exports = 1;\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "scripts/build.sh").chmod(0o755)
    (root / "src/alias.ts").symlink_to("index.ts")
    return root


def test_copy_mirrors_sources_and_skips_state_and_git(workspace: Path) -> None:
    with staging_copy(workspace, {}) as staging:
        assert staging != workspace
        assert (staging / "src/index.ts").read_bytes() == b"export const a: number = 1;\n"
        assert (staging / "src/deep/util.ts").read_bytes().startswith(b"export function twice")
        assert (staging / "tsconfig.json").is_file()
        assert not (staging / ".vibehq").exists()
        assert not (staging / ".git").exists()
        assert os.access(staging / "scripts/build.sh", os.X_OK)
        assert (staging / "src/alias.ts").is_symlink()
        assert os.readlink(staging / "src/alias.ts") == "index.ts"


def test_node_modules_are_symlinks_to_the_workspace(workspace: Path) -> None:
    with staging_copy(workspace, {}) as staging:
        top = staging / "node_modules"
        assert top.is_symlink()
        assert top.resolve() == (workspace / "node_modules").resolve()
        assert (top / "typescript/package.json").read_bytes() == b'{"name": "typescript"}\n'
        nested = staging / "apps/logger/node_modules"
        assert nested.is_symlink()
        assert nested.resolve() == (workspace / "apps/logger/node_modules").resolve()


def test_changes_and_deletions_are_applied(workspace: Path) -> None:
    changes: dict[str, bytes | None] = {
        "src/index.ts": b"export const a: number = 2;\n",
        "src/new/feature.ts": b"export const feature = true;\n",
        "src/remove-me.ts": None,
    }
    with staging_copy(workspace, changes) as staging:
        assert (staging / "src/index.ts").read_bytes() == b"export const a: number = 2;\n"
        assert (staging / "src/new/feature.ts").read_bytes() == b"export const feature = true;\n"
        assert not (staging / "src/remove-me.ts").exists()
        assert (staging / "src/deep/util.ts").exists()


def test_changed_file_keeps_its_mode(workspace: Path) -> None:
    with staging_copy(workspace, {"scripts/build.sh": b"#!/bin/sh\necho changed\n"}) as staging:
        mode = (staging / "scripts/build.sh").stat().st_mode
        assert stat.S_IMODE(mode) == 0o755


@pytest.mark.parametrize("link", [False, True], ids=["copy", "hardlink"])
def test_real_workspace_is_byte_identical_afterwards(workspace: Path, link: bool) -> None:
    before = _snapshot(workspace)
    changes: dict[str, bytes | None] = {
        "src/index.ts": b"export const a: string = 'changed';\n",
        "src/remove-me.ts": None,
        "src/added.ts": b"export {};\n",
    }
    # parent on the same filesystem as the workspace, so hard links really are made.
    with staging_copy(workspace, changes, link=link, parent=workspace.parent) as staging:
        unchanged_copy = (staging / "src/deep/util.ts").stat()
        unchanged_real = (workspace / "src/deep/util.ts").stat()
        assert (unchanged_copy.st_ino == unchanged_real.st_ino) is link
        changed_copy = (staging / "src/index.ts").stat()
        assert changed_copy.st_ino != (workspace / "src/index.ts").stat().st_ino
    assert _snapshot(workspace) == before
    assert (workspace / "src/remove-me.ts").exists()
    assert not (workspace / "src/added.ts").exists()


def test_temp_dir_is_removed_after_the_block(workspace: Path) -> None:
    with staging_copy(workspace, {"src/index.ts": b"x\n"}) as staging:
        assert staging.is_dir()
    assert not staging.exists()
    assert (workspace / "node_modules/typescript/package.json").is_file()


def test_temp_dir_is_removed_when_the_block_raises(workspace: Path) -> None:
    seen: list[Path] = []
    with (
        pytest.raises(RuntimeError, match="validator crashed"),
        staging_copy(workspace, {}) as staging,
    ):
        seen.append(staging)
        raise RuntimeError("validator crashed")
    assert seen
    assert not seen[0].exists()


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores folder permissions, so nothing is read-only"
)
def test_temp_dir_is_removed_even_with_read_only_folders(workspace: Path) -> None:
    with staging_copy(workspace, {}) as staging:
        (staging / "src/deep").chmod(0o500)
        (staging / "src").chmod(0o500)
    assert not staging.exists()


def test_change_through_node_modules_link_is_refused(workspace: Path) -> None:
    real = workspace / "node_modules/typescript/package.json"
    before = real.read_bytes()
    parent = workspace.parent / "staging"
    parent.mkdir()
    change = {"node_modules/typescript/package.json": b"{}"}
    with (
        pytest.raises(UnsafePath, match="outside the workspace"),
        staging_copy(workspace, change, parent=parent),
    ):
        pytest.fail("the staging copy must not be yielded")
    assert real.read_bytes() == before
    assert list(parent.iterdir()) == []


@pytest.mark.parametrize("rel", ["../escape.ts", "/etc/passwd", ".vibehq/ledger.sqlite"])
def test_change_outside_the_copy_is_refused(workspace: Path, rel: str) -> None:
    with pytest.raises(UnsafePath), staging_copy(workspace, {rel: b"x"}):
        pytest.fail("the staging copy must not be yielded")
    assert not (workspace.parent / "escape.ts").exists()


def test_change_naming_a_directory_is_refused(workspace: Path) -> None:
    with (
        pytest.raises(BadInput, match="is a directory"),
        staging_copy(workspace, {"src/deep": b"x"}),
    ):
        pytest.fail("the staging copy must not be yielded")


def test_missing_workspace_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a directory"), staging_copy(tmp_path / "nope", {}):
        pytest.fail("the staging copy must not be yielded")


def test_a_linked_mirror_moves_from_one_set_of_changes_to_the_next(
    workspace: Path, tmp_path: Path
) -> None:
    from engine.patch.staging import TreeMirror

    before = _snapshot(workspace)
    mirror = TreeMirror(workspace, tmp_path / "mirrors")
    first = {
        "src/index.ts": b"export const a: number = 2;\n",
        "src/remove-me.ts": None,
        "apps/new/deep/file.ts": b"export const b = 1;\n",
    }
    root = mirror.show(first)
    assert (root / "src/index.ts").read_bytes() == first["src/index.ts"]
    assert not (root / "src/remove-me.ts").exists()
    assert (root / "apps/new/deep/file.ts").is_file()
    assert (root / "node_modules").is_symlink()
    assert not (root / ".vibehq").exists()

    # The next reader's changes: one kept, the others dropped, one new.
    second = {
        "src/index.ts": b"export const a: number = 2;\n",
        "src/deep/util.ts": b"export const twice = 2;\n",
    }
    assert mirror.show(second) == root
    assert (root / "src/index.ts").read_bytes() == second["src/index.ts"]
    assert (root / "src/deep/util.ts").read_bytes() == second["src/deep/util.ts"]
    # Dropped: the workspace's own file again, and the added file gone with its folders.
    assert (root / "src/remove-me.ts").read_bytes() == b"export {};\n"
    assert not (root / "apps/new").exists()
    assert (root / "apps/logger").is_dir()

    # Back to no change at all: the mirror is the workspace again.
    mirror.show({})
    assert _snapshot(root) == {
        k: v
        for k, v in before.items()
        if not k.startswith((".vibehq/", ".git/")) and "node_modules/" not in k
    }
    # The workspace itself never changed, and closing removes the mirror.
    assert _snapshot(workspace) == before
    mirror.close()
    assert not root.exists()


def test_a_copied_mirror_is_the_workspace_plus_changes_and_shields_it_from_writers(
    workspace: Path, tmp_path: Path
) -> None:
    from engine.patch.staging import TreeMirror

    before = _snapshot(workspace)
    mirror = TreeMirror(workspace, tmp_path / "mirrors", link=False)
    root = mirror.show({"src/index.ts": b"export const a = 3;\n"})
    # Copies, not links: a tool that rewrites a file in place writes only the mirror.
    original = root / "src/remove-me.ts"
    assert original.stat().st_ino != (workspace / "src/remove-me.ts").stat().st_ino
    original.write_bytes(b"rewritten in place\n")
    assert _snapshot(workspace) == before

    # Moved on to other changes: the dropped path is the workspace's file again (a copy).
    root = mirror.show({"src/remove-me.ts": b"export const b = 4;\n"})
    assert (root / "src/index.ts").read_bytes() == before["src/index.ts"]
    assert (root / "src/index.ts").stat().st_ino != (workspace / "src/index.ts").stat().st_ino
    assert (root / "src/remove-me.ts").read_bytes() == b"export const b = 4;\n"
    mirror.close()
    assert not root.exists()
    assert _snapshot(workspace) == before
