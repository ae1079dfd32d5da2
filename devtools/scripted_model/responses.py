"""OpenAI chat-completion bodies for a turn: one JSON document, or the chunks of a stream.

Token counts are estimates (4 characters a token, at least 1, plus 4 per message), unless the
turn gives its own. A streamed reply reassembles to exactly the same content and tool calls.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devtools.scripted_model.matching import message_text
from devtools.scripted_model.script import Turn

__all__ = ["Completion", "error_body", "estimate_prompt_tokens", "estimate_tokens"]

# A content chunk is a few words (at least 16 characters unless the text ends): finer than
# a real model's lines, coarser than its tokens, so a long answer streams in tens of chunks.
_WORDS = re.compile(r"\S+\s*|\s+")
_CONTENT_CHUNK = 16
_ARGUMENT_CHUNK = 24


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    messages = body.get("messages")
    total = 0
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping):
                total += 4 + estimate_tokens(message_text(message.get("content")))
                calls = message.get("tool_calls")
                if calls:
                    total += estimate_tokens(json.dumps(calls, default=str))
    tools = body.get("tools")
    if tools:
        total += estimate_tokens(json.dumps(tools, default=str))
    return max(total, 1)


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """The OpenAI error shape, which both the openai client and LiteLLM read `message` from."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@dataclass(frozen=True, slots=True)
class _Call:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Completion:
    """A turn's reply to one request, ready to serialise either way."""

    id: str
    model: str
    created: int
    content: str | None
    calls: tuple[_Call, ...]
    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def of(cls, turn: Turn, body: Mapping[str, Any], seq: int) -> Completion:
        calls = tuple(
            _Call(spec.id or f"call_{seq}_{i}", spec.name, spec.arguments_text())
            for i, spec in enumerate(turn.tool_calls or [])
        )
        completion = estimate_tokens(turn.content or "") + sum(
            estimate_tokens(c.name + c.arguments) for c in calls
        )
        prompt = estimate_prompt_tokens(body)
        if turn.usage is not None:
            if turn.usage.prompt_tokens is not None:
                prompt = turn.usage.prompt_tokens
            if turn.usage.completion_tokens is not None:
                completion = turn.usage.completion_tokens
        return cls(
            id=f"chatcmpl-scripted-{seq}",
            model=turn.served_model or str(body.get("model") or "scripted"),
            created=int(time.time()),
            content=turn.content,
            calls=calls,
            prompt_tokens=prompt,
            completion_tokens=completion,
        )

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.calls else "stop"

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def body(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage(),
        }

    def chunks(self, *, include_usage: bool) -> Iterator[dict[str, Any]]:
        """The stream: role, content word by word, each tool call (name first, then its
        arguments in pieces), the finish reason, and the usage chunk when asked for."""
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in _content_pieces(self.content or ""):
            yield self._chunk({"content": piece})
        for index, call in enumerate(self.calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield self._chunk({"tool_calls": [head]})
            for piece in _pieces(call.arguments, _ARGUMENT_CHUNK):
                yield self._chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                )
        yield self._chunk({}, finish_reason=self.finish_reason)
        if include_usage:
            yield {**self._envelope(), "choices": [], "usage": self.usage()}

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self._envelope(), "choices": [choice]}


def _content_pieces(text: str) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in _WORDS.findall(text):
        current += word
        if len(current) >= _CONTENT_CHUNK:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _pieces(text: str, size: int) -> Sequence[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
