"""What one served tsc check type-checks: every file, or only the files a change can affect.

A gate judges a change against a before-picture (a folder's STAGING baseline, or a project's
baseline taken in the workspace). A file the change cannot reach has the before-picture's
diagnostics, so checking it again only costs time: on the real corpus most migrated folders
arrive byte for byte as they stood in STAGING, and a recipe changes one file of the
orchestrator's 300-file program. A scoped check therefore asks the tsc server to check
semantically only the affected files: the changed ones the program holds and every file that
imports them, transitively (tsc's own incremental-builder rule). It checks everything instead,
and says why, when a change can reach further: a changed file that declares globals or
augments a module, a deleted file, a changed package.json or tsconfig that configures the
program's files, or, for a folder judged against its STAGING baseline, a program whose
structure differs from the baseline's (a file more or less, an import resolved elsewhere,
other compiler options): then "where it stood" and "where it is" are not the same program.

A folder that arrives as it stood needs no check at all when its project would be built the
same at the destination (`same_as`: the server compares the kept program of where it stood,
without building the one where it is; see tsc_server.cjs).

A scoped answer is a fast path, never the verdict on its own: a caller that finds a new error
in it checks everything again and judges that (`engine/epic/project_gate.py`), since a file
checked alone may print a union's members in another order than the whole program did.
The CLI path (`VIBEHQ_TSC=cli`) always checks everything.

A before-picture is itself taken only as far as a verdict needs it (`check=False`, `only`):
see `engine/epic/project_gate.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SCOPE_AFFECTED", "SCOPE_ALL", "SCOPE_NONE", "Scope", "Served"]

SCOPE_ALL = "all"
SCOPE_AFFECTED = "affected"
SCOPE_NONE = "none"


@dataclass(frozen=True)
class Scope:
    """`changed`: absolute paths that differ from the before-picture. `folder`: record the
    program's structure with file keys relative to it. `structure`: the before-picture's
    structure; the check is narrowed only when the program's is the same. `only`: check
    exactly these files of the program (another program's narrowed check, mapped here).
    `check=False`: build the program for its structure and check nothing. `keep`: the
    server keeps that program for a later check's `same_as`: (config, folder) where the
    folder stood; that check builds nothing when its program would be the same one moved."""

    changed: Sequence[Path] | None = None
    folder: Path | None = None
    structure: Mapping[str, str] | None = None
    only: Sequence[Path] | None = None
    check: bool = True
    keep: bool = False
    same_as: tuple[Path, Path] | None = None

    def request(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not self.check:
            out["check"] = False
        if self.keep:
            out["keep"] = True
        if self.same_as is not None:
            config, folder = self.same_as
            out["sameAs"] = {"config": str(config), "folder": str(folder)}
        if self.only is not None:
            out["only"] = [str(p) for p in self.only]
        if self.changed is not None:
            out["changed"] = [str(p) for p in self.changed]
        if self.folder is not None:
            out["folder"] = str(self.folder)
        if self.structure is not None:
            out["structure"] = dict(self.structure)
        return out


@dataclass
class Served:
    """One check's answer: tsc's exit code and output, and what was checked."""

    exit: int
    output: str
    scope: str = SCOPE_ALL
    why: str = ""
    checked: int | None = None
    structure: dict[str, str] = field(default_factory=dict)
    checked_files: list[str] = field(
        default_factory=list, metadata={"doc": "the files an affected-scope check checked"}
    )

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> Served:
        structure = answer.get("structure")
        checked = answer.get("checked")
        scope = answer.get("scope")
        return cls(
            exit=int(answer.get("exit", 1)),
            output=str(answer["output"]),
            scope=scope if scope in (SCOPE_AFFECTED, SCOPE_NONE) else SCOPE_ALL,
            why=str(answer.get("why") or ""),
            checked=int(checked) if isinstance(checked, int) else None,
            structure=dict(structure) if isinstance(structure, dict) else {},
            checked_files=[str(f) for f in answer.get("checkedFiles") or []],
        )
