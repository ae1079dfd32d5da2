"""Crash recovery, concurrent writers and the webhook, with real processes and a real server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engine.ledger.store import Ledger
from engine.patch.patch_events import patch_events
from tests.conftest import ROOT, batch_file, snapshot, write

# The child applies a batch and SIGKILLs itself at a chosen point of the commit.
CRASH_CHILD = r"""
import os, signal, sys
from pathlib import Path
import engine.patch.journal as journal
from engine.patch.apply import apply_batch
from engine.patch.loader import load_batch_file
from engine.settings import Settings
from engine.workspace import Workspace

root, batch, point, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
seen = 0

def maybe_die():
    global seen
    seen += 1
    if seen == nth:
        os.kill(os.getpid(), signal.SIGKILL)

real_replace = os.replace
def replace(src, dst):
    real_replace(src, dst)
    if point == "rename" and ".vibehq" not in str(dst):
        maybe_die()
os.replace = replace

real_write = journal._write_file
def write_file(path, data, mode):
    real_write(path, data, mode)
    if point == "stage":
        maybe_die()
journal._write_file = write_file

apply_batch(Workspace.open(root), load_batch_file(Path(batch)), Settings())
print("survived")
"""


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("point", "nth"), [("stage", 1), ("stage", 3), ("rename", 1), ("rename", 2), ("rename", 3)]
)
def test_kill_mid_commit_leaves_old_state_after_recovery(
    cli: Any, ws: Path, tmp_path: Path, point: str, nth: int
) -> None:
    for name in ("a", "b", "c"):
        write(ws, f"src/{name}.ts", f"export const {name} = 1;\n")
    before = snapshot(ws, include_state=False)
    path = batch_file(
        tmp_path,
        [
            {"op": "append", "file": "src/a.ts", "block": "// a2"},
            {"op": "replace-block", "file": "src/b.ts", "start": 1, "block": "export const b = 2;"},
            {"op": "create", "file": "src/new/d.ts", "block": "export const d = 1;\n"},
        ],
        batchId="crashy",
    )
    child = run_child(CRASH_CHILD, str(ws), str(path), point, str(nth))
    assert child.returncode == -9, child.stderr
    assert "survived" not in child.stdout
    if point == "rename":
        # The kill really landed mid-commit: some files are new, some old.
        assert snapshot(ws, include_state=False) != before

    listing = cli("patch", "list", "-w", ws, "--json")
    assert listing.code == 0
    assert "recovered: batch crashy" in listing.err
    assert snapshot(ws, include_state=False) == before
    record = next(r for r in listing.json() if r["batch_id"] == "crashy")
    assert record["state"] == "aborted"
    assert not list(ws.rglob("*.vh-*"))
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        assert [e.subject for e in ledger.events(kind="patch_recovered")] == ["crashy"]
    # The recovered id is free again: the same batch applies, once.
    again = cli("patch", "apply", path, "-w", ws)
    assert again.code == 0, again.err
    assert (ws / "src/new/d.ts").read_text() == "export const d = 1;\n"
    assert cli("patch", "apply", path, "-w", ws, "--json").json()["status"] == "already-applied"


CONCURRENT_CHILD = r"""
import sys
from engine.errors import PatchConflict
from engine.patch.apply import apply_batch
from engine.patch.models import PatchBatch
from engine.settings import Settings
from engine.workspace import Workspace

root, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ws = Workspace.open(root)
for i in range(count):
    batch = PatchBatch.model_validate({"requester": name, "patches": [
        {"op": "append", "file": "shared.ts", "block": f"// {name} {i}"},
        {"op": "append", "file": f"{name}.ts", "block": f"// {i}"}]})
    apply_batch(ws, batch, Settings())
print("done")
"""


def test_two_concurrent_writers_lose_no_update(ws: Path) -> None:
    write(ws, "shared.ts", "// start\n")
    write(ws, "p1.ts", "")
    write(ws, "p2.ts", "")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_CHILD, str(ws), name, "15"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = (ws / "shared.ts").read_text().splitlines()
    assert len(lines) == 31
    assert sorted(lines[1:]) == sorted(f"// {n} {i}" for n in ("p1", "p2") for i in range(15))
    for name in ("p1", "p2"):
        assert (ws / f"{name}.ts").read_text().splitlines() == [f"// {i}" for i in range(15)]
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        assert len([e for e in patch_events(ledger) if e.kind == "applied"]) == 60


RACE_CHILD = r"""
import sys
from engine.errors import PatchConflict
from engine.patch.apply import apply_batch
from engine.patch.models import PatchBatch
from engine.settings import Settings
from engine.workspace import Workspace

