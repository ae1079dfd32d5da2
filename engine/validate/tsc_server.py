"""`tsc -p <config> --noEmit --pretty false` answered by a long-lived Node process.

Every `tsc` process reads and parses TypeScript's lib.*.d.ts, @cloudflare/workers-types and
the dependencies' declarations again before it checks a line of the project; on a
37-folder epic most of the type-checking time went there. `tsc_server.cjs`, started once per
TypeScript installation (the `typescript` package the chosen `tsc` belongs to), checks one
tsconfig per request the way tsc does and answers with the text tsc would have printed, so
the caller parses it with the same `parse_tsc_output` and gets identical findings and
fingerprints. Between requests it keeps the parsed SourceFiles, reused only for the same path,
text and parse settings (see the .cjs for the exact rule), least recently used first out
past `VIBEHQ_TSC_SERVER_CACHE_MB` (default 48) of source text, about 2 GB of heap.

A request may also be scoped (`tsc_scope`): only the files a change can affect are checked
semantically, and the answer may carry the program's structure, so a STAGING baseline records
it and a gate can tell whether the moved folder is still the same program.

The server is a plain `tsc`, never `tsc --incremental`: measured on saas-admin-template, an
incremental run prints some union types with their members in another order (type ids follow
the order the builder checks files in), so its messages, and fingerprints, can differ from a
plain run's. With the server, the STAGING baseline and the gate's check agree.

`run_served` returns None whenever the CLI must be used instead: `VIBEHQ_TSC=cli` is set, no
`node` is on PATH, the typescript package cannot be found next to `tsc`, the process will not
start, or it dies or fails on a request (a later request starts a new one; after
`_MAX_FAILURES` failures that installation stays on the CLI). A request that outlives its
timeout kills the process and raises `subprocess.TimeoutExpired`, as the CLI path does.

Thread-safe: each installation has a pool of up to `VIBEHQ_TSC_SERVERS` processes (default:
the number of cores, at most 2), a request takes a free process or waits for one, preferring
the process its thread used last (an epic folder's gate checks, right after its STAGING
baseline, the same program from its destination: that process still holds its files).
Measured on 2 busy cores, 37 STAGING baselines 2 at a time: 206 s with one process, 174 s with two
(checking, which nothing shares, outweighs the parsing a second process repeats). The
processes are started lazily, reused for the life of the Python process and closed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import queue
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.validate.tsc_scope import Scope, Served

__all__ = ["MODE_ENV", "SERVERS_ENV", "close_all", "run_scoped", "run_served", "typescript_lib"]

MODE_ENV = "VIBEHQ_TSC"
SERVERS_ENV = "VIBEHQ_TSC_SERVERS"
_SCRIPT = Path(__file__).with_name("tsc_server.cjs")
# The checker allocates many short-lived objects: a young generation of 3 x 128 MB (node's
# default is 3 x 16 MB) spends less time collecting. On the real corpus's gates it took the
# phase from 89-108 s to 84-89 s (bench/real_epic.py); the process holds about 400 MB more.
_NODE_FLAGS = ("--max-semi-space-size=128",)
_START_TIMEOUT_S = 60.0
_CLOSE_TIMEOUT_S = 5.0
_MAX_FAILURES = 3
_STDERR_LINES = 40

log = logging.getLogger(__name__)


class _ServerFailed(Exception):
    """The process died or could not answer: this request goes to the CLI."""


def typescript_lib(tsc: Path) -> Path | None:
    """The `lib/typescript.js` of the package `tsc` (node_modules/.bin/tsc) belongs to."""
    candidates = [tsc.resolve().parent.parent / "lib" / "typescript.js"]
    # .bin/tsc may be a shell shim rather than a link (pnpm, some installs on Windows).
    candidates.append(tsc.parent.parent / "typescript" / "lib" / "typescript.js")
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    return None


class _Server:
    """One `node tsc_server.cjs <typescript.js>` process and its JSON-lines protocol."""

    def __init__(self, node: str, lib: Path) -> None:
        self._ids = itertools.count(1)
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        try:
            self._proc = subprocess.Popen(
                [node, *_NODE_FLAGS, str(_SCRIPT), str(lib)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                start_new_session=True,
            )
        except OSError as exc:
            raise _ServerFailed(f"node could not be started: {exc}") from exc
        threading.Thread(target=self._read_answers, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            ready = self._next_answer(_START_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise _ServerFailed("the tsc server did not start in time") from exc
        if not ready.get("ready"):
            self.kill()
            raise _ServerFailed(f"unexpected first line from the tsc server: {ready}")

    def _read_answers(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with contextlib.suppress(ValueError):
                answer = json.loads(line)
                if isinstance(answer, dict):
                    self._answers.put(answer)
        self._answers.put(None)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _next_answer(self, timeout_s: float) -> dict[str, Any]:
        try:
            answer = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            raise subprocess.TimeoutExpired(self._proc.args, timeout_s) from None
        if answer is None:
            self.kill()
            raise _ServerFailed("the tsc server exited: " + " | ".join(self._stderr))
        return answer

    def check(self, config: str, cwd: str, timeout_s: float, scope: Scope) -> Served:
        request_id = next(self._ids)
        request = {"id": request_id, "tsconfig": config, "cwd": cwd, **scope.request()}
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except OSError as exc:
            self.kill()
            raise _ServerFailed(f"the tsc server stopped reading: {exc}") from exc
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self._next_answer(max(0.0, deadline - time.monotonic()))
            if answer.get("id") == request_id:
                break
        if "error" in answer or not isinstance(answer.get("output"), str):
            raise _ServerFailed(str(answer.get("error", answer)))
        log.debug(
            "tsc server: %s in %s ms (%s); cache %s files, %s MB of text; heap %s MB",
            config,
            answer.get("ms"),
            answer.get("scope"),
            answer.get("cachedFiles"),
            answer.get("cachedMB"),
            answer.get("heapMB"),
        )
        return Served.from_answer(answer)

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=_CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=_CLOSE_TIMEOUT_S)


class _Pool:
    """Up to `size` servers for one TypeScript installation; one request per server at a time."""

    def __init__(self, node: str, lib: Path, size: int) -> None:
        self.node, self.lib, self.size = node, lib, size
        self.failures = 0
        self._free: list[_Server] = []
        self._started = 0
        self._ready = threading.Condition()
        self._last = threading.local()

    @contextlib.contextmanager
    def server(self) -> Iterator[_Server]:
        with self._ready:
            while not self._free and self._started >= self.size:
                self._ready.wait()
            if self._free:
                # The process this thread used last, when free: it holds the files of the
                # thread's last check, which its next one most likely reads again.
                last = getattr(self._last, "server", None)
                server = last if any(s is last for s in self._free) else self._free[-1]
                self._free = [s for s in self._free if s is not server]
            else:
                self._started += 1
                server = None
        if server is None:
            try:
                server = _Server(self.node, self.lib)
            except BaseException:
                self._give_back(None)
                raise
        try:
            yield server
        finally:
            self._last.server = server
            self._give_back(server if server.alive else None)

    def _give_back(self, server: _Server | None) -> None:
        with self._ready:
            if server is None:
                self._started -= 1
            else:
                self._free.append(server)
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            servers, self._free = self._free, []
        for server in servers:
            server.close()


_pools: dict[Path, _Pool] = {}
_pools_lock = threading.Lock()


def _pool_size() -> int:
    default = min(2, os.cpu_count() or 1)
    try:
        return max(1, int(os.environ.get(SERVERS_ENV, default)))
    except ValueError:
        return default


def _pool_for(tsc: Path) -> _Pool | None:
    if os.environ.get(MODE_ENV, "").strip().lower() == "cli":
        return None
    node = shutil.which("node")
    lib = typescript_lib(tsc)
    if node is None or lib is None:
        return None
    with _pools_lock:
        pool = _pools.get(lib)
        if pool is None:
            pool = _pools[lib] = _Pool(node, lib, _pool_size())
    return None if pool.failures >= _MAX_FAILURES else pool


def run_scoped(
    tsc: Path, config: Path, *, cwd: Path, timeout_s: float, scope: Scope | None = None
) -> Served | None:
    """`tsc -p config --noEmit` run in `cwd`, answered by the server for `tsc`'s installation,
    checking what `scope` narrows it to (see `tsc_scope`); None when the CLI must run instead."""
    pool = _pool_for(tsc)
    if pool is None:
        return None
    try:
        with pool.server() as server:
            # `config` as the CLI would get it on its command line: tsc quotes it in errors.
            return server.check(str(config), os.path.abspath(cwd), timeout_s, scope or Scope())
    except _ServerFailed:
        with _pools_lock:
            pool.failures += 1
        return None


def run_served(tsc: Path, config: Path, *, cwd: Path, timeout_s: float) -> tuple[int, str] | None:
    """tsc's exit code and `--pretty false` output for `tsc -p config --noEmit` run in `cwd`,
    every file checked; None when the CLI must run instead."""
    served = run_scoped(tsc, config, cwd=cwd, timeout_s=timeout_s)
    return None if served is None else (served.exit, served.output)


def close_all() -> None:
    """Close every server (the next request starts new ones)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_all)
