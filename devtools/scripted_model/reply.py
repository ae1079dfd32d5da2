"""What a scripted turn answers with: text, tool calls, and the token counts it reports."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolCallSpec(BaseModel):
    """One tool call of a reply. An object `arguments` is sent as JSON; a string is sent as it
    is, so a script can hand the client arguments that are not JSON at all."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    id: str | None = Field(None, min_length=1, description="default: call_<request>_<index>")

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class UsageOverride(BaseModel):
    """Token counts to report instead of the 4-characters-a-token estimate (budget tests)."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
