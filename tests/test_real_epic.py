"""The epic on real workers in a real monorepo: the run's workspace preparation (membership,
tsconfig excludes, one install, STAGING baselines), the per-project gate judged against each
folder's STAGING baseline, and a run with no registry that waits instead of failing."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from engine.epic.models import RUN_FOLDER, EpicOptions
from engine.epic.runner import EpicRunner, EpicSummary
from engine.epic.spec import load_epic
from engine.epic.workspace_step import WORKSPACE_STEP
from engine.migrate.workspaces import NPM_INSTALL
from engine.patch.validation import BatchValidator
from engine.settings import load_settings
from engine.validate.projects import exclude_folders_ops, read_jsonc
from engine.workspace import Workspace
from tests.conftest import ROOT, SHARED, write

REAL = SHARED / "fixtures" / "real"
TEMPLATE = ROOT / "manifests" / "staging-template.yaml"


def run_epic(
    root: Path, *, validator: BatchValidator | None, jobs: int = 2
) -> tuple[EpicRunner, EpicSummary]:
    spec_path = root.parent / "epic.yaml"
    spec_path.write_text(
        json.dumps({"name": "real", "staging": str(root / "STAGING"), "template": str(TEMPLATE)}),
        encoding="utf-8",
    )
    ws, settings = Workspace.open(root), load_settings(root)
    spec, label = load_epic(str(spec_path), ws, None)
    run = EpicRunner.create(
        ws, settings, spec, source=label, options=EpicOptions(jobs=jobs), tasks_path=None
    )
    runner = EpicRunner(ws, settings, run, tasks_path=None, validator=validator, jobs=jobs)
    runner.prepare()
    runner.decide()
    runner.apply()
    summary = runner.finish()
    return runner, summary


def small_target(root: Path) -> Path:
    write(
        root,
        "package.json",
        '{\n  "name": "mono",\n  "private": true,\n  "workspaces": [\n    "orchestrator"\n  ]\n}\n',
    )
    write(root, "orchestrator/package.json", '{"name": "orchestrator"}\n')
    write(
        root,
        "tsconfig.json",
        '{\n  "compilerOptions": {"strict": true, "noEmit": true},\n'
        '  "include": ["**/*.ts"],\n  "exclude": ["node_modules", "**/*.d.ts"]\n}\n',
    )
    write(
        root, "STAGING/worker/package.json", '{"name": "worker", "dependencies": {"hono": "^4"}}\n'
    )
    write(root, "STAGING/worker/src/index.ts", "export const answer: number = 42;\n")
    write(root, "STAGING/worker/tsconfig.json", '{"compilerOptions": {"strict": true}}\n')
    return root


# --- fast -------------------------------------------------------------------------------------


def test_many_folders_excluded_from_a_root_tsconfig_make_one_edit(tmp_path: Path) -> None:
    root = small_target(tmp_path / "t")
    ops = exclude_folders_ops(root, ["apps/b", "apps/a"])
    assert [op.file for op in ops] == ["tsconfig.json"]
    assert json.loads(ops[0].block or "")["exclude"] == [
        "node_modules",
        "**/*.d.ts",
        "apps/a",
        "apps/b",
    ]
    # A folder the root tsconfig already leaves out needs no edit.
    assert exclude_folders_ops(root, ["node_modules/x"]) == []


@pytest.fixture
def offline_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`small_target` with npm pointed at a registry nothing listens on."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    return small_target(tmp_path / "t")


def test_no_registry_the_run_waits_on_needs_install_and_nothing_fails(
    offline_target: Path,
) -> None:
    root = offline_target
    runner, summary = run_epic(root, validator=None)
    assert summary.failed == {}
    assert summary.status == "paused"
    assert summary.folders == {"worker": "waiting"}
    gate = runner.run.step("worker", "gate")
    assert gate is not None and gate.status == "waiting"
    assert str(gate.data["needs_install"]).startswith("needs-install: npm install")
    assert "127.0.0.1" in gate.data["needs_install"]
    assert "1 folders wait on the install (needs-install: npm install" in summary.message
    # The run's preparation batch landed (journaled): membership and the root exclude.
    assert json.loads((root / "package.json").read_text())["workspaces"] == [
        "orchestrator",
        "STAGING/worker",
    ]
    assert "apps/worker" in read_jsonc(root / "tsconfig.json")["exclude"]
    prep = runner.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert prep is not None and prep.status == "done" and len(prep.data["batches"]) == 1
    assert not (root / "apps/worker").exists()

    # The same runner preparing again (a caller's second `prepare()`) does not install again.
    runner.prepare()
    same = runner.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert same is not None and same.started_at == prep.started_at

    # Resumed (a new runner, as `vibehq epic resume` makes) with the registry still
    # unreachable: it tries the install again and waits again, still not failed, and the
    # membership is not added a second time.
    run = EpicRunner.load(runner.ws, runner.run.run_id)
    resumed = EpicRunner(runner.ws, runner.settings, run, tasks_path=None, validator=None)
    resumed.prepare()
    again = resumed.finish()
    assert again.failed == {} and again.folders == {"worker": "waiting"}
    retried = resumed.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert retried is not None and retried.started_at > prep.started_at
    assert (
        json.loads((root / "package.json").read_text())["workspaces"].count("STAGING/worker") == 1
    )


def test_folders_are_planned_migrated_and_refactored_while_the_install_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The install waits on the registry; the folders' own work does not wait for it. The
    `npm` on PATH here is a script that answers `install` only once it sees the folder's
    refactor recorded (or after 60 s), and says which it saw."""
    root = small_target(tmp_path / "t")
    registry = socket.socket()
    registry.bind(("127.0.0.1", 0))
    registry.listen()
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{registry.getsockname()[1]}/")
    saw = tmp_path / "saw"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        "for _ in $(seq 600); do\n"
        "  if ls .vibehq/runs/*/folders/worker/refactor.json >/dev/null 2>&1; then\n"
        f"    echo refactored > {saw}; exit 0\n"
        "  fi\n"
        "  sleep 0.1\n"
        "done\n"
        f"echo nothing > {saw}\n",
        encoding="utf-8",
    )
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    try:
        runner, summary = run_epic(root, validator=None)
    finally:
        registry.close()
    assert saw.read_text().strip() == "refactored"
    prep = runner.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert prep is not None and prep.data["install"][0]["status"] == "installed"
    refactor = runner.run.step("worker", "refactor")
    assert refactor is not None and refactor.status == "done"
    # Computed once: the prepare after the install found the steps done.
    assert refactor.finished_at is not None and prep.finished_at is not None
    assert refactor.finished_at < prep.finished_at
    assert summary.failed == {}


