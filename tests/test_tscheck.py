"""The tsc server answers `tsc -p` checks exactly as the tsc CLI does, sharing parsed files."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.validate.baseline import fingerprint
from engine.validate.projects import check_project, find_tsc, run_tsc
from engine.validate.staging_baseline import take_staging_baseline
from engine.validate.tsc_server import MODE_ENV, SERVERS_ENV, close_all, run_served
from tests.conftest import EXAMPLES, SHARED, write

MODULES = EXAMPLES / "workspace" / "node_modules"
REAL = SHARED / "fixtures" / "real"

TSCONFIG = json.dumps(
    {
        "compilerOptions": {
            "target": "ES2022",
            # Not the default lib, which brings lib.dom.d.ts: the tests stay fast.
            "lib": ["ES2022"],
            "module": "ESNext",
            "moduleResolution": "bundler",
            "strict": True,
            "noEmit": True,
            "types": [],
        },
        "include": ["src/**/*.ts"],
    }
)
BROKEN = """export interface Point { x: number; y: number }
export const p: Point = { x: 1, y: "two" };
export const n: number = "x";
import { missing } from "./nowhere";
export const f: (x: number) => string = (x: string) => x;
"""


@pytest.fixture(autouse=True)
def fresh_servers() -> Iterator[None]:
    close_all()
    yield
    close_all()


def _project(root: Path) -> Path:
    if not (MODULES / ".bin" / "tsc").exists() or shutil.which("node") is None:
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    write(root, "tsconfig.json", TSCONFIG)
    write(root, "src/broken.ts", BROKEN)
    write(root, "src/fine.ts", "export const ok: string = 'yes';\n")
    (root / "node_modules").symlink_to(MODULES, target_is_directory=True)
    return root


def _both(
    monkeypatch: pytest.MonkeyPatch, root: Path, config: Path, cwd: Path
) -> tuple[tuple[int, list[object]], tuple[int, list[object]]]:
    tsc = find_tsc(root, cwd)
    answers = []
    for mode in ("cli", "server"):
        monkeypatch.setenv(MODE_ENV, mode)
        run = run_tsc(tsc, config, cwd=cwd, buildinfo=None, timeout_s=120)
        code, findings = run.exit, run.findings
        answers.append((code, [f.model_dump() for f in findings]))
    return answers[0], answers[1]


def _our_node_children() -> list[str]:
    children: list[str] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        # A thread (or a child) may end between the listing and the read.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for pid in (task / "children").read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline")
                if b"tsc_server.cjs" in cmdline.read_bytes():
                    children.append(pid)
    return children


def test_the_server_reports_what_the_cli_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p")
    cli, served = _both(monkeypatch, root, root / "tsconfig.json", root)
    assert served == cli
    code, findings = cli
    assert code != 0
    codes = sorted(str(f["code"]) for f in findings if isinstance(f, dict))
    assert codes == ["TS2307", "TS2322", "TS2322", "TS2322"]
    # The elaboration chain is part of the message, joined as the CLI parser joins it.
    assert any("\n" in str(f["message"]) for f in findings if isinstance(f, dict))


@pytest.mark.integration
def test_paths_are_relative_to_each_requests_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p")
    write(root, "other/tsconfig.json", TSCONFIG)
    write(root, "other/src/bad.ts", "export const b: boolean = 1;\n")
    first_cli, first = _both(monkeypatch, root, root / "tsconfig.json", root)
    second_cli, second = _both(monkeypatch, root, root / "other/tsconfig.json", root / "other")
    assert (first, second) == (first_cli, second_cli)
    assert [f["file"] for f in second[1] if isinstance(f, dict)] == ["src/bad.ts"]


def test_an_edited_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.setenv(MODE_ENV, "server")
    tsc = find_tsc(root, root)
    config = root / "tsconfig.json"
    before = run_tsc(tsc, config, cwd=root, buildinfo=None, timeout_s=120).findings
    assert not any(f.file == "src/fine.ts" for f in before)
    # Same size, same folder: only the text tells the versions apart.
    write(root, "src/fine.ts", "export const ok: number = 'yes';\n")
    after = run_tsc(tsc, config, cwd=root, buildinfo=None, timeout_s=120).findings
    assert [f.code for f in after if f.file == "src/fine.ts"] == ["TS2322"]


def test_a_missing_tsconfig_reads_as_the_cli_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p")
    cli, served = _both(monkeypatch, root, root / "nope" / "tsconfig.json", root)
    assert served == cli and cli[0] != 0
    assert [f["code"] for f in cli[1] if isinstance(f, dict)] == ["TS5058"]


@pytest.mark.integration
def test_concurrent_requests_share_a_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.setenv(MODE_ENV, "server")
    monkeypatch.setenv(SERVERS_ENV, "2")
    tsc = find_tsc(root, root)
    expected = run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=120)
    assert expected is not None
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=120),
                range(6),
            )
        )
    assert answers == [expected] * 6
    if Path("/proc").is_dir():
        assert 1 <= len(_our_node_children()) <= 2
        close_all()
        assert _our_node_children() == []


def test_a_thread_gets_back_the_server_it_used_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads each hold a server, give them back (the first, then the second), and ask
    again (the first, then the second): each gets its own back, with the files it parsed,
    not the one given back last."""
    from engine.validate import tsc_server

    root = _project(tmp_path / "p")
    monkeypatch.setenv(MODE_ENV, "server")
    monkeypatch.setenv(SERVERS_ENV, "2")
    tsc = find_tsc(root, root)
    assert run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=120) is not None
    lib = tsc_server.typescript_lib(tsc)
    assert lib is not None
    pool = tsc_server._pools[lib]
    held, released = threading.Barrier(2), threading.Barrier(2)
    first_back, first_again = threading.Event(), threading.Event()
    pids: dict[int, list[int]] = {0: [], 1: []}

    def work(i: int) -> None:
        with pool.server() as server:
            pids[i].append(server.pid)
            held.wait(60)
            if i == 1:
                first_back.wait(60)
        if i == 0:
            first_back.set()
        released.wait(60)
        if i == 1:
            first_again.wait(60)
        with pool.server() as server:
            pids[i].append(server.pid)
        if i == 0:
            first_again.set()

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert pids[0][0] != pids[1][0]
    assert pids[0] == [pids[0][0]] * 2
    assert pids[1] == [pids[1][0]] * 2


