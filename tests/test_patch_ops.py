"""Op semantics on real files: every op in line and anchor form, coordinates, indentation, EOLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import BadInput, OpFailed
from engine.patch.apply import BatchResult, apply_batch
from engine.patch.loader import parse_batch
from engine.patch.models import PatchBatch
from engine.settings import Settings
from engine.workspace import Workspace
from tests.conftest import write

SRC = """\
export class Logger {
  private lines: string[] = [];

  log(msg: string): void {
    this.lines.push(msg);
  }

  // @vibehq:methods
}
"""


def apply(root: Path, *patches: dict[str, Any], **fields: Any) -> BatchResult:
    batch = PatchBatch.model_validate({"requester": "test", **fields, "patches": list(patches)})
    return apply_batch(Workspace.open(root), batch, Settings())


def read(root: Path, rel: str = "a.ts") -> str:
    return (root / rel).read_bytes().decode()


@pytest.fixture
def src(ws: Path) -> Path:
    write(ws, "a.ts", SRC)
    return ws


LOG_MATCH = "  log(msg: string): void {\n    this.lines.push(msg);\n  }"


@pytest.mark.parametrize(
    "addressing",
    [
        {"start": 4, "end": 6},
        {"match": LOG_MATCH},
        {"regex": r"^  log\(msg: string\)[^}]*\}"},
    ],
    ids=["lines", "match", "regex"],
)
def test_replace_block_in_line_and_anchor_form(src: Path, addressing: dict[str, Any]) -> None:
    block = "log(msg: string): void {\n  this.lines.push(`[log] ${msg}`);\n}"
    apply(src, {"op": "replace-block", "file": "a.ts", "block": block, **addressing})
    assert read(src) == SRC.replace(
        "    this.lines.push(msg);", "    this.lines.push(`[log] ${msg}`);"
    )


def test_replace_block_by_marker_fills_the_placeholder_line(src: Path) -> None:
    apply(
        src,
        {
            "op": "replace-block",
            "file": "a.ts",
            "marker": "@vibehq:methods",
            "block": "size(): number {\n  return this.lines.length;\n}",
        },
    )
    assert read(src).endswith("  size(): number {\n    return this.lines.length;\n  }\n}\n")
    assert "@vibehq:methods" not in read(src)


def test_region_markers_replace_between_them_and_can_repeat(ws: Path) -> None:
    write(ws, "r.ts", "a\n  // region:x\n  old\n  // endregion:x\nz\n")
    for body in ("one", "two"):
        apply(
            ws,
            {
                "op": "replace-block",
                "file": "r.ts",
                "marker": "region:x",
                "markerEnd": "endregion:x",
                "block": body,
            },
        )
    assert read(ws, "r.ts") == "a\n  // region:x\n  two\n  // endregion:x\nz\n"


@pytest.mark.parametrize(
    ("op", "addressing", "expected_before"),
    [
        ("insert-before", {"line": 8}, "  // @vibehq:methods"),
        ("insert-before", {"start": 8}, "  // @vibehq:methods"),
        ("insert-before", {"marker": "@vibehq:methods"}, "  // @vibehq:methods"),
        ("insert-before", {"match": "// @vibehq:methods"}, "  // @vibehq:methods"),
        ("insert-before", {"regex": "@vibehq:methods$"}, "  // @vibehq:methods"),
        ("insert-after", {"line": 8}, "}"),
        ("insert-after", {"marker": "@vibehq:methods"}, "}"),
        ("insert-after", {"match": "  // @vibehq:methods"}, "}"),
    ],
)
def test_insert_ops_in_line_and_anchor_form(
    src: Path, op: str, addressing: dict[str, Any], expected_before: str
) -> None:
    apply(src, {"op": op, "file": "a.ts", "block": "clear(): void {}", **addressing})
    lines = read(src).splitlines()
    at = lines.index("  clear(): void {}")
    assert lines[at + 1] == expected_before
    assert len(lines) == len(SRC.splitlines()) + 1


def test_append_prepend_create_delete(src: Path, ws: Path) -> None:
    write(ws, "gone.ts", "x\n")
    write(ws, "b.ts", "const b = 2;\n")
    apply(
        ws,
        {"op": "append", "file": "a.ts", "block": "export default Logger;\n"},
        {"op": "prepend", "file": "b.ts", "block": "// b"},
        {"op": "create", "file": "new/dir/c.ts", "block": "export const c = 1;\n"},
        {"op": "delete", "file": "gone.ts"},
    )
    assert read(ws).endswith("}\nexport default Logger;\n")
    assert read(ws, "b.ts") == "// b\nconst b = 2;\n"
    assert read(ws, "new/dir/c.ts") == "export const c = 1;\n"
    assert not (ws / "gone.ts").exists()


def test_line_numbers_refer_to_the_file_before_the_batch(ws: Path) -> None:
    write(ws, "n.txt", "".join(f"{i}\n" for i in range(1, 11)))
    apply(
        ws,
        {"op": "insert-after", "file": "n.txt", "line": 1, "block": "1a\n1b\n1c"},
        {"op": "replace-block", "file": "n.txt", "start": 5, "end": 6, "block": "FIVE-SIX"},
        {"op": "insert-before", "file": "n.txt", "line": 9, "block": "pre9"},
        {"op": "prepend", "file": "n.txt", "block": "top"},
    )
    assert read(ws, "n.txt").split() == (
        ["top", "1", "1a", "1b", "1c", "2", "3", "4", "FIVE-SIX", "7", "8", "pre9", "9", "10"]
    )


@pytest.mark.parametrize(
    "second",
    [
        {"op": "replace-block", "start": 4, "end": 5, "block": "x"},
        {"op": "replace-block", "start": 2, "end": 3, "block": "x"},
        {"op": "insert-after", "line": 3, "block": "x"},
        {"op": "replace-block", "match": "4", "block": "x"},
    ],
)
def test_overlapping_edits_are_rejected(ws: Path, second: dict[str, Any]) -> None:
    write(ws, "n.txt", "1\n2\n3\n4\n5\n6\n")
    before = read(ws, "n.txt")
    with pytest.raises(BadInput, match="overlap"):
        apply(
            ws,
            {"op": "replace-block", "file": "n.txt", "start": 3, "end": 4, "block": "y"},
            {**second, "file": "n.txt"},
        )
    assert read(ws, "n.txt") == before


def test_adjacent_edits_do_not_overlap(ws: Path) -> None:
    write(ws, "n.txt", "1\n2\n3\n4\n")
    apply(
        ws,
        {"op": "replace-block", "file": "n.txt", "start": 2, "end": 2, "block": "two"},
        {"op": "replace-block", "file": "n.txt", "start": 3, "end": 3, "block": "three"},
        {"op": "insert-before", "file": "n.txt", "line": 2, "block": "b2"},
        {"op": "insert-after", "file": "n.txt", "line": 3, "block": "a3"},
    )
    assert read(ws, "n.txt") == "1\nb2\ntwo\nthree\na3\n4\n"


def test_indentation_is_rebased_keeping_relative_indent(src: Path) -> None:
    block = "        size(): number {\n          return this.lines.length;\n        }"
    apply(src, {"op": "insert-after", "file": "a.ts", "marker": "@vibehq:methods", "block": block})
    assert "  size(): number {\n    return this.lines.length;\n  }\n}" in read(src)


def test_open_space_inserts_the_block_verbatim(src: Path) -> None:
    block = "\tsize() {}\n"
    apply(
        src,
        {
            "op": "insert-after",
            "file": "a.ts",
            "marker": "@vibehq:methods",
            "block": block,
            "openSpace": True,
        },
    )
    assert "  // @vibehq:methods\n\tsize() {}\n}" in read(src)


def test_match_with_uniform_indent_offset_and_reindented_replacement(src: Path) -> None:
    needle = "log(msg: string): void {\n  this.lines.push(msg);\n}"
    apply(
        src,
        {
            "op": "replace-block",
            "file": "a.ts",
            "match": needle,
            "block": "log(msg: string): void {\n  this.lines.push(msg.trim());\n}",
        },
    )
    assert "  log(msg: string): void {\n    this.lines.push(msg.trim());\n  }" in read(src)


def test_ambiguous_match_lists_every_candidate_line(ws: Path) -> None:
    write(ws, "d.ts", "a\nreturn 1;\nb\nreturn 1;\nc\n  return 1;\n")
    with pytest.raises(OpFailed, match=r"2 places at lines 2, 4"):
        apply(ws, {"op": "replace-block", "file": "d.ts", "match": "return 1;", "block": "x"})


def test_missing_match_names_similar_lines(ws: Path) -> None:
    write(ws, "d.ts", "a\nreturn 1;\n")
    with pytest.raises(OpFailed, match=r"not found.*lines 2"):
        apply(ws, {"op": "replace-block", "file": "d.ts", "match": "return 1;\nz", "block": "x"})


def test_marker_must_be_unique(ws: Path) -> None:
    write(ws, "m.ts", "// @here\nx\n// @here\n")
    with pytest.raises(OpFailed, match=r"on 2 lines at lines 1, 3"):
        apply(ws, {"op": "insert-after", "file": "m.ts", "marker": "@here", "block": "y"})


def test_crlf_file_keeps_crlf_and_untouched_bytes(ws: Path) -> None:
    write(ws, "w.ts", b"a\r\nb\r\nc\r\n")
    apply(
        ws,
        {"op": "insert-after", "file": "w.ts", "line": 1, "block": "x\ny"},
        {"op": "replace-block", "file": "w.ts", "match": "c", "block": "C"},
    )
    assert (ws / "w.ts").read_bytes() == b"a\r\nx\r\ny\r\nb\r\nC\r\n"


def test_missing_final_newline_is_kept(ws: Path) -> None:
    write(ws, "f.ts", "a\nb")
    apply(
        ws,
        {"op": "append", "file": "f.ts", "block": "c\n"},
        {"op": "insert-after", "file": "f.ts", "line": 1, "block": "a2"},
    )
    assert read(ws, "f.ts") == "a\na2\nb\nc"


def test_final_newline_is_kept_when_last_line_replaced(ws: Path) -> None:
    write(ws, "f.ts", "a\nb\n")
    apply(ws, {"op": "replace-block", "file": "f.ts", "start": 2, "block": "B"})
    assert read(ws, "f.ts") == "a\nB\n"


def test_line_past_end_is_a_clear_failure(ws: Path) -> None:
    write(ws, "f.ts", "a\nb\n")
    with pytest.raises(OpFailed, match=r"op 1 \(replace-block f.ts:2-9\): the file has 2 lines"):
        apply(ws, {"op": "replace-block", "file": "f.ts", "start": 2, "end": 9, "block": "x"})


def test_block_file_is_read_relative_to_the_batch_folder(ws: Path, tmp_path: Path) -> None:
    write(ws, "a.ts", "x\n")
    write(tmp_path, "batches/blocks/b.ts", "from block file\n")
    batch = PatchBatch.model_validate(
        {"patches": [{"op": "append", "file": "a.ts", "blockFile": "blocks/b.ts"}]}
    )
    apply_batch(Workspace.open(ws), batch, Settings(), block_root=tmp_path / "batches")
    assert read(ws) == "x\nfrom block file\n"


def test_create_with_identical_content_is_a_no_op(ws: Path) -> None:
    write(ws, "c.ts", "same\n")
    result = apply(ws, {"op": "create", "file": "c.ts", "block": "same\n"})
    assert result.status == "unchanged"
    assert not (ws / ".vibehq" / "journal").exists()


SEED_BATCH = """{
  "orderId": "order-42",
  "requester": "codex",
  "reason": "Add logging to the patch runner",
  "branch": "factory/order-42",
  "patches": [
    {"op": "replace-block", "file": "a.ts", "start": 5, "end": 5,
     "block": "    this.lines.push(msg.trim());", "blockFile": null,
     "openSpace": false, "taskId": "3", "line": null},
    {"op": "insert-after", "file": "a.ts", "start": null, "end": null, "line": 8,
     "block": "clear(): void {}", "blockFile": null, "openSpace": false, "taskId": 3},
    {"op": "append", "file": "a.ts", "start": null, "end": null, "line": null,
     "block": "export default Logger;", "blockFile": null, "openSpace": true, "taskId": "3.1"},
    {"op": "prepend", "file": "a.ts", "block": "// generated", "taskId": "3"}
  ]
}"""


def test_seed_format_batch_loads_unchanged_and_applies(src: Path) -> None:
    batch = parse_batch(SEED_BATCH)
    assert batch.order_id == "order-42" and batch.branch == "factory/order-42"
    assert [p.task_id for p in batch.patches] == ["3", 3, "3.1", "3"]
    result = apply_batch(Workspace.open(src), batch, Settings())
    assert result.status == "applied"
    text = read(src)
    assert text.startswith("// generated\nexport class Logger {")
    assert "this.lines.push(msg.trim());" in text
    assert "  // @vibehq:methods\n  clear(): void {}\n}\nexport default Logger;\n" in text


def test_create_with_overwrite_replaces_and_without_it_conflicts(ws: Path) -> None:
    from engine.errors import PatchConflict

    write(ws, "c.ts", "old\n")
    with pytest.raises(PatchConflict, match="already exists"):
        apply(ws, {"op": "create", "file": "c.ts", "block": "new\n"})
    result = apply(ws, {"op": "create", "file": "c.ts", "block": "new\n", "overwrite": True})
    assert read(ws, "c.ts") == "new\n"
    assert (result.files[0].lines_added, result.files[0].lines_removed) == (1, 1)


def test_create_carries_non_utf8_bytes_through(ws: Path) -> None:
    raw = b"\xff\xfebinary\x00\n"
    apply(ws, {"op": "create", "file": "bin.dat", "block": raw.decode("utf-8", "surrogateescape")})
    assert (ws / "bin.dat").read_bytes() == raw
