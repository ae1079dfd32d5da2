"""The real corpus, prepared as the epic will prepare it: every STAGING folder joins the
target's workspaces (one journaled batch), ONE install runs, then each folder's STAGING
baseline is taken with its own tsconfig.

    uv run --frozen python bench/real_epic_prep.py [--real DIR] [--jobs N] [--keep]

Copies `../shared/fixtures/real` to a temporary folder first (never runs in place) and prints
a table: folder, tsconfig(s), baseline errors, time; then the install time and the total.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.migrate.workspaces import (  # noqa: E402
    InstallOutcome,
    covered,
    detect_layout,
    install,
    join_workspace,
)
from engine.patch.apply import apply_batch, rollback_batch  # noqa: E402
from engine.settings import load_settings  # noqa: E402
from engine.validate.staging_baseline import FolderBaseline, take_staging_baseline  # noqa: E402
from engine.workspace import Workspace  # noqa: E402

DEFAULT_REAL = ROOT.parent / "shared" / "fixtures" / "real"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--timeout", type=float, default=1800, help="install timeout, seconds")
    parser.add_argument(
        "--reuse", type=Path, help="a target a previous --keep run left (its npm cache warm)"
    )
    args = parser.parse_args()

    started = time.monotonic()
    if args.reuse is not None:
        root = args.reuse.resolve()
        tmp = root.parent
    else:
        tmp = Path(tempfile.mkdtemp(prefix="vibehq-real-"))
        root = tmp / "target"
        shutil.copytree(args.real / "target", root)
        shutil.copytree(args.real / "STAGING", root / "STAGING")
    folders = sorted(
        f"STAGING/{p.name}" for p in (root / "STAGING").iterdir() if (p / "package.json").is_file()
    )
    print(f"copied to {root}: {len(folders)} STAGING folders with a package.json")

    ws, settings = Workspace.open(root), load_settings(root)
    members, waiting = list(folders), {}
    if args.reuse is not None:
        # The earlier run already left blocked folders out of the workspace.
        layout = detect_layout(root)
        members = [f for f in folders if any(covered(p, f) for p in layout.members)]
        waiting = {
            f: "needs-install: left out by the earlier run" for f in folders if f not in members
        }
    installs: list[InstallOutcome] = []
    while True:
        edit = join_workspace(root, members, requester="bench/real_epic_prep")
        batch_id = None
        if edit.batch is not None:
            batch_id = apply_batch(ws, edit.batch, settings).batch_id
            print(
                f"{edit.layout.manager} workspace ({edit.layout.reason}): {len(edit.added)}"
                f" added in batch {batch_id}, {len(edit.already)} already members"
            )
        for resolution in edit.resolutions:
            if resolution.kind != "dependency-range":
                print(f"  resolution [{resolution.kind}] {resolution.detail}")
        ranges = sum(1 for r in edit.resolutions if r.kind == "dependency-range")
        print(f"  {ranges} dependencies declared with different ranges (kept per member)")
        outcome = install(root, members, timeout=args.timeout)
        installs.append(outcome)
        print(
            f"install: {outcome.status} in {outcome.seconds:.1f} s: {' '.join(outcome.command)}"
            + (f" ({outcome.reason})" if outcome.reason else "")
        )
        if not outcome.blocked or batch_id is None:
            break
        # The registry lacks a dependency of these folders: they wait with that named
        # item, and the rest are installed without them (one more install, not one each).
        for folder, item in outcome.blocked.items():
            print(f"  {folder} waits: {item}")
        waiting.update(outcome.blocked)
        rollback_batch(ws, batch_id, settings)
        members = [f for f in members if f not in waiting]
    if outcome.status != "installed":
        print(outcome.log_tail)
    install_s = sum(o.seconds for o in installs)

    baselines_started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda f: _baseline(root, f), members))
    baselines_s = time.monotonic() - baselines_started

    name_w = max(len(f) for f in folders) - len("STAGING/")
    print()
    print(f"{'folder':<{name_w}}  {'tsconfig':<40}  {'errors':>6}  {'time':>6}")
    for folder, item in waiting.items():
        name = folder.removeprefix("STAGING/")
        print(f"{name:<{name_w}}  {'-':<40}  {'wait':>6}  {'-':>6}  {item}")
    for folder, result in zip(members, results, strict=True):
        name = folder.removeprefix("STAGING/")
        if isinstance(result, str):
            print(f"{name:<{name_w}}  {'-':<40}  {'fail':>6}  {'-':>6}  {result}")
            continue
        configs = ", ".join(result.tsconfigs)
        if len(configs) > 40:
            configs = configs[:37] + "..."
        failed = " (tool failed)" if result.tool_failed else ""
        print(
            f"{name:<{name_w}}  {configs:<40}  {result.errors:>6}  {result.seconds:>5.1f}s{failed}"
        )
    baselined = [r for r in results if isinstance(r, FolderBaseline)]
    clean = sum(1 for r in baselined if r.errors == 0)
    print()
    print(
        f"folders: {len(folders)}; baselines: {len(baselined)}; with 0 errors: {clean};"
        f" waiting: {len(waiting)}"
    )
    print(
        f"install: {install_s:.1f} s in {len(installs)} run(s) ({outcome.status});"
        f" waiting on needs-install: {len(waiting)}"
    )
    print(f"baselines: {baselines_s:.1f} s with {args.jobs} jobs")
    print(f"total: {time.monotonic() - started:.1f} s")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept: {root}")
    return 0


def _baseline(root: Path, folder: str) -> FolderBaseline | str:
    try:
        return take_staging_baseline(root, folder)
    except Exception as exc:  # one folder's failure is a row in the table, not the end
        return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    raise SystemExit(main())
