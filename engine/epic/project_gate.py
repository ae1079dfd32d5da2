"""The type check of one epic folder's change: each project that owns a changed file is
checked with its own tsconfig (`tsc -p`), and "new" is judged against that project's own
before-picture, never against the monorepo's root program.

- The folder's own projects (under its destination) are judged against the folder's STAGING
  baseline: the errors it already had where it stood, relative to the folder.
- Any other project the change touches (the orchestrator's, when the refactor adds RPC
  methods there) is judged against a baseline of that project taken in the workspace, once
  per run, the first time a folder touches it.
- Changed TypeScript files only the root tsconfig owns (the orchestrator's entrypoints: its
  tsconfig is solution-style) are checked in a narrow program: a tsconfig under `.vibehq/`
  that extends the root one and includes only those files' folders (and what they import),
  judged against the same narrow program on the workspace, taken once per run after the
  run's install. Like with like, and seconds instead of the root program's minutes: the
  root program also holds every STAGING folder, whose findings move with the run's install,
  not with the folder. Errors in files only earlier folders of the run changed are theirs
  (their own gates judged them), not this folder's.

A before-picture is only needed for the errors a check finds: a check with no error in what
it checked has nothing new, whatever the project had before. So a folder's STAGING findings
are taken only then (its programs' structures, which narrow the check, are taken first):
after a narrowed check, those of the files it checked, the same way, where the folder stood;
after a whole-program check, the whole baseline. A project outside the folder gets its
before-picture the first time a check of it finds an error.

Each new error is kept as a Finding with a workspace-relative path, and rendered as
`file:line code message` for the gate's message and the delivery report.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engine.patch.validation import Finding, ValidationResult
from engine.validate.baseline import Baseline, BaselineFinding, diff_findings, fingerprint
from engine.validate.projects import (
    TS_EXTENSIONS,
    TSCONFIG,
    ProjectCheck,
    check_project,
    group_by_project,
)
from engine.validate.staging_baseline import TOOL, FolderBaseline, render, to_folder_relative
from engine.validate.tsc_scope import SCOPE_AFFECTED, Scope
from engine.workspace import STATE_DIR

__all__ = ["VALIDATOR_NAME", "FolderCheck", "check_folder", "narrow_config"]

VALIDATOR_NAME = "tsc (per project)"
# How many new errors the gate's one-line message lists; the rest are in validation.json.
LISTED = 5


@dataclass
class FolderCheck:
    projects: list[str] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)
    preexisting: int = 0
    unowned: list[str] = field(default_factory=list, metadata={"doc": "TS files no project owns"})
    seconds: float = 0.0
    scopes: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "doc": "per project as listed: 'affected' when only the files the change affects"
            " were checked (tsc_scope), else why every file was"
        },
    )

    @property
    def lines(self) -> list[str]:
        return [render(f) for f in self.new]

    def result(self) -> ValidationResult:
        count = len(self.new)
        errors = f"{count} new error" + ("" if count == 1 else "s")
        checked = (
            ", ".join(
                f"{p} (affected files)" if self.scopes.get(p) == SCOPE_AFFECTED else p
                for p in self.projects
            )
            or "no project"
        )
        if count == 0:
            summary = f"tsc -p {checked}: {errors} ({self.preexisting} already in the baseline)"
        else:
            shown = "; ".join(self.lines[:LISTED])
            more = f"; and {count - LISTED} more" if count > LISTED else ""
            summary = (
                f"tsc -p {checked}: {errors} ({self.preexisting} already in the"
                f" baseline): {shown}{more}"
            )
        return ValidationResult(
            validator=VALIDATOR_NAME,
            ok=count == 0,
            findings=self.new,
            duration_s=round(self.seconds, 3),
            summary=summary,
        )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def narrow_config(root: Path, files: Sequence[str]) -> str | None:
    """Write (under `root`'s `.vibehq/`) the narrow program of the root-owned `files`: the root
    tsconfig's options, only their folders' TypeScript files included. Returns its
    workspace-relative path; None when no root tsconfig or no TypeScript file."""
    folders = sorted({posixpath.dirname(f) for f in files if f.endswith(TS_EXTENSIONS)})
    if not folders or not (root / TSCONFIG).is_file():
        return None
    key = hashlib.sha256("\n".join(folders).encode("utf-8")).hexdigest()[:16]
    rel = f"{STATE_DIR}/tsc/narrow-{key}/{TSCONFIG}"
    up = "../../../"
    data = {
        "extends": f"{up}{TSCONFIG}",
        "include": [posixpath.join(up + d, f"*{ext}") for d in folders for ext in (".ts", ".tsx")],
    }
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return rel


# The folder's errors where it stood, relative to the folder: `(config, files)`, those files'
# errors in that program (both relative to the folder); None, the whole baseline's.
StagingErrors = Callable[[tuple[str, Sequence[str]] | None], Sequence[Finding]]


def check_folder(
    root: Path,
    changed: Sequence[str],
    *,
    dest: str,
    baseline: FolderBaseline | None,
    project_baseline: Callable[[str, bytes | None], Baseline],
    earlier: Collection[str] = (),
    staging_errors: StagingErrors | None = None,
    source_root: Path | None = None,
) -> FolderCheck:
    """Check the projects owning `changed` on `root` (the folder's overlay). `project_baseline`
    gives the before-picture of a project outside the folder (a narrow program included);
    `earlier` are the paths the run's earlier folders on the overlay changed. A narrow
    program's config is handed to `project_baseline` too: it is written in the workspace's
    state folder to take the before-picture there. `staging_errors` takes the folder's
    STAGING findings when a check needs them; without it, `baseline` holds them all.
    `source_root`: the workspace the baseline's structures were just taken in, whose
    programs the tsc server may still hold (`Scope.same_as`)."""
    started = time.monotonic()
    groups = group_by_project(root, changed)
    out = FolderCheck(unowned=[f for f in groups.pop(None, []) if f.endswith(".ts")])
    root_owned = groups.pop(TSCONFIG, [])
    owned = sorted((t, files) for t, files in groups.items() if t is not None)
    narrow = narrow_config(root, root_owned)
    if narrow is not None:
        owned.append((narrow, root_owned))
    mine = set(changed)
    before: dict[str, Baseline] = {}

    def before_in_folder(check: ProjectCheck, tsconfig: str) -> Sequence[Finding]:
        """The folder's STAGING errors that `check`'s are judged against."""
        if staging_errors is None:
            assert baseline is not None
            return baseline.findings
        if check.scope != SCOPE_AFFECTED:
            return staging_errors(None)
        prefix = dest.rstrip("/") + "/"
        files = [f[len(prefix) :] for f in check.checked if f.startswith(prefix)]
        return staging_errors((posixpath.relpath(tsconfig, dest), files))

    def judge(check: ProjectCheck, tsconfig: str, own: bool) -> tuple[list[Finding], list[Finding]]:
        """The check's errors (those in files only earlier folders changed aside) and the
        new ones among them."""
        errors = [
            f
            for f in check.findings
            if f.severity == "error" and not (f.file in earlier and f.file not in mine)
        ]
        if not errors:
            return errors, []
        if own:
            # Without a STAGING baseline (the source is outside the workspace) every error
            # of the folder's own project counts.
            if baseline is None:
                return errors, errors
            return errors, _new_in_folder(before_in_folder(check, tsconfig), errors, dest)
        if tsconfig not in before:
            config = (root / tsconfig).read_bytes() if tsconfig == narrow else None
            before[tsconfig] = project_baseline(tsconfig, config)
        return errors, diff_findings(before[tsconfig], errors).new

    moved: list[Path] | None = None
    for tsconfig, files in owned:
        if tsconfig == narrow:
            shown = ", ".join(sorted({posixpath.dirname(f) for f in root_owned}))
            out.projects.append(f"{TSCONFIG} (narrow: {shown})")
        else:
            out.projects.append(tsconfig)
        own = _inside(tsconfig, dest)
        if own:
            structure = None
            if baseline is not None:
                structure = baseline.structures.get(posixpath.relpath(tsconfig, dest))
            if structure is None:
                # No before-picture of this program's structure (the CLI took the baseline,
                # or the config is new): nothing says which files the move left as they were.
                scope = None
            else:
                if moved is None:
                    moved = _differing(root, dest, baseline.folder) if baseline else []
                same_as = None
                if source_root is not None and baseline is not None:
                    where = source_root.resolve() / baseline.folder
                    same_as = (where / posixpath.relpath(tsconfig, dest), where)
                scope = Scope(
                    changed=moved, folder=root / dest, structure=structure, same_as=same_as
                )
        else:
            scope = Scope(changed=[root / p for p in sorted(mine | set(earlier))])

        check = check_project(root, tsconfig, files, scope=scope)
        errors, new = judge(check, tsconfig, own)
        if new and check.scope == SCOPE_AFFECTED:
            # The narrowed check is the fast path to "nothing new"; a new error is judged on
            # the whole program, as the before-picture was taken.
            check = check_project(root, tsconfig, files)
            errors, new = judge(check, tsconfig, own)
        out.scopes[out.projects[-1]] = check.scope if check.scope == SCOPE_AFFECTED else check.why
        out.new.extend(new)
        out.preexisting += len(errors) - len(new)
    out.seconds = time.monotonic() - started
    return out


def _differing(root: Path, dest: str, source: str) -> list[Path]:
    """The files under `dest` whose content is not the one at the same place under `source`
    (the folder's STAGING folder), and those `source` has that `dest` lacks."""
    here, there = root / dest, root / source
    out: list[Path] = []
    seen: set[str] = set()
    for top, dirs, files in os.walk(here):
        dirs[:] = [d for d in dirs if d != "node_modules"]
        for name in files:
            path = Path(top, name)
            rel = path.relative_to(here).as_posix()
            seen.add(rel)
            original = there / rel
            if not original.is_file() or original.read_bytes() != path.read_bytes():
                out.append(path)
    for top, dirs, files in os.walk(there):
        dirs[:] = [d for d in dirs if d != "node_modules"]
        for name in files:
            rel = Path(top, name).relative_to(there).as_posix()
            if rel not in seen:
                out.append(here / rel)
    return sorted(out)


# A module path in a message (`import("…/node_modules/vite/…")`) is spelled from where tsc
# ran: absolute or relative, the STAGING folder's or the destination's nested node_modules.
_MODULE_PATH = re.compile(r"""(["'])[^"'\s]*?node_modules/""")


def _same_everywhere(finding: Finding) -> Finding:
    """The finding with module paths in its message spelled the same wherever tsc ran."""
    return finding.model_copy(
        update={"message": _MODULE_PATH.sub(r"\1node_modules/", finding.message)}
    )


def _new_in_folder(
    before: Sequence[Finding], errors: Sequence[Finding], dest: str
) -> list[Finding]:
    """The errors the folder did not have in STAGING (`before`, relative to the folder);
    errors outside the folder are new."""
    recorded = Baseline(
        tool=TOOL,
        created=datetime.now(UTC),
        findings=[
            BaselineFinding(
                **moved.model_dump(exclude={"fingerprint"}), fingerprint=fingerprint(moved)
            )
            for moved in map(_same_everywhere, before)
        ],
    )
    inside = [e for e in errors if _inside(e.file or "", dest)]
    outside = [e for e in errors if not _inside(e.file or "", dest)]
    relative = [_same_everywhere(to_folder_relative(e, dest)) for e in inside]
    by_relative = {id(r): e for r, e in zip(relative, inside, strict=True)}
    new = diff_findings(recorded, relative).new
    # Reported with the path the file has in the workspace, not the folder-relative one.
    kept = [by_relative.get(id(f)) for f in new]
    return [f for f in kept if f is not None] + outside