root, name, base = sys.argv[1], sys.argv[2], sys.argv[3]
batch = PatchBatch.model_validate({"requester": name, "patches": [
    {"op": "replace-block", "file": "x.ts", "start": 1, "block": f"owner = {name}",
     "baseSha256": base}]})
try:
    apply_batch(Workspace.open(root), batch, Settings())
    print("applied")
except PatchConflict:
    print("conflict")
"""


def test_two_writers_with_the_same_base_hash_one_wins(ws: Path) -> None:
    import hashlib

    write(ws, "x.ts", "owner = nobody\n")
    base = hashlib.sha256(b"owner = nobody\n").hexdigest()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_CHILD, str(ws), name, base],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["applied", "conflict"]
    winner = "p1" if outcomes[0] == "applied" else "p2"
    assert (ws / "x.ts").read_text() == f"owner = {winner}\n"


class _Orchestrator(BaseHTTPRequestHandler):
    fail_first = 0
    received: ClassVar[list[dict[str, Any]]] = []
    calls = 0

    def do_POST(self) -> None:
        cls = type(self)
        cls.calls += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/api/patches/events" or cls.calls <= cls.fail_first:
            self.send_response(500 if self.path == "/api/patches/events" else 404)
            self.end_headers()
            return
        cls.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def orchestrator() -> Iterator[tuple[str, type[_Orchestrator]]]:
    handler = type("Handler", (_Orchestrator,), {"received": [], "calls": 0, "fail_first": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def configure(ws: Path, url: str, retries: int = 3) -> None:
    write(
        ws,
        "vibehq.toml",
        f'orchestrator_url = "{url}"\n'
        f"[webhook]\nretries = {retries}\nbackoff_s = 0.01\ntimeout_s = 2\n",
    )


def test_webhook_is_retried_until_delivered(
    cli: Any, ws: Path, tmp_path: Path, orchestrator: tuple[str, type[_Orchestrator]]
) -> None:
    url, handler = orchestrator
    handler.fail_first = 2
    configure(ws, url)
    write(ws, "a.ts", "a\n")
    path = batch_file(
        tmp_path, [{"op": "append", "file": "a.ts", "block": "b", "taskId": 5}], orderId="o-1"
    )
    result = cli("patch", "apply", path, "-w", ws, "--json")
    assert result.code == 0, result.err
    hook = result.json()["webhook"]
    assert hook["delivered"] is True and hook["attempts"] == 3
    assert handler.calls == 3
    [payload] = handler.received
    assert payload["batchId"] == result.json()["batch_id"]
    assert [(e["kind"], e["file"], e["taskId"], e["orderId"]) for e in payload["events"]] == [
        ("applied", "a.ts", "5", "o-1")
    ]


def test_webhook_failure_never_fails_the_patch(
    cli: Any, ws: Path, tmp_path: Path, orchestrator: tuple[str, type[_Orchestrator]]
) -> None:
    url, handler = orchestrator
    handler.fail_first = 100
    configure(ws, url, retries=2)
    write(ws, "a.ts", "a\n")
    path = batch_file(tmp_path, [{"op": "append", "file": "a.ts", "block": "b"}])
    result = cli("patch", "apply", path, "-w", ws)
    assert result.code == 0
    assert "webhook" in result.out and "failed after 3 attempts" in result.out
    assert (ws / "a.ts").read_text() == "a\nb\n"
    assert handler.calls == 3
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        [event] = ledger.events(kind="webhook_failed")
    assert event.payload["attempts"] == 3


def test_webhook_to_a_closed_port_is_isolated(cli: Any, ws: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(ws, f"http://127.0.0.1:{port}", retries=1)
    write(ws, "a.ts", "a\n")
    path = batch_file(tmp_path, [{"op": "append", "file": "a.ts", "block": "b"}])
    result = cli("patch", "apply", path, "-w", ws, "--json")
    assert result.code == 0
    assert result.json()["webhook"]["delivered"] is False
    assert "Connection refused" in result.json()["webhook"]["error"]
