"""The HTTP side: an OpenAI-compatible endpoint on a loopback address that plays a script.

    POST /v1/chat/completions   (also /chat/completions) plain JSON, or SSE with `stream: true`
    POST /openai/deployments/<name>/chat/completions   the same, on Azure OpenAI's path
    POST /v1/messages           Anthropic's Messages API, plain JSON (see anthropic.py)
    POST /v1/embeddings         deterministic hashed vectors (see embeddings.py)
    GET  /v1/models[/<name>]    the script's models

Errors use OpenAI's shape: 400 for a request that is not a chat completion, 404 for a request
no turn answers (naming it, never inventing an answer), 429 and 5xx for the script's faults.
Every request is recorded before its answer is written, so a client that timed out can still
be checked. `ScriptedModelServer` is the test API:

    with ScriptedModelServer(Path("script.yaml")) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x")
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert srv.requests[0].last_message["content"] == "hi"
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import math
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, cast

from devtools.scripted_model.anthropic import MESSAGES_PATHS, as_chat_body, message_body
from devtools.scripted_model.embeddings import EmbeddingInputError, embedding_body
from devtools.scripted_model.matching import Miss, RequestFacts, TurnPicker
from devtools.scripted_model.recording import RecordedRequest, RequestLog, redact
from devtools.scripted_model.responses import Completion, error_body
from devtools.scripted_model.script import Script, load_script, parse_script
from engine.errors import BadInput

__all__ = ["AGENT_HEADER", "ScriptedModelServer", "UnsafeHost", "check_loopback", "serve"]

AGENT_HEADER = "X-Vibehq-Agent"
_CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_EMBEDDING_PATHS = frozenset({"/v1/embeddings", "/embeddings"})
_MODELS_PATHS = frozenset({"/v1/models", "/models"})
_MAX_BODY = 64 * 1024 * 1024
# Azure OpenAI puts the deployment in the path: /openai/deployments/<name>/chat/completions.
_AZURE_CHAT = re.compile(r"^/openai/deployments/[^/]+/chat/completions$")
_JOIN_TIMEOUT_S = 5.0

ScriptSource = Script | Path | str | Sequence[Mapping[str, Any]] | Mapping[str, Any]


class UnsafeHost(BadInput):
    """The server would listen on an address other machines can reach."""


def check_loopback(host: str) -> None:
    if host.casefold() == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UnsafeHost(
            f"refusing to listen on {host!r}: the scripted model server only binds a loopback "
            "address (127.0.0.1, ::1 or localhost)"
        )


def _is_chat_path(path: str) -> bool:
    return path in _CHAT_PATHS or path in MESSAGES_PATHS or bool(_AZURE_CHAT.match(path))


def _as_script(source: ScriptSource) -> Script:
    if isinstance(source, Script):
        return source
    if isinstance(source, Path):
        return load_script(source)
    return parse_script(source)


class _Service:
    """What the handlers share: the script's turns, the recording, and the stop signal."""

    def __init__(
        self,
        script: Script,
        log: RequestLog,
        on_request: Callable[[RecordedRequest], None] | None,
    ) -> None:
        self.script = script
        self.picker = TurnPicker(script)
        self.log = log
        self.on_request = on_request
        self.stopping = threading.Event()
        self.completion_ids = itertools.count(1)
        self.handlers: set[tuple[threading.Thread, socket.socket]] = set()
        self.handlers_lock = threading.Lock()

    def record(self, record: RecordedRequest) -> RecordedRequest:
        stored = self.log.add(record)
        if self.on_request is not None:
            self.on_request(stored)
        return stored


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: _Service) -> None:
        self.service = service
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a timeout, a stream it stopped reading) is not a server fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is dropped after this; a stall waits on its own clock.
    timeout = 30
    # Headers and body go out in separate writes; with Nagle on, each reply waits ~40 ms
    # for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "vibehq-scripted-model/1"
    # Set per request: the request came in on Anthropic's Messages API.
    _anthropic = False

    @property
    def service(self) -> _Service:
        return cast(_HTTPServer, self.server).service

    def setup(self) -> None:
        super().setup()
        with self.service.handlers_lock:
            self.service.handlers.add((threading.current_thread(), self.connection))

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.service.handlers_lock:
            self.service.handlers.discard((threading.current_thread(), self.connection))

    def log_message(self, format: str, *args: Any) -> None:
        # Requests are recorded (and printed by the CLI) through the RequestLog instead.
        return

    # ------------------------------------------------------------------ routing

    def do_GET(self) -> None:
        path = self._path()
        if path in _MODELS_PATHS:
            models = [self._model_object(name) for name in self.service.script.listed_models()]
            self._answer_json(200, {"object": "list", "data": models}, outcome="models")
            return
        for prefix in _MODELS_PATHS:
            if path.startswith(prefix + "/"):
                name = path[len(prefix) + 1 :]
                if name in self.service.script.listed_models():
                    self._answer_json(200, self._model_object(name), outcome="models")
                else:
                    self._fail(
                        404,
                        f"model {name!r} is not in the script",
                        "model_not_found",
                        kind="not_found_error",
                    )
                return
        self._unknown_endpoint()

    def do_POST(self) -> None:
        path = self._path()
        # The body is read even for an unknown endpoint, so the connection can be kept alive.
        raw = self._read_body()
        if raw is None:
            return
        self._anthropic = path in MESSAGES_PATHS
        if not _is_chat_path(path) and path not in _EMBEDDING_PATHS:
            self._unknown_endpoint()
            return
        try:
            body = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._fail(400, f"the request body is not JSON: {exc}", "invalid_json", body=raw)
            return
        if not isinstance(body, dict):
            self._fail(400, "the request body must be a JSON object", "invalid_body", body=body)
            return
        if path in _EMBEDDING_PATHS:
            self._embeddings(body)
        elif self._anthropic and body.get("stream") is True:
            self._fail(400, "streaming is not served on /v1/messages", "stream_unsupported")
        else:
            self._chat(body)

    # ------------------------------------------------------------------ endpoints

    def _chat(self, sent: dict[str, Any]) -> None:
        # An Anthropic request is matched and recorded in the OpenAI shape (its other keys,
        # `system` and `max_tokens` among them, kept); the recorded path says which API it was.
        body = as_chat_body(sent) if self._anthropic else sent
        messages = body.get("messages")
        if not isinstance(body.get("model"), str) or not body["model"]:
            self._fail(400, "'model' is required", "missing_model", body=body)
            return
        if not isinstance(messages, list) or not messages:
            self._fail(400, "'messages' must be a non-empty list", "missing_messages", body=body)
            return
        agent = self.headers.get(AGENT_HEADER)
        facts = RequestFacts.of(body, agent)
        stream = body.get("stream") is True
        base: dict[str, Any] = {"model": facts.model, "agent": facts.agent_header, "stream": stream}
        pick = self.service.picker.pick(facts)
        if isinstance(pick, Miss):
            # not_found_error, not invalid_request_error: LiteLLM reads that type as a 400.
            self._fail(
                404,
                pick.message,
                "no_matching_turn",
                kind="not_found_error",
                body=body,
                outcome="unmatched",
                **base,
            )
            return
        turn = pick.turn
        base |= {"turn": pick.index + 1, "turn_label": self.service.script.label(pick.index)}
        label = self.service.script.label(pick.index, named=False)
        if turn.fault == "rate_limit":
            retry = turn.retry_after if turn.retry_after is not None else 1.0
            headers = {
                "Retry-After": str(math.ceil(retry)),
                "retry-after-ms": str(round(retry * 1000)),
            }
            message = f"scripted rate limit ({label}); retry after {retry:g} s"
            self._fail(
                429,
                message,
                "rate_limit_exceeded",
                kind="rate_limit_error",
                headers=headers,
                body=body,
                outcome="rate_limit",
                **base,
            )
            return
        if turn.fault == "server_error":
            status = turn.status or 500
            message = f"scripted server error {status} ({label})"
            self._fail(
                status,
                message,
                "server_error",
                kind="server_error",
                body=body,
                outcome="server_error",
                **base,
            )
            return
        if turn.fault == "unauthorized":
            # As OpenAI does: the 401 body quotes the key it was sent, so a client that stores
            # or prints error bodies leaks it (what vibehq's redaction is tested against).
            key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            self._fail(
                401,
                f"Incorrect API key provided: {key}. You can find your API key at the dashboard.",
                "invalid_api_key",
                kind="invalid_request_error",
                body=body,
                outcome="unauthorized",
                **base,
            )
            return
        completion = Completion.of(turn, body, next(self.service.completion_ids))
        if turn.fault == "stall" and turn.seconds is not None:
            self._stall(turn.seconds, completion, body, base)
            return
        self._reply(completion, body, base, outcome="reply")

    def _stall(
        self, seconds: float, completion: Completion, body: dict[str, Any], base: dict[str, Any]
    ) -> None:
        has_reply = completion.content is not None or bool(completion.calls)
        status = 200 if has_reply else 504
        self.service.record(self._record(status, "stall", body=body, **base))
        if self.service.stopping.wait(seconds):
            self.close_connection = True
            return
        if has_reply:
            self._send_completion(completion, body)
        else:
            message = f"stalled {seconds:g} s; the turn has no reply to send after it"
            self._send_json(504, error_body(message, "server_error", "stalled"))

    def _reply(
        self, completion: Completion, body: dict[str, Any], base: dict[str, Any], outcome: str
    ) -> None:
        self.service.record(self._record(200, outcome, body=body, **base))
        self._send_completion(completion, body)

    def _send_completion(self, completion: Completion, body: dict[str, Any]) -> None:
        if self._anthropic:
            self._send_json(200, message_body(completion))
            return
        if body.get("stream") is not True:
            self._send_json(200, completion.body())
            return
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in completion.chunks(include_usage=include_usage):
                self._write_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _embeddings(self, body: dict[str, Any]) -> None:
        model = body.get("model") if isinstance(body.get("model"), str) else None
        try:
            answer = embedding_body(body)
        except EmbeddingInputError as exc:
            self._fail(400, str(exc), "invalid_input", body=body, model=model)
            return
        self._answer_json(200, answer, outcome="embeddings", body=body, model=model)

    def _unknown_endpoint(self) -> None:
        message = (
            f"{self.command} {self._path()} is not served here (chat completions, "
            "embeddings and models are)"
        )
        self._fail(404, message, "unknown_endpoint", kind="not_found_error")

    # ------------------------------------------------------------------ plumbing

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def _model_object(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 0, "owned_by": "vibehq-scripted"}

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            self._fail(400, "bad Content-Length", "bad_length")
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                size = -1
            total += max(size, 0)
            if size < 0 or total > _MAX_BODY:
                self.close_connection = True
                self._fail(400, "bad chunked body", "bad_length")
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    continue
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _record(
        self, status: int, outcome: str, *, body: Any = None, **fields: Any
    ) -> RecordedRequest:
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        headers = redact({name.lower(): value for name, value in self.headers.items()})
        return RecordedRequest(
            method=self.command,
            path=self.path,
            headers=headers,
            body=body,
            status=status,
            outcome=outcome,
            at=time.time(),
            **fields,
        )

    def _fail(
        self,
        status: int,
        message: str,
        code: str,
        *,
        kind: str = "invalid_request_error",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        outcome: str = "bad_request",
        **fields: Any,
    ) -> None:
        self.service.record(self._record(status, outcome, body=body, error=message, **fields))
        self._send_json(status, error_body(message, kind, code), headers)

    def _answer_json(
        self, status: int, payload: dict[str, Any], *, outcome: str, body: Any = None, **fields: Any
    ) -> None:
        self.service.record(self._record(status, outcome, body=body, **fields))
        self._send_json(status, payload)

    def _send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


