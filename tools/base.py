"""The base of every vibehq tool: typed arguments in, one compact JSON object out.

A tool never raises into CrewAI for something the model can fix. vibehq's typed errors (bad
input, a refused check) and argument errors come back as `{"ok": false, "error": "..."}` in
one line, so the model reads why and may try again; only a real bug escapes as an exception.
Lists are capped, and the answer says how many entries were left out, so no tool floods an
agent's context.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from crewai.tools import BaseTool
from pydantic import BaseModel, PrivateAttr, ValidationError

from engine.errors import VibehqError
from tools.context import ToolContext

T = TypeVar("T")

# Characters of free text (a description, a memory hit) a listing shows per entry.
TEXT_CAP = 400


class ToolArgs(BaseModel):
    """Arguments a tool takes; subclasses add typed fields with descriptions."""


class VibehqTool(BaseTool):
    """One engine call. Subclasses set `name`, `description`, `args_schema` and `invoke`."""

    # Tools that change something answer with a proposal id, never an applied change.
    changes: ClassVar[bool] = False
    _ctx: ToolContext = PrivateAttr()

    def __init__(self, ctx: ToolContext, **data: Any) -> None:
        super().__init__(**data)
        self._ctx = ctx

    @property
    def ctx(self) -> ToolContext:
        return self._ctx

    def _validate_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # `_run` validates, so a bad argument becomes an answer the model reads, not a raise.
        return kwargs

    def _run(self, **kwargs: Any) -> str:
        try:
            args = self.args_schema.model_validate(kwargs)
            result = self.invoke(args)
        except VibehqError as exc:
            result = {"ok": False, "error": exc.message}
        except ValidationError as exc:
            result = {"ok": False, "error": validation_line(exc)}
        if "ok" not in result:
            result = {"ok": True, **result}
        return json.dumps(result, ensure_ascii=False, default=str)

    @abstractmethod
    def invoke(self, args: Any) -> dict[str, Any]:
        """Do the engine call for validated `args`; the JSON-ready answer."""


def validation_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "arguments"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {str(first['msg']).removeprefix('Value error, ')}{more}"


def capped(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first `limit` items and how many were left out."""
    return list(items[:limit]), max(0, len(items) - limit)


def listing(key: str, items: Sequence[Any], limit: int) -> dict[str, Any]:
    shown, left_out = capped(items, limit)
    out: dict[str, Any] = {key: shown, "total": len(items)}
    if left_out:
        out["left_out"] = left_out
    return out


def clip(text: str | None, limit: int = TEXT_CAP) -> str:
    if not text:
        return ""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