def test_a_failed_preparation_holds_every_folder_with_its_error_until_a_resume_fixes_it(
    offline_target: Path,
) -> None:
    root = offline_target
    good = (root / "package.json").read_text()
    (root / "package.json").write_text('{"name": "mono", "workspaces": [')
    runner, summary = run_epic(root, validator=None)
    prep = runner.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert prep is not None and prep.status == "failed"
    assert summary.status == "failed"
    assert summary.folders == {"worker": "waiting"}
    gate = runner.run.step("worker", "gate")
    assert gate is not None and gate.status == "waiting"
    assert "the run's workspace preparation failed" in gate.data["why"]
    assert "package.json" in gate.data["why"]
    # The folder did not run: nothing planned, migrated or checked.
    assert runner.run.step("worker", "plan") is None
    assert "the run's workspace preparation failed" in summary.message
    assert "vibehq epic resume" in summary.message

    # Fixed, then resumed: the preparation runs again and the folder goes on (to the
    # install, which waits on the unreachable registry here).
    (root / "package.json").write_text(good)
    runner.run = EpicRunner.load(runner.ws, runner.run.run_id)
    runner.prepare()
    again = runner.finish()
    prep = runner.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert prep is not None and prep.status == "done"
    gate = runner.run.step("worker", "gate")
    assert gate is not None and str(gate.data.get("needs_install", "")).startswith("needs-install")
    assert runner.run.step("worker", "plan") is not None
    assert again.status == "paused"


