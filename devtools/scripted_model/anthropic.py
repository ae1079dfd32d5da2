"""Anthropic's Messages API (`POST /v1/messages`) on the scripted server: the request read as
the chat request it is, the turn's reply written as an Anthropic `message`.

LiteLLM's `anthropic/<model>` provider, given an `api_base`, posts here; with this the
scripted server answers it through LiteLLM's real Anthropic client path. Streaming is not
served on this endpoint (vibehq reads whole answers).
"""

from __future__ import annotations

import json
from typing import Any

from devtools.scripted_model.matching import message_text
from devtools.scripted_model.responses import Completion

__all__ = ["MESSAGES_PATHS", "as_chat_body", "message_body"]

MESSAGES_PATHS = frozenset({"/v1/messages", "/messages"})


def as_chat_body(body: dict[str, Any]) -> dict[str, Any]:
    """The request in the OpenAI shape the script's matching reads: the top-level `system`
    becomes a system message, content blocks become their text."""
    messages: list[dict[str, Any]] = []
    if body.get("system"):
        messages.append({"role": "system", "content": message_text(body["system"])})
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            messages.append({"role": m.get("role"), "content": message_text(m.get("content"))})
    return {**body, "messages": messages}


def message_body(completion: Completion) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if completion.content:
        content.append({"type": "text", "text": completion.content})
    for call in completion.calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            # A scripted malformed call: Anthropic's input is an object, so it is sent raw.
            arguments = {"_raw": call.arguments}
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return {
        "id": completion.id.replace("chatcmpl", "msg"),
        "type": "message",
        "role": "assistant",
        "model": completion.model,
        "content": content,
        "stop_reason": "tool_use" if completion.calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": completion.prompt_tokens,
            "output_tokens": completion.completion_tokens,
        },
    }