def test_a_request_past_its_timeout_kills_the_server_and_the_next_starts_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.setenv(MODE_ENV, "server")
    tsc = find_tsc(root, root)
    with pytest.raises(subprocess.TimeoutExpired):
        run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=0)
    assert run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=120) is not None
    if Path("/proc").is_dir():
        assert len(_our_node_children()) == 1


def test_cli_mode_and_a_broken_typescript_use_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    root = tmp_path / "p"
    write(root, "tsconfig.json", TSCONFIG)
    write(root, "node_modules/typescript/lib/typescript.js", "process.exit(3);\n")
    write(root, "node_modules/typescript/bin/tsc", "#!/bin/sh\necho 'error TS1: from the cli'\n")
    (root / "node_modules/typescript/bin/tsc").chmod(0o755)
    (root / "node_modules/.bin").mkdir()
    (root / "node_modules/.bin/tsc").symlink_to("../typescript/bin/tsc")
    tsc = find_tsc(root, root)

    monkeypatch.setenv(MODE_ENV, "server")
    assert run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=30) is None
    findings = run_tsc(tsc, root / "tsconfig.json", cwd=root, buildinfo=None, timeout_s=30).findings
    assert [(f.code, f.message) for f in findings] == [("TS1", "from the cli")]

    monkeypatch.setenv(MODE_ENV, "cli")
    assert run_served(tsc, root / "tsconfig.json", cwd=root, timeout_s=30) is None


# --- the real corpus ---------------------------------------------------------------------------

TEMPLATES = (
    "d1-template",
    "hello-world-do-template",
    "chanfana-openapi-template",
    "worker-publisher-template",
    "nlweb-template",
    "saas-admin-template",
)


@pytest.mark.integration
def test_real_templates_get_the_same_findings_from_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (MODULES / ".bin" / "tsc").exists() or shutil.which("node") is None:
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    if not (REAL / "target").is_dir():
        pytest.skip(f"{REAL} is missing")
    root = tmp_path / "target"
    shutil.copytree(REAL / "target", root)
    for name in TEMPLATES:
        shutil.copytree(REAL / "STAGING" / name, root / "STAGING" / name)
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    # Only typescript and workers-types: the templates' other dependencies are missing, and
    # both paths must report those missing modules the same way.
    (root / "node_modules").symlink_to(MODULES, target_is_directory=True)

    gates: dict[str, dict[str, set[str]]] = {}
    for name in TEMPLATES:
        folder = f"STAGING/{name}"
        prints: dict[str, set[str]] = {}
        gate = gates[name] = {}
        for mode in ("cli", "server"):
            monkeypatch.setenv(MODE_ENV, mode)
            baseline = take_staging_baseline(root, folder)
            assert not baseline.tool_failed, (name, mode)
            prints[mode] = {f.fingerprint for f in baseline.findings}
            config = root / folder / "tsconfig.json"
            if config.is_file():
                # The gate's check, from the workspace root. The CLI runs without its
                # incremental state here: `tsc --incremental` prints some unions in another
                # member order than a plain `tsc` does, and the server is a plain `tsc`.
                tsc = find_tsc(root, config.parent)
                found = run_tsc(tsc, config, cwd=root, buildinfo=None, timeout_s=300).findings
                gate[mode] = {fingerprint(f) for f in found}
        assert prints["server"] == prints["cli"], name
        assert gate.get("server") == gate.get("cli"), name
    monkeypatch.setenv(MODE_ENV, "server")
    saas = check_project(root, "STAGING/saas-admin-template/tsconfig.json")
    assert {fingerprint(f) for f in saas.findings} == gates["saas-admin-template"]["server"]