@pytest.mark.integration
def test_an_applied_folder_is_listed_by_its_destination_and_installed_once(
    tmp_path: Path,
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    from engine.approvals.queue import approve, list_items
    from engine.epic.workspace_step import MEMBERS_STEP
    from engine.ledger.store import Ledger

    root = small_target(tmp_path / "t")
    # No registry package: the installs link the members and write the lockfile only.
    (root / "STAGING/worker/package.json").write_text('{"name": "worker"}\n')
    runner, summary = run_epic(root, validator=None)
    assert summary.folders == {"worker": "waiting"}, summary
    assert json.loads((root / "package.json").read_text())["workspaces"] == [
        "orchestrator",
        "STAGING/worker",
    ]
    with Ledger.open(runner.ws.ledger_path) as ledger:
        for item in list_items(ledger, state="pending"):
            approve(ledger, item.id, by="a human", reason="looks right")
    runner.run = EpicRunner.load(runner.ws, runner.run.run_id)
    runner.prepare()
    runner.decide()
    runner.apply()
    summary = runner.finish()
    assert summary.folders == {"worker": "applied"}, summary
    assert json.loads((root / "package.json").read_text())["workspaces"] == [
        "orchestrator",
        "apps/worker",
    ]
    members = runner.run.step(RUN_FOLDER, MEMBERS_STEP)
    assert members is not None and members.status == "done", members
    assert members.data["moved"] == {"STAGING/worker": "apps/worker"}
    assert members.data["install"]["status"] == "installed"
    # The package now links to the destination; the edit is journaled with the run.
    assert (root / "node_modules" / "worker").resolve() == (root / "apps" / "worker").resolve()
    assert members.data["batches"]
    # Nothing more to move: a second apply phase records nothing new.
    runner.apply()
    again = runner.run.step(RUN_FOLDER, MEMBERS_STEP)
    assert again is not None and again.finished_at == members.finished_at


# --- real npm, real tsc -------------------------------------------------------------------------

# Two plain workers (one declares Env only in its worker-configuration.d.ts, which the root
# tsconfig excludes) and one that already has type errors in STAGING.
REAL_FOLDERS = ("hello-world-do-template", "chanfana-openapi-template", "worker-publisher-template")
ORCHESTRATOR_KEPT = frozenset({"drizzle-orm", "hono", "kysely", "kysely-d1", "nanoid", "zod"})


@pytest.mark.integration
def test_real_workers_join_install_are_baselined_and_land_with_no_new_error(
    tmp_path: Path,
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    import subprocess

    from engine.validate.run import make_batch_validator

    root = tmp_path / "target"
    shutil.copytree(REAL / "target", root)
    # The monorepo as its user has it, with only the tools the check needs (the real root
    # devDependencies take minutes to install and are not what this test is about).
    package = json.loads((root / "package.json").read_text())
    package["devDependencies"] = {
        "typescript": package["devDependencies"]["typescript"],
        "@cloudflare/workers-types": package["devDependencies"]["@cloudflare/workers-types"],
    }
    package.pop("dependencies", None)
    (root / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    # The same for the orchestrator's (1.8 GB with them): only the packages its entrypoints
    # import are kept. What the narrow program then misses, it misses before and after alike.
    orchestrator = json.loads((root / "orchestrator" / "package.json").read_text())
    orchestrator["dependencies"] = {
        name: version
        for name, version in orchestrator["dependencies"].items()
        if name in ORCHESTRATOR_KEPT
    }
    # Its `prepare` script runs husky, a devDependency.
    orchestrator.pop("devDependencies", None)
    orchestrator.pop("scripts", None)
    (root / "orchestrator" / "package.json").write_text(json.dumps(orchestrator, indent=2) + "\n")
    for name in REAL_FOLDERS:
        shutil.copytree(REAL / "STAGING" / name, root / "STAGING" / name)
    setup = subprocess.run(["npm", *NPM_INSTALL], cwd=root, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-2000:]
    ws, settings = Workspace.open(root), load_settings(root)
    ws.ensure_state_dir()
    # No root baseline is recorded first: a folder with a STAGING baseline is judged by its
    # own projects and the narrow program of the root-owned files, each against its own
    # before-picture, never by the root validator (a root-wide tsc run costs a minute here).
    runner, summary = run_epic(root, validator=make_batch_validator(ws, settings))
    assert not (root / ".vibehq" / "baseline").exists()
    assert summary.failed == {}, summary.failed
    prep = runner.run.step(RUN_FOLDER, WORKSPACE_STEP)
    assert prep is not None and prep.data["install"][-1]["status"] == "installed"
    assert prep.data["waiting"] == {}
    # Each folder's gate took its STAGING baseline first.
    for name in REAL_FOLDERS:
        gate = runner.run.step(name, "gate")
        assert gate is not None and "seconds" in gate.data["baseline"], (name, gate.data)
    for name in REAL_FOLDERS:
        assert summary.folders[name] in ("applied", "waiting"), (name, summary.folders)
        gate = runner.run.step(name, "gate")
        assert gate is not None
        if gate.status == "done":
            assert gate.data["tsc_new_errors"] == 0, gate.data
        else:
            # Only a needs-model item may hold a folder back, never the environment.
            assert gate.status == "waiting" and "needs-model" in gate.data["why"], gate.data
    # A folder whose check found errors it already had in STAGING is judged on what the
    # migration adds: its baseline's findings were taken for that.
    gates = {n: runner.run.step(n, "gate") for n in REAL_FOLDERS}
    had = [n for n, g in gates.items() if g is not None and g.data["baseline"].get("errors")]
    assert had, "the corpus changed: pick a folder whose check meets STAGING errors"
    for name in had:
        gate = gates[name]
        assert gate is not None and gate.data.get("tsc_new_errors", 0) == 0
        assert "0 already in the baseline" not in gate.data["tsc_summary"], gate.data
    # chanfana had errors in STAGING too, but arrives as it stood: what its gate checked has
    # none, so its STAGING findings (a 25 s check) were never needed.
    chanfana_gate = gates["chanfana-openapi-template"]
    assert chanfana_gate is not None
    assert chanfana_gate.data["baseline"].get("findings") == "not needed", chanfana_gate.data
    # A nested project (chanfana's tests/tsconfig.json) is in the folder's STAGING baseline,
    # since the gate checks its changed files with it.
    chanfana = next(j for j in runner.jobs if j.name == "chanfana-openapi-template")
    recorded = runner.staging_baseline(chanfana)
    assert recorded is not None and "tests/tsconfig.json" in recorded.tsconfigs
    # Each program's structure is recorded with it: chanfana arrives as it stood, so its gate
    # checks only what the move changed (nothing), not the whole program again.
    assert {"tsconfig.json", "tests/tsconfig.json"} <= set(recorded.structures)
    moved = runner.run.step("chanfana-openapi-template", "gate")
    assert moved is not None
    assert (
        "apps/chanfana-openapi-template/tsconfig.json (affected files)" in moved.data["tsc_summary"]
    )
    # The refactored folder's orchestrator entrypoints are checked in the narrow program, only
    # the files the recipe changed and their importers.
    hello = runner.run.step("hello-world-do-template", "gate")
    assert hello is not None
    assert (
        "tsconfig.json (narrow: orchestrator/worker/entrypoints) (affected files)"
        in hello.data["tsc_summary"]
    )
    # The lockfile change is journaled with the run: rolling the run back restores it.
    assert (root / "package-lock.json").is_file()
