"""Every request the server received, in memory and optionally as JSONL, for tests to assert on."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

__all__ = ["RecordedRequest", "RequestLog"]

# Never written to memory or a log: a real key pointed at the server by mistake stays secret.
_REDACTED_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request and how the server answered it.

    `body` is the parsed JSON (or the raw text when it was not JSON); `turn` is the 1-based
    index of the script turn that answered, None when none did; `outcome` is `reply`,
    `rate_limit`, `server_error`, `stall`, `unmatched`, `embeddings`, `models` or `bad_request`.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    outcome: str
    model: str | None = None
    agent: str | None = None
    stream: bool = False
    turn: int | None = None
    turn_label: str | None = None
    error: str | None = None
    at: float = 0.0
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return [m for m in self.body["messages"] if isinstance(m, dict)]
        return []

    @property
    def last_message(self) -> dict[str, Any] | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def tools(self) -> list[str]:
        """Names of the tools the client offered."""
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        if not isinstance(tools, list):
            return []
        return [
            str(t["function"]["name"])
            for t in tools
            if isinstance(t, dict)
            and isinstance(t.get("function"), dict)
            and "name" in t["function"]
        ]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def redact(headers: dict[str, str]) -> dict[str, str]:
    return {
        name: ("<redacted>" if name in _REDACTED_HEADERS else value)
        for name, value in headers.items()
    }


class RequestLog:
    """Append-only and thread-safe; with a path, each record is also one flushed JSONL line."""

    def __init__(self, path: Path | None = None) -> None:
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def add(self, record: RecordedRequest) -> RecordedRequest:
        """Store `record` under the next sequence number (1-based) and return it."""
        with self._lock:
            stored = replace(record, seq=len(self._records) + 1)
            self._records.append(stored)
            if self._file is not None:
                self._file.write(json.dumps(stored.to_json(), default=str) + "\n")
                self._file.flush()
            return stored

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
