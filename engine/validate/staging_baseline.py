"""A per-folder baseline taken in STAGING, before the move: the errors a folder already had.

The folder is type-checked where it stands, with its own tsconfig (and its dependencies
installed), and its findings are recorded with paths relative to the folder. After the move,
`new_against` maps the findings in the folder's destination back to folder-relative paths and
keeps only those not in the baseline (fingerprint: tool, relative file, code and message, as
the workspace baseline has it), each rendered as `file:line code message`.

With the tsc server, a gate takes the baseline in two steps, each only as far as its verdict
needs (`engine/epic/project_gate.py`): first each program's structure alone (`check=False`:
the program is built shallow, its packages' files read as empty, and kept by the server for
the destination's check to compare with; nothing is checked), then, only when the check at
the destination finds errors, the findings of the files that check checked
(`staging_findings`) or of the whole folder (`check=True`). A destination with no error in
what it checked has no new one, whatever the folder had before.

A solution-style tsconfig (`files: []` with `references`) is checked through the configs it
references. A folder without a tsconfig is checked with a temporary one, kept under
`.vibehq/`, that extends the workspace's base: nothing is written into STAGING.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from engine.patch.validation import Finding
from engine.validate.baseline import Baseline, BaselineFinding, diff_findings, fingerprint
from engine.validate.projects import (
    TSCONFIG,
    base_tsconfig,
    find_tsc,
    load_project,
    project_hash,
    run_tsc,
)
from engine.validate.tsc import parse_tsc_output
from engine.validate.tsc_scope import SCOPE_NONE, Scope
from engine.validate.tsc_server import run_scoped
from engine.workspace import STATE_DIR

TOOL = "tsc"


class FolderBaseline(BaseModel):
    folder: str = Field(description="the folder as it stands, relative to the workspace")
    tsconfigs: list[str] = Field(description="configs checked, relative to the folder")
    created: datetime
    seconds: float
    findings: list[BaselineFinding] = Field(description="paths relative to the folder")
    tool_failed: bool = False
    findings_taken: bool = Field(
        default=True,
        description="False when only the programs' structures were taken (`check=False`):"
        " `findings` is then empty until a check needs them",
    )
    structures: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="each checked program's structure (tsc_scope), by its config's path"
        " relative to the folder the destination mirrors; only when the tsc server ran",
    )

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def leaf_configs(folder: Path) -> list[Path]:
    """The configs `tsc -p` must be run on to check the folder's own code."""
    config = folder / TSCONFIG
    if not config.is_file():
        return []
    project = load_project(config)
    solution = project.files == [] or (project.include == [] and not project.files)
    if project.references and solution:
        return project.references
    return [config.resolve()]


def take_staging_baseline(
    root: Path,
    folder: str,
    *,
    timeout_s: float = 300,
    base: str | None = None,
    top: str | None = None,
    check: bool = True,
) -> FolderBaseline:
    """Type-check `folder` (workspace-relative) with its own tsconfig and record its findings,
    and each program's structure (`tsc_scope`) keyed by its config's path relative to `top`
    (the folder the destination mirrors; `folder` itself by default). With `check=False` the
    tsc server records only the structures (the CLI, which cannot, checks everything)."""
    root = root.resolve()
    here = (root / folder).resolve()
    structure_root = (root / (top or folder)).resolve()
    started = time.monotonic()
    configs = leaf_configs(here) or [_temporary_config(root, folder, base)]
    tsc = find_tsc(root, here)
    findings: list[Finding] = []
    structures: dict[str, dict[str, str]] = {}
    failed = False
    taken = True
    for config in configs:
        try:
            run = run_tsc(
                tsc,
                config,
                cwd=here,
                buildinfo=None,
                timeout_s=timeout_s,
                # A structure alone is taken for the gate's check, which comes next.
                scope=Scope(folder=structure_root, check=check, keep=not check),
            )
            found = run.findings
            taken = taken and run.scope != SCOPE_NONE
            if run.structure:
                structures[_relative(config, structure_root)] = run.structure
        except subprocess.TimeoutExpired:
            found = [Finding(tool=TOOL, message=f"tsc timed out after {timeout_s:g}s")]
        failed = failed or any(f.file is None and f.code is None for f in found)
        findings.extend(found)
    unique: dict[tuple[object, ...], Finding] = {}
    for f in findings:
        # Two referenced configs may both include a shared file: one finding, not two.
        unique.setdefault((f.file, f.line, f.column, f.code, f.message), f)
    return FolderBaseline(
        folder=folder,
        tsconfigs=[_relative(config, here) for config in configs],
        created=datetime.now(UTC),
        seconds=round(time.monotonic() - started, 3),
        findings=[
            BaselineFinding(**f.model_dump(), fingerprint=fingerprint(f)) for f in unique.values()
        ],
        tool_failed=failed,
        findings_taken=taken,
        structures=structures,
    )


