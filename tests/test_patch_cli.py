"""`vibehq patch ...` end to end: exit codes, one-line errors, unchanged workspaces, rollback."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import batch_file, snapshot, write


@pytest.fixture
def tree(ws: Path) -> Path:
    write(ws, "src/a.ts", "export const a = 1;\nexport const b = 2;\n")
    write(ws, "src/b.ts", "line1\nline2\nline3\n")
    write(ws, "src/w.ts", b"crlf\r\nfile\r\n")
    return ws


def assert_one_line_error(result: Any, code: int, fragment: str) -> None:
    assert result.code == code, (result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error:")
    assert fragment in lines[0]
    assert "Traceback" not in result.err + result.out


def test_dry_run_prints_diff_and_writes_nothing(cli: Any, tree: Path, tmp_path: Path) -> None:
    before = snapshot(tree)
    path = batch_file(
        tmp_path,
        [{"op": "replace-block", "file": "src/a.ts", "start": 2, "block": "export const b = 3;"}],
    )
    result = cli("patch", "apply", path, "--dry-run", "-w", tree)
    assert result.code == 0
    assert "-export const b = 2;\n+export const b = 3;\n" in result.out
    assert "dry run, nothing written" in result.out
    assert snapshot(tree) == before


def test_apply_then_rollback_restores_bytes(cli: Any, tree: Path, tmp_path: Path) -> None:
    os.chmod(tree / "src/b.ts", 0o755)
    before = snapshot(tree)
    path = batch_file(
        tmp_path,
        [
            {"op": "replace-block", "file": "src/a.ts", "start": 1, "block": "export const a = 9;"},
            {"op": "insert-after", "file": "src/w.ts", "line": 1, "block": "added"},
            {"op": "delete", "file": "src/b.ts"},
            {"op": "create", "file": "src/deep/new/c.ts", "block": "export {};\n"},
        ],
        orderId="o-7",
        taskId="12",
    )
    applied = cli("patch", "apply", path, "-w", tree, "--json")
    assert applied.code == 0, applied.err
    data = applied.json()
    assert data["status"] == "applied"
    assert {f["path"]: f["action"] for f in data["files"]} == {
        "src/a.ts": "modified",
        "src/w.ts": "modified",
        "src/b.ts": "deleted",
        "src/deep/new/c.ts": "created",
    }
    assert "+export const a = 9;" in data["diff"]
    assert (tree / "src/w.ts").read_bytes() == b"crlf\r\nadded\r\nfile\r\n"

    rolled = cli("patch", "rollback", data["batch_id"], "-w", tree, "--json")
    assert rolled.code == 0, rolled.err
    assert snapshot(tree, include_state=False) == {
        k: v for k, v in before.items() if not k.startswith(".vibehq")
    }
    assert os.stat(tree / "src/b.ts").st_mode & 0o777 == 0o755

    again = cli("patch", "rollback", data["batch_id"], "-w", tree)
    assert_one_line_error(again, 2, "rolled back")
    listing = cli("patch", "list", "-w", tree, "--json").json()
    assert [(r["kind"], r["state"]) for r in listing] == [
        ("apply", "rolled_back"),
        ("rollback", "committed"),
    ]


def test_rollback_refuses_when_a_file_changed_since(cli: Any, tree: Path, tmp_path: Path) -> None:
    path = batch_file(tmp_path, [{"op": "append", "file": "src/a.ts", "block": "x"}])
    batch_id = cli("patch", "apply", path, "-w", tree, "--json").json()["batch_id"]
    write(tree, "src/a.ts", "edited by a human\n")
    result = cli("patch", "rollback", batch_id, "-w", tree)
    assert_one_line_error(result, 1, "changed since it was applied: src/a.ts")
    assert (tree / "src/a.ts").read_text() == "edited by a human\n"


def test_unknown_batch_id_is_bad_input(cli: Any, tree: Path) -> None:
    assert_one_line_error(cli("patch", "rollback", "nope", "-w", tree), 2, "no batch 'nope'")
    assert_one_line_error(cli("patch", "rollback", "../x", "-w", tree), 2, "no batch")


def test_op_three_of_five_fails_and_every_file_is_unchanged(
    cli: Any, tree: Path, tmp_path: Path
) -> None:
    before = snapshot(tree, include_state=False)
    path = batch_file(
        tmp_path,
        [
            {"op": "replace-block", "file": "src/a.ts", "start": 1, "block": "changed"},
            {"op": "create", "file": "src/new.ts", "block": "new"},
            {"op": "replace-block", "file": "src/b.ts", "match": "no such line", "block": "x"},
            {"op": "append", "file": "src/w.ts", "block": "x"},
            {"op": "delete", "file": "src/a2.ts"},
        ],
    )
    result = cli("patch", "apply", path, "-w", tree)
    assert_one_line_error(result, 1, "op 3 (replace-block src/b.ts by match): match not found")
    assert snapshot(tree, include_state=False) == before
    logs = cli("report", "patches", "logs", "--kind", "failed", "-w", tree, "--json").json()
    assert logs["total"] == 5
    assert all("op 3" in item["error"] for item in logs["items"])


def test_base_hash_conflict_exits_1_and_writes_nothing(
    cli: Any, tree: Path, tmp_path: Path
) -> None:
    current = hashlib.sha256((tree / "src/a.ts").read_bytes()).hexdigest()
    stale = hashlib.sha256(b"what the agent saw").hexdigest()
    before = snapshot(tree, include_state=False)
    path = batch_file(
        tmp_path,
        [
            {"op": "append", "file": "src/b.ts", "block": "x"},
            {"op": "append", "file": "src/a.ts", "block": "x", "baseSha256": stale},
        ],
    )
    assert_one_line_error(cli("patch", "apply", path, "-w", tree), 1, "conflict")
    assert snapshot(tree, include_state=False) == before
    ok = batch_file(
        tmp_path,
        [{"op": "append", "file": "src/a.ts", "block": "x"}],
        baseSha256={"src/a.ts": current},
    )
    assert cli("patch", "apply", ok, "-w", tree).code == 0


@pytest.mark.parametrize(
    ("file_field", "fragment"),
    [
        ("/etc/passwd", "is absolute"),
        ("../outside.ts", "contains '..'"),
        ("src/../../outside.ts", "contains '..'"),
        ("escape/x.ts", "outside the workspace"),
        ("escape", "outside the workspace"),
        (".vibehq/ledger.sqlite", "state folder"),
        ("state/ledger.sqlite", "state folder"),
    ],
)
def test_unsafe_paths_exit_2_and_touch_nothing(
    cli: Any, tree: Path, tmp_path: Path, file_field: str, fragment: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside, "x.ts", "secret\n")
    (tree / "escape").symlink_to(outside)
    (tree / "state").symlink_to(tree / ".vibehq")
    before = snapshot(tree) | snapshot(outside)
    path = batch_file(
        tmp_path,
        [
            {"op": "append", "file": "src/a.ts", "block": "fine"},
            {"op": "append", "file": file_field, "block": "evil"},
        ],
    )
    assert_one_line_error(cli("patch", "apply", path, "-w", tree), 2, fragment)
    assert snapshot(tree) | snapshot(outside) == before
    assert not (tree / ".vibehq").exists()


def test_block_file_outside_the_batch_folder_is_refused(
    cli: Any, tree: Path, tmp_path: Path
) -> None:
    (tmp_path / "batches").mkdir()
    path = tmp_path / "batches" / "b.json"
    path.write_text(
        json.dumps(
            {"patches": [{"op": "append", "file": "src/a.ts", "blockFile": "../secret.txt"}]}
        )
    )
    write(tmp_path, "secret.txt", "key\n")
    assert_one_line_error(cli("patch", "apply", path, "-w", tree), 2, "blockFile")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"patches": [', "malformed JSON at line 1"),
        ('{"patches": [{"op": "rename", "file": "src/a.ts"}]}', "unknown op 'rename'"),
        ('{"patches": [{"op": "append", "file": "src/a.ts"}]}', "needs block or blockFile"),
        (
            '{"patches": [{"op": "append", "file": "src/a.ts", "block": "x", "lne": 2}]}',
            "unknown field",
        ),
        ('{"patches": []}', "patches"),
        ("[1, 2]", "JSON object"),
        (
            '{"patches": [{"op": "insert-after", "file": "src/a.ts", "line": 1, "match": "a",'
            ' "block": "x"}]}',
            "not both",
        ),
    ],
)
def test_malformed_batches_exit_2_with_one_line(
    cli: Any, tree: Path, tmp_path: Path, text: str, fragment: str
) -> None:
    before = snapshot(tree)
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert_one_line_error(cli("patch", "apply", path, "-w", tree), 2, fragment)
    assert snapshot(tree) == before


def test_bad_input_in_json_mode_is_one_json_document(cli: Any, tree: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    result = cli("patch", "apply", path, "-w", tree, "--json")
    assert result.code == 2
    assert result.json()["errorType"] == "BatchFormatError"


def test_missing_batch_file_and_stdin(cli: Any, tree: Path) -> None:
    assert_one_line_error(cli("patch", "apply", "nope.json", "-w", tree), 2, "not found")
    batch = json.dumps({"patches": [{"op": "append", "file": "src/a.ts", "block": "z"}]})
    assert cli("patch", "apply", "-", "-w", tree, stdin=batch).code == 0
    assert (tree / "src/a.ts").read_text().endswith("z\n")


def test_usage_errors_are_one_line_exit_2(cli: Any, tree: Path) -> None:
    assert_one_line_error(cli("patch", "apply", "--frobnicate", "-w", tree), 2, "No such option")
    assert_one_line_error(cli("nosuch"), 2, "No such command")


def test_workspace_that_is_not_a_directory(cli: Any, tmp_path: Path) -> None:
    assert_one_line_error(cli("patch", "list", "-w", tmp_path / "missing"), 2, "not a directory")


def test_invalid_settings_are_bad_input(cli: Any, tree: Path) -> None:
    write(tree, "vibehq.toml", "[patch]\nlock_timeout_s = -1\n")
    assert_one_line_error(cli("patch", "list", "-w", tree), 2, "patch.lock_timeout_s")
    write(tree, "vibehq.toml", "[patch\n")
    assert_one_line_error(cli("patch", "list", "-w", tree), 2, "not valid TOML")


def test_report_views_filter_the_ledger(cli: Any, tree: Path, tmp_path: Path) -> None:
    for task, target in (("7", "src/a.ts"), ("8", "src/b.ts"), ("7", "src/w.ts")):
        path = batch_file(
            tmp_path,
            [{"op": "append", "file": target, "block": "x", "taskId": task}],
            requester=f"agent-{task}",
        )
        assert cli("patch", "apply", path, "-w", tree).code == 0
    logs = cli(
        "report", "patches", "logs", "--task", "7", "--kind", "applied", "-w", tree, "--json"
    ).json()
    assert sorted(i["file"] for i in logs["items"]) == ["src/a.ts", "src/w.ts"]
    by_file = cli("report", "patches", "logs", "--file", "src/b*", "-w", tree, "--json").json()
    assert {i["file"] for i in by_file["items"]} == {"src/b.ts"}
    stats = cli("report", "patches", "stats", "-w", tree, "--json").json()
    assert json.dumps(stats)
    trends = cli("report", "patches", "trends", "--by", "task", "-w", tree, "--json").json()
    assert {row["key"]: row["applied"] for row in trends} == {"7": 2, "8": 1}
    assert_one_line_error(cli("report", "patches", "nope", "-w", tree), 2, "'nope' is not one of")
