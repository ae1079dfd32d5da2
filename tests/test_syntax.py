from pathlib import PurePosixPath

import pytest

from engine.errors import VibehqError
from engine.syntax.kinds import FUNCTION_KINDS, node_text
from engine.syntax.parse import parse
from engine.syntax.relative import import_specifier, relative_path
from engine.syntax.splice import ByteEdit, EditOutOfRange, OverlappingEdits, splice


def test_splice_refuses_a_partial_overlap_with_a_typed_error() -> None:
    with pytest.raises(OverlappingEdits) as raised:
        splice(b"abcdef", [ByteEdit(0, 3, "x"), ByteEdit(2, 5, "y")])
    assert isinstance(raised.value, VibehqError)


def test_ordered_splice_refuses_overlaps_too() -> None:
    with pytest.raises(OverlappingEdits):
        splice(b"abcdef", [ByteEdit(0, 4, "x"), ByteEdit(1, 2, "y")], ordered=True)


def test_ordered_splice_puts_an_insertion_before_an_edit_at_its_offset() -> None:
    edits = [ByteEdit(2, 2, "async "), ByteEdit(2, 4, "CD")]
    assert splice(b"abcdef", edits, ordered=True) == b"abasync CDef"
    with pytest.raises(OverlappingEdits):
        splice(b"abcdef", edits)


def test_splice_refuses_bytes_the_source_lacks() -> None:
    with pytest.raises(EditOutOfRange):
        splice(b"abc", [ByteEdit(2, 9, "x")])


def test_every_function_kind_the_grammar_produces_is_known() -> None:
    source = (
        b"function a() {}\nfunction* b() {}\nconst c = function () {};\nconst d = () => 1;\n"
        b"const e = function* () {};\nclass F { g() {} }\n"
    )
    tree = parse(source, "x.ts")
    found: set[str] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type.endswith(("function", "function_declaration", "method_definition")):
            found.add(node.type)
        stack.extend(node.children)
    assert found <= FUNCTION_KINDS
    assert {"generator_function_declaration", "generator_function"} <= found
    assert node_text(None) == ""


def test_relative_path_and_import_specifier() -> None:
    assert relative_path(PurePosixPath("a/b/c.ts"), PurePosixPath("a/d")) == "../b/c.ts"
    assert relative_path(PurePosixPath("a/b"), PurePosixPath("a/b")) == "."
    with pytest.raises(ValueError, match="anchored differently"):
        relative_path(PurePosixPath("/a/b.ts"), PurePosixPath("a"))
    assert import_specifier("src/worker.ts", "src/rpc/types.ts") == "./rpc/types"
    assert import_specifier("src/a/worker.ts", "src/types.ts") == "../types"
