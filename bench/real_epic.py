"""The whole epic on the real corpus, with no model: 37 Cloudflare Workers templates of
`../shared/fixtures/real/STAGING` into the seed monorepo `../shared/fixtures/real/target`.

    uv run --frozen python bench/real_epic.py [--real DIR] [--jobs N] [--folders GLOB] [--keep]

It copies both to a temporary folder (STAGING inside the target, as the seed has it; never
in place), installs the monorepo as its user would (`npm install` at the root) and records
the root tsc baseline, then runs `vibehq epic run` over `manifests/staging-template.yaml` with
`--auto-approve safe` and no model. It prints each folder's outcome grouped by cause
(applied, waiting for a human, waiting for a model, waiting on the install, failed and why),
the new errors against each folder's STAGING baseline, the root check (against the root
baseline recorded before the run, and against the root program right after the run's
preparation, whose install moves what the root program sees in STAGING/), the install's
time and the epic's time without it. `--folders` takes several globs separated by commas.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.epic.models import RUN_FOLDER, EpicOptions, EpicRun  # noqa: E402
from engine.epic.runner import EpicRunner  # noqa: E402
from engine.epic.spec import load_epic  # noqa: E402
from engine.epic.workspace_step import MEMBERS_STEP, WORKSPACE_STEP  # noqa: E402
from engine.migrate.workspaces import NPM_INSTALL  # noqa: E402
from engine.patch.validation import Finding  # noqa: E402
from engine.settings import load_settings  # noqa: E402
from engine.validate.baseline import (  # noqa: E402
    Baseline,
    BaselineFinding,
    diff_findings,
    fingerprint,
    load_baseline,
)
from engine.validate.baseline_first import ensure_tsc_baseline  # noqa: E402
from engine.validate.run import make_batch_validator  # noqa: E402
from engine.validate.tsc import TscValidator  # noqa: E402
from engine.workspace import Workspace  # noqa: E402

DEFAULT_REAL = ROOT.parent / "shared" / "fixtures" / "real"
TEMPLATE = ROOT / "manifests" / "staging-template.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--folders", help="glob over the STAGING folder names")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument(
        "--setup-from",
        type=Path,
        help="a target a --keep run left: its node_modules and root baseline are copied"
        " instead of installing the monorepo and recording the baseline again",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vibehq-real-epic-"))
    root = tmp / "target"
    shutil.copytree(args.real / "target", root)
    shutil.copytree(args.real / "STAGING", root / "STAGING")
    print(f"copied to {root}")

    ws, settings = Workspace.open(root), load_settings(root)
    ws.ensure_state_dir()
    started = time.monotonic()
    if args.setup_from is not None:
        shutil.copytree(args.setup_from / "node_modules", root / "node_modules", symlinks=True)
        shutil.copytree(args.setup_from / ".vibehq" / "baseline", root / ".vibehq" / "baseline")
        setup_s = time.monotonic() - started
        print(f"user setup: copied from {args.setup_from} in {setup_s:.1f} s")
    else:
        setup = subprocess.run(
            ["npm", *NPM_INSTALL], cwd=root, capture_output=True, text=True, check=False
        )
        setup_s = time.monotonic() - started
        print(f"user setup: npm install at the root: exit {setup.returncode} in {setup_s:.1f} s")
        if setup.returncode != 0:
            print(setup.stdout[-2000:], setup.stderr[-2000:])
            return 1
    started = time.monotonic()
    ensure_tsc_baseline(ws, settings)
    root_baseline_s = time.monotonic() - started
    before = load_baseline(ws, "tsc")
    print(
        f"root tsc baseline: {len(before.findings) if before else 0} findings"
        f" in {root_baseline_s:.1f} s"
    )

    spec_path = tmp / "epic.yaml"
    spec_path.write_text(
        json.dumps(
            {"name": "real corpus", "staging": str(root / "STAGING"), "template": str(TEMPLATE)}
        ),
        encoding="utf-8",
    )
    spec, label = load_epic(str(spec_path), ws, None)
    options = EpicOptions(auto_approve="safe", folders=args.folders, jobs=args.jobs)
    started = time.monotonic()
    run = EpicRunner.create(ws, settings, spec, source=label, options=options, tasks_path=None)
    runner = EpicRunner(
        ws, settings, run, tasks_path=None, validator=make_batch_validator(ws, settings)
    )
    marks: dict[str, float] = {}
    # The root program after the run's preparation (its install moves what the root program
    # sees in STAGING/): the like-with-like picture the root check is judged against too.
    runner.prepare_workspace()
    marks["preparation"] = time.monotonic() - started
    root_tsc = TscValidator(root, tsconfig=settings.patch.tsconfig, incremental=True)
    prepared = _errors(root_tsc.validate(root, []).findings)
    picture_s = time.monotonic() - started - marks["preparation"]
    started += picture_s  # the bench's own picture is not the epic's time
    runner.prepare()
    marks["prepare"] = time.monotonic() - started
    runner.decide()
    runner.apply()
    marks["apply"] = time.monotonic() - started
    runner.update_plan()
    summary = runner.finish()
    epic_s = time.monotonic() - started
    final = EpicRunner.load(ws, run.run_id)

    started = time.monotonic()
    after_errors = _errors(root_tsc.validate(root, []).findings)
    root_check_s = time.monotonic() - started
    recorded = Baseline(
        tool="tsc",
        created=datetime.now(UTC),
        findings=[BaselineFinding(**f.model_dump(), fingerprint=fingerprint(f)) for f in prepared],
    )
    since_prep = diff_findings(recorded, after_errors).new

    _print_table(final)
    prep = final.step(RUN_FOLDER, WORKSPACE_STEP)
    prep_data = prep.data if prep is not None else {}
    installs = prep_data.get("install", [])
    install_s = sum(float(i.get("seconds") or 0) for i in installs)
    print()
    for line in prep_data.get("resolutions", []):
        print(f"resolution: {line}")
    for i in installs:
        reason = f" ({i['reason']})" if i.get("reason") else ""
        print(f"install: {i['command']}: {i['status']} in {i['seconds']} s{reason}")
    members = final.step(RUN_FOLDER, MEMBERS_STEP)
    if members is not None:
        moved = members.data.get("moved", {})
        done = members.data.get("install") or {}
        print(
            f"after apply: {len(moved)} members moved from STAGING to their destination;"
            f" install {done.get('status', '-')} in {done.get('seconds', '-')} s"
        )
    prep_s = (prep.duration_ms or 0) / 1000 if prep is not None else 0.0
    root_new = after_errors if before is None else diff_findings(before, after_errors).new
    in_staging = sum(1 for f in root_new if (f.file or "").startswith("STAGING/"))
    print(
        f"root check: {len(root_new)} new errors against the root baseline"
        f" ({in_staging} of them in STAGING/, whose dependencies the run installed;"
        f" {len(root_new) - in_staging} elsewhere) in {root_check_s:.1f} s"
    )
    for f in [f for f in root_new if not (f.file or "").startswith("STAGING/")][:10]:
        print(f"  {f.file}:{f.line} {f.code} {f.message}")
    print(
        f"root check against the root program right after the run's preparation (taken in"
        f" {picture_s:.1f} s): {len(since_prep)} new errors"
    )
    for f in since_prep[:10]:
        print(f"  {f.file}:{f.line} {f.code} {f.message}")
    print(f"summary: {summary.status}: {summary.message}")
    print(
        f"times: user setup install {setup_s:.1f} s, root baseline {root_baseline_s:.1f} s;"
        f" epic {epic_s:.1f} s with {args.jobs} jobs, of which the run's install {install_s:.1f} s"
        f" -> epic without the install {epic_s - install_s:.1f} s"
    )
    print(
        f"  epic phases: workspace preparation {prep_s:.1f} s (the install, the folders' plan,"
        f" migrate and refactor alongside it), gates with their STAGING baselines"
        f" {marks['prepare'] - marks['preparation']:.1f} s, decide+apply"
        f" {marks['apply'] - marks['prepare']:.1f} s, tasks+finish {epic_s - marks['apply']:.1f} s"
    )
    if args.keep:
        print(f"kept: {root}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def _cause(run: EpicRun, folder: str) -> tuple[str, str]:
    def step(name: str) -> tuple[str | None, dict[str, Any]]:
        record = run.step(folder, name)
        return (None, {}) if record is None else (record.status, record.data)

    for name in ("plan", "migrate", "refactor", "gate", "approve", "apply"):
        status, data = step(name)
        if status == "failed":
            return "failed", f"{name}: {data.get('error') or 'failed'}"
        if status == "waiting":
            if data.get("needs_install"):
                return "waiting on the install", str(data["needs_install"])
            if data.get("prep_failed"):
                return "waiting on the run's preparation", str(data["prep_failed"])
            if name == "gate":
                return "waiting for a model", str(data.get("why", ""))
            return "waiting for a human (gate green)", str(data.get("why", ""))
    if step("apply")[0] == "done":
        return "applied", ""
    if step("gate")[1].get("unchanged"):
        return "unchanged", ""
    return "not finished", ""


def _print_table(run: EpicRun) -> None:
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for folder in run.folders:
        cause, why = _cause(run, folder)
        groups[cause].append((folder, why))
    width = max((len(f) for f in run.folders), default=10)
    print()
    # base: the folder's STAGING errors, "-" when no check needed them (a destination with no
    # error in what it checked); scoped: the folder's checked projects narrowed to the files
    # the change affects (engine/validate/tsc_scope.py), of those checked.
    print(f"{'folder':<{width}}  {'base':>4}  {'new':>3}  {'tsc s':>6}  {'scoped':>6}  detail")
    for cause in sorted(groups, key=lambda c: (c != "applied", c)):
        print(f"-- {cause}: {len(groups[cause])}")
        for folder, why in groups[cause]:
            gate = run.step(folder, "gate")
            data = gate.data if gate is not None else {}
            base = _baseline_errors(run, folder)
            new = data.get("tsc_new_errors", "-")
            seconds = str(data.get("tsc_seconds", "-"))
            scoped = _scoped(str(data.get("tsc_summary", "")))
            print(
                f"{folder:<{width}}  {base:>4}  {new!s:>3}  {seconds:>6}  {scoped:>6}  {why[:150]}"
            )
            for line in data.get("new_errors", [])[:5]:
                print(f"{'':<{width}}    new: {line[:160]}")


def _scoped(summary: str) -> str:
    """ "narrowed/checked" from a gate's `tsc -p A (affected files), B: ...` summary."""
    if not summary.startswith("tsc -p "):
        return "-"
    # A narrow program's name lists its folders in parentheses, with a colon and commas.
    plain = re.sub(r"\(narrow: [^)]*\)", "(narrow)", summary[len("tsc -p ") :])
    listed = plain.split(": ", 1)[0]
    return f"{listed.count('(affected files)')}/{len(listed.split(', '))}"


def _baseline_errors(run: EpicRun, folder: str) -> str:
    gate = run.step(folder, "gate")
    entry = gate.data.get("baseline") or {} if gate is not None else {}
    return str(entry.get("errors", "-"))


if __name__ == "__main__":
    raise SystemExit(main())