def staging_findings(
    root: Path, folder: str, config: str, files: Sequence[str], *, timeout_s: float = 300
) -> list[Finding] | None:
    """The errors `files` have where `folder` stands, in the program of `config` (both relative
    to the folder), found by checking only those files, with paths relative to the folder. The
    destination's check checks them the same way (from the workspace root, the config named
    absolutely), so like compares with like. None when the tsc server is not running (the
    CLI cannot narrow a check: the caller takes the whole baseline instead)."""
    here = (root / folder).resolve()
    path = here / config
    served = run_scoped(
        find_tsc(root, path.parent),
        path,
        cwd=root.resolve(),
        timeout_s=timeout_s,
        scope=Scope(only=[here / f for f in files]),
    )
    if served is None:
        return None
    found = parse_tsc_output(served.output, root=root.resolve())
    return [to_folder_relative(f, folder) for f in found if f.severity == "error"]


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def _temporary_config(root: Path, folder: str, base: str | None) -> Path:
    base = base if base is not None else base_tsconfig(root)
    here = (root / folder).resolve()
    data: dict[str, object] = {
        "include": [f"{here}/**/*.ts", f"{here}/**/*.tsx"],
        "exclude": [f"{here}/node_modules", f"{here}/dist"],
    }
    if base is not None:
        data["extends"] = str((root / base).resolve())
    path = root.joinpath(STATE_DIR, "tsc", "staging-" + project_hash(folder), TSCONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def to_folder_relative(finding: Finding, folder_dest: str) -> Finding:
    """A finding from the migrated tree, with its file (and paths in its message) relative to
    the folder's destination, so it compares with the STAGING baseline."""
    prefix = folder_dest.rstrip("/") + "/"
    file = finding.file
    if file is not None and file.startswith(prefix):
        file = file[len(prefix) :]
    return finding.model_copy(update={"file": file, "message": finding.message.replace(prefix, "")})


def render(finding: Finding, folder_dest: str | None = None) -> str:
    file = finding.file or "(no file)"
    if folder_dest is not None and finding.file is not None:
        file = f"{folder_dest.rstrip('/')}/{finding.file}"
    where = f"{file}:{finding.line}" if finding.line is not None else file
    return f"{where} {finding.code or '-'} {' '.join(finding.message.split())}"


def new_against(
    baseline: FolderBaseline, findings_after: Sequence[Finding], folder_dest: str
) -> list[str]:
    """The errors in `findings_after` (workspace-relative) that the folder did not have in
    STAGING, each as `file:line code message` with the file as it is in the workspace.
    Findings outside the folder's destination are never in its baseline, so they are new."""
    prefix = folder_dest.rstrip("/") + "/"
    errors = [f for f in findings_after if f.severity == "error"]
    inside = [
        to_folder_relative(f, folder_dest) for f in errors if (f.file or "").startswith(prefix)
    ]
    outside = [f for f in errors if not (f.file or "").startswith(prefix)]
    recorded = Baseline(tool=TOOL, created=baseline.created, findings=baseline.findings)
    new = diff_findings(recorded, inside).new
    return [render(f, folder_dest) for f in new] + [render(f) for f in outside]