class ScriptedModelServer:
    """A scripted model server on a loopback address, in a background thread.

    `script` is a `Script`, a `Path` to a YAML file, YAML text, or the data YAML would give.
    Port 0 (the default) picks a free port. Use it as a context manager, or `start()`/`stop()`.
    """

    def __init__(
        self,
        script: ScriptSource,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log: Path | None = None,
        on_request: Callable[[RecordedRequest], None] | None = None,
    ) -> None:
        check_loopback(host)
        self.script = _as_script(script)
        self.host = host
        self._requested_port = port
        self._log_path = log
        self._on_request = on_request
        self._service: _Service | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ScriptedModelServer:
        if self._httpd is not None:
            return self
        service = _Service(self.script, RequestLog(self._log_path), self._on_request)
        six = ":" in self.host
        kind = _HTTPServer6 if six else _HTTPServer
        try:
            httpd = kind((self.host.strip("[]"), self._requested_port), service)
        except OSError as exc:
            service.log.close()
            raise BadInput(
                f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}"
            ) from None
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-model-{httpd.server_address[1]}",
            daemon=True,
        )
        self._service, self._httpd, self._thread = service, httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end stalls and open connections, and wait for the handlers."""
        httpd, service, thread = self._httpd, self._service, self._thread
        if httpd is None or service is None or thread is None:
            return
        service.stopping.set()
        httpd.shutdown()
        thread.join()
        with service.handlers_lock:
            handlers = list(service.handlers)
        for _, conn in handlers:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for handler, _ in handlers:
            handler.join(_JOIN_TIMEOUT_S)
        httpd.server_close()
        service.log.close()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ what tests read

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the scripted model server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, without the `/v1` of the API."""
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What the openai client and LiteLLM take as base_url / api_base."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (including models and embeddings calls)."""
        return self._recorded().log.snapshot()

    @property
    def completions(self) -> list[RecordedRequest]:
        """Only the chat-completion requests."""
        return [r for r in self.requests if _is_chat_path(r.path.split("?", 1)[0].rstrip("/"))]

    def turn_uses(self) -> list[int]:
        """How many requests each turn answered, in script order."""
        return self._recorded().picker.uses()

    def unused_turns(self) -> list[str]:
        """Turns with a fixed `times` that are not used up, e.g. `turn 2 'x' (line 5): used 0
        of 1`; empty when the script was played to the end."""
        return self._recorded().picker.unused()

    def _recorded(self) -> _Service:
        if self._service is None:
            raise RuntimeError("the scripted model server was never started")
        return self._service


def serve(
    script: Script,
    *,
    host: str,
    port: int,
    log: Path | None,
    say: Callable[[str], None],
) -> list[RecordedRequest]:
    """Run a server in the foreground until SIGINT or SIGTERM; the CLI's `dev model-server`."""
    server = ScriptedModelServer(script, host=host, port=port, log=log, on_request=_announcer(say))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with server:
            count = len(server.script.turns)
            say(
                f"scripted model server on {server.base_url} "
                f"({count} turn{'s' if count != 1 else ''} from {script.source}); "
                "Ctrl-C to stop"
            )
            while not stop.wait(0.2):
                continue
            requests = server.requests
            unused = server.unused_turns()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say(f"stopped after {len(requests)} request(s)")
    for line in unused:
        say(f"unused: {line}")
    return requests


def _announcer(say: Callable[[str], None]) -> Callable[[RecordedRequest], None]:
    def announce(record: RecordedRequest) -> None:
        who = f" agent={record.agent}" if record.agent else ""
        turn = f" -> {record.turn_label}" if record.turn_label else ""
        model = f" model={record.model}" if record.model else ""
        say(
            f"#{record.seq} {record.method} {record.path}{model}{who}{turn}: "
            f"{record.status} {record.outcome}"
        )

    return announce
