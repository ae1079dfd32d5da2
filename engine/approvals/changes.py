"""What a planned batch changes in each file: the lines its diff adds and removes, and whether
the change touches import declarations only.

A change is import-only when both versions parse cleanly and, with every top-level import
declaration (`import ...`, `export ... from "..."`) set aside, the remaining top-level nodes
(statements and comments) are byte-identical and in the same order. Whitespace between
top-level nodes does not count; anything else, a comment included, does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from engine.approvals.import_check import import_problems
from engine.patch.diff import unified_diff
from engine.patch.plan import BatchPlan, FileChange
from engine.syntax.parse import is_source, parse

if TYPE_CHECKING:
    from tree_sitter import Node

FileAction = Literal["created", "modified", "deleted"]


class ChangedFile(BaseModel):
    path: str
    action: FileAction
    lines_added: int = Field(ge=0, description="`+` lines of the file's unified diff")
    lines_removed: int = Field(ge=0, description="`-` lines of the file's unified diff")
    import_only: bool = Field(description="only import declarations differ")
    import_problems: list[str] = Field(
        default_factory=list,
        description="added imports that bind no name or resolve to nothing (see import_check)",
    )

    @property
    def changed_lines(self) -> int:
        return self.lines_added + self.lines_removed


def changed_files(plan: BatchPlan, root: Path) -> list[ChangedFile]:
    """Per-file facts of `plan` against the workspace at `root`."""
    planned = {change.path: change.new for change in plan.changed}
    return [_changed_file(change, root, planned) for change in plan.changed]


def _changed_file(
    change: FileChange, root: Path, planned: Mapping[str, bytes | None]
) -> ChangedFile:
    added, removed = diff_line_counts(change.path, change.old, change.new)
    action: FileAction = (
        "created" if change.old is None else "deleted" if change.new is None else "modified"
    )
    import_only = is_import_only(change.path, change.old, change.new)
    problems: list[str] = []
    if import_only and change.old is not None and change.new is not None:
        problems = import_problems(root, change.path, change.old, change.new, planned)
    return ChangedFile(
        path=change.path,
        action=action,
        lines_added=added,
        lines_removed=removed,
        import_only=import_only,
        import_problems=problems,
    )


def diff_line_counts(path: str, old: bytes | None, new: bytes | None) -> tuple[int, int]:
    """Lines added and removed, counted on the same diff `vibehq` shows for the change."""
    added = removed = 0
    for line in unified_diff(path, old, new, context=0).splitlines():
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed


def is_import_only(path: str, old: bytes | None, new: bytes | None) -> bool:
    """Whether `old` -> `new` changes import declarations and nothing else (see module doc).

    Creating or deleting a file, a non-source file, or a source that does not parse cleanly
    is never import-only: the rule must not pass anything it cannot read."""
    if old is None or new is None or old == new or not is_source(path):
        return False
    old_root = parse(old, path).root_node
    new_root = parse(new, path).root_node
    if old_root.has_error or new_root.has_error:
        return False
    old_imports, old_rest = _split(old_root)
    new_imports, new_rest = _split(new_root)
    return old_rest == new_rest and old_imports != new_imports


def _split(root: Node) -> tuple[list[bytes], list[bytes]]:
    imports: list[bytes] = []
    rest: list[bytes] = []
    for node in root.children:
        (imports if _is_import_declaration(node) else rest).append(node.text or b"")
    return imports, rest


def _is_import_declaration(node: Node) -> bool:
    if node.type == "import_statement":
        return True
    return node.type == "export_statement" and node.child_by_field_name("source") is not None
