"""Shared fixtures: real workspaces on disk and an in-process runner for the real CLI entry."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"
# CI clones the repo with shared/ beside it; a clone elsewhere falls back to the repo's copy.
_SEED_IN_SHARED = SHARED / "fixtures" / "manifests" / "seed-migration_manifest.json"
_TASKS_IN_SHARED = SHARED / "fixtures" / "taskmaster" / "tasks.before-option2.json"
TASKS_FIXTURE = (
    _TASKS_IN_SHARED
    if _TASKS_IN_SHARED.is_file()
    else ROOT / "tests" / "fixtures" / "taskmaster" / "tasks.before-option2.json"
)
SEED_MANIFEST = (
    _SEED_IN_SHARED
    if _SEED_IN_SHARED.is_file()
    else ROOT / "manifests" / "seed-migration_manifest.json"
)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `vibehq ARGS` through `main.run()`, the console-script entry, in this process."""
    import main

    def invoke(*args: str | Path, stdin: str | None = None) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["vibehq", *map(str, args)])
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = 0
        try:
            main.run()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode())
    return path


def snapshot(root: Path, *, include_state: bool = True) -> dict[str, str]:
    """Every file under root (symlinks as their target) with its sha256; `.vibehq/` optional."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not include_state and rel.split("/")[0] == ".vibehq":
            continue
        if path.is_symlink():
            out[rel] = "link->" + str(path.readlink())
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[rel + "/"] = "dir"
    return out


def batch_file(tmp_path: Path, patches: list[dict[str, Any]], **fields: Any) -> Path:
    path = tmp_path / f"batch-{len(list(tmp_path.glob('batch-*.json')))}.json"
    path.write_text(json.dumps({"requester": "test", **fields, "patches": patches}))
    return path


def use_scripted_model(root: Path, base_url: str, *, key_env: str | None = None) -> None:
    """A vibehq.toml whose standard and complex tiers are the scripted server at `base_url`."""
    lines = ["[route]", "retries = 0", ""]
    for tier in ("standard", "complex"):
        lines += [
            f"[[route.tiers.{tier}.deployments]]",
            'model = "openai/scripted"',
            f'name = "{tier}-scripted"',
            f'api_base = "{base_url}"',
            *([f'api_key_env = "{key_env}"'] if key_env else []),
            "",
        ]
    write(root, "vibehq.toml", "\n".join(lines))


def copy_example(dest: Path, *, require_tsc: bool = True) -> Path:
    """A copy of examples/workspace at `dest`, its node_modules a symlink to the real one.

    With `require_tsc`, the test is skipped (with the fix) when `make setup` has not run."""
    source = EXAMPLES / "workspace"
    modules = source / "node_modules"
    if require_tsc and not (modules / ".bin" / "tsc").exists():
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    shutil.copytree(
        source, dest, ignore=shutil.ignore_patterns("node_modules", ".vibehq"), symlinks=True
    )
    if modules.is_dir():
        (dest / "node_modules").symlink_to(modules, target_is_directory=True)
    return dest


# --------------------------------------------------------------------------- scripted model server


def pytest_configure(config: pytest.Config) -> None:
    """Tests that import litellm or crewai directly (not through main) need these set first."""
    import os

    for key, value in {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "CREWAI_DISABLE_TELEMETRY": "true",
        "CREWAI_TRACING_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
    }.items():
        os.environ.setdefault(key, value)


@pytest.fixture
def model_server() -> Any:
    """Factory: `model_server(script, log=None)` starts a scripted OpenAI-compatible server on
    127.0.0.1 (a free port) and returns it; it is stopped after the test. `script` is a Path to
    a YAML file, YAML text, a list of turn dicts, or a Script. Point clients at `srv.base_url`
    (LiteLLM: `model="openai/<name>", api_base=srv.base_url, api_key="x"`); read what they
    sent from `srv.requests`."""
    from devtools.scripted_model import ScriptedModelServer

    started: list[ScriptedModelServer] = []

    def start(script: Any, **options: Any) -> ScriptedModelServer:
        server = ScriptedModelServer(script, **options).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


TASKS_REL = ".taskmaster/tasks/tasks.json"


@pytest.fixture
def epic_ws(tmp_path: Path) -> Path:
    """The bundled example workspace with the real 35-task plan, for epic runs."""
    root = copy_example(tmp_path / "ws", require_tsc=False)
    tasks = root / TASKS_REL
    tasks.parent.mkdir(parents=True, exist_ok=True)
    tasks.write_bytes(TASKS_FIXTURE.read_bytes())
    return root
