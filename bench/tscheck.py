"""STAGING baselines of the real corpus through the tsc CLI and through the tsc server.

    uv run --frozen python bench/tscheck.py --setup-from DIR [--real DIR] [--folders GLOB]
        [--jobs N] [--servers N] [--modes cli,server]

It copies `../shared/fixtures/real/target` and its `STAGING` folders to a temporary folder
(STAGING inside the target, as the epic has it; never in place) and links the node_modules
of DIR (a target a `bench/real_epic.py --keep` run left, with everything installed) into
the copy: the root's and each STAGING folder's, never writing into DIR. Then it runs
`take_staging_baseline` over every folder once per mode (`VIBEHQ_TSC=cli`, then the server,
started cold), `--jobs` folders at a time as the epic's prepare does, and prints each
folder's time per mode and whether the two modes found the same fingerprints, then the
totals.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.validate.staging_baseline import FolderBaseline, take_staging_baseline  # noqa: E402
from engine.validate.tsc_server import MODE_ENV, SERVERS_ENV, close_all  # noqa: E402

DEFAULT_REAL = ROOT.parent / "shared" / "fixtures" / "real"


def copy_corpus(real: Path, setup_from: Path, tmp: Path) -> Path:
    root = tmp / "target"
    shutil.copytree(real / "target", root)
    shutil.copytree(real / "STAGING", root / "STAGING")
    for path in [root, *root.rglob("*")]:
        # The fixtures may be read-only; the copy is ours to write .vibehq/ into.
        path.chmod(path.stat().st_mode | 0o200)
    (root / "node_modules").symlink_to(setup_from / "node_modules")
    for folder in (root / "STAGING").iterdir():
        installed = setup_from / "STAGING" / folder.name / "node_modules"
        if installed.is_dir() and not (folder / "node_modules").exists():
            (folder / "node_modules").symlink_to(installed)
    return root


def run_mode(
    root: Path, folders: list[str], mode: str, jobs: int
) -> tuple[float, dict[str, FolderBaseline]]:
    os.environ[MODE_ENV] = mode
    close_all()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(
            pool.map(lambda folder: take_staging_baseline(root, f"STAGING/{folder}"), folders)
        )
    total = time.monotonic() - started
    close_all()
    return total, dict(zip(folders, results, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--setup-from", type=Path, required=True)
    parser.add_argument("--folders", default="*", help="glob over the STAGING folder names")
    parser.add_argument("--jobs", type=int, default=1, help="folders checked at a time")
    parser.add_argument("--servers", type=int, default=2, help="server processes (pool size)")
    parser.add_argument("--modes", default="cli,server")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--verbose", action="store_true", help="log each server request")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(format="%(message)s")
        logging.getLogger("engine.validate.tsc_server").setLevel(logging.DEBUG)

    os.environ[SERVERS_ENV] = str(args.servers)
    tmp = Path(tempfile.mkdtemp(prefix="vibehq-tscheck-"))
    try:
        root = copy_corpus(args.real, args.setup_from.resolve(), tmp)
        folders = sorted(
            p.name
            for p in (root / "STAGING").iterdir()
            if p.is_dir() and fnmatch.fnmatch(p.name, args.folders)
        )
        print(f"{len(folders)} folders in {root}, jobs {args.jobs}, servers {args.servers}")
        modes = args.modes.split(",")
        totals: dict[str, float] = {}
        results: dict[str, dict[str, FolderBaseline]] = {}
        for mode in modes:
            totals[mode], results[mode] = run_mode(root, folders, mode, args.jobs)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"{mode}: {totals[mode]:.1f} s (largest child process so far {peak_mb:.0f} MB)")
        print(f"\n{'folder':45} " + " ".join(f"{m:>8}" for m in modes) + "  findings  same")
        differing = 0
        for folder in folders:
            prints = [sorted(f.fingerprint for f in results[m][folder].findings) for m in modes]
            same = all(p == prints[0] for p in prints)
            differing += not same
            times = " ".join(f"{results[m][folder].seconds:8.1f}" for m in modes)
            failed = any(results[m][folder].tool_failed for m in modes)
            flag = ("yes" if same else "NO") + (" (tool failed)" if failed else "")
            print(f"{folder:45} {times}  {len(prints[0]):8}  {flag}")
        print(
            "\ntotal: "
            + ", ".join(f"{m} {totals[m]:.1f} s" for m in modes)
            + f"; folders with different findings: {differing}"
        )
        return 1 if differing else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
