"""The YAML script a scripted model server plays: a list of turns, each a match and a reply.

    models: [scripted-large]          # optional: what GET /v1/models lists
    turns:                            # or the file is just this list
      - name: answer-the-work-item    # optional label for errors and recordings
        agent: Codex                  # X-Vibehq-Agent header, else a word of the system prompt
        role: user                    # role of the last message (user, tool, assistant, ...)
        model: scripted-large         # the requested model name, exactly
        regex: "Work item `apps/"     # re.search on the last message's text
        times: 1                      # uses before the turn is spent: 1 (default) or unlimited
        content: "..."                # the reply: content and/or tool_calls,
        tool_calls: [{name: read_file, arguments: {path: a.ts}}]
        preset: lazy_placeholder_batch   # or a canned reply (see presets.py), with params
        params: {file: apps/x.ts}
        fault: rate_limit             # or a fault: rate_limit (429), server_error (500), stall,
                                      #   unauthorized (401 echoing the request's API key)
        retry_after: 2                #   rate_limit: the Retry-After seconds
        seconds: 30                   #   stall: how long to wait before replying
        served_model: gpt-4o-2024     # model name the response reports (default: the requested)
        usage: {prompt_tokens: 10, completion_tokens: 5}

Every condition given must hold; a turn with none matches any request. The first turn in file
order that matches and has uses left answers. `times` defaults to 1 so that a plain list of
turns plays in order (429, then the answer); `delegation_loop` defaults to unlimited, since
endless is its point. A request no turn answers gets an error naming it, never an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from devtools.scripted_model.presets import PresetError, build_preset
from devtools.scripted_model.reply import ToolCallSpec, UsageOverride
from engine.errors import BadInput

__all__ = ["FAULTS", "MessageRole", "Script", "ScriptError", "Turn", "load_script", "parse_script"]

FAULTS: tuple[str, ...] = ("rate_limit", "server_error", "stall", "unauthorized")
MessageRole = Literal["system", "developer", "user", "assistant", "tool", "function"]
_TOP_KEYS = frozenset({"models", "turns"})


class ScriptError(BadInput):
    """The script is not valid YAML, or a turn is malformed (unknown key, fault, preset, regex)."""


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1)
    agent: str | None = Field(None, min_length=1)
    role: MessageRole | None = None
    model: str | None = Field(None, min_length=1)
    regex: str | None = Field(None, min_length=1)
    times: int | Literal["unlimited"] | None = Field(None, description="default 1")
    content: str | None = None
    tool_calls: list[ToolCallSpec] | None = None
    preset: str | None = Field(None, min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    fault: Literal["rate_limit", "server_error", "stall", "unauthorized"] | None = None
    retry_after: float | None = Field(None, ge=0, le=3600)
    status: int | None = Field(None, ge=500, le=599, description="server_error: default 500")
    seconds: float | None = Field(None, gt=0, le=3600)
    served_model: str | None = Field(None, min_length=1)
    usage: UsageOverride | None = None

    _pattern: re.Pattern[str] | None = PrivateAttr(None)
    _limit: int | None = PrivateAttr(1)
    _line: int | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check(self) -> Turn:
        if self.times is not None and not isinstance(self.times, str) and self.times < 1:
            raise ValueError("times must be at least 1, or 'unlimited'")
        if self.regex is not None:
            try:
                self._pattern = re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        if self.params and self.preset is None:
            raise ValueError("params only go with a preset")
        unlimited = False
        if self.preset is not None:
            if self.content is not None or self.tool_calls is not None:
                raise ValueError("give a preset or content/tool_calls, not both")
            try:
                canned = build_preset(self.preset, self.params)
            except PresetError as exc:
                raise ValueError(str(exc)) from None
            self.content = canned.content
            self.tool_calls = canned.tool_calls or None
            unlimited = canned.unlimited
        self._check_fault()
        if self.times is None:
            self._limit = None if unlimited else 1
        else:
            self._limit = None if self.times == "unlimited" else self.times
        return self

    def _check_fault(self) -> None:
        replies = self.content is not None or bool(self.tool_calls)
        if self.fault in ("rate_limit", "server_error", "unauthorized") and replies:
            raise ValueError(f"a {self.fault} fault sends no content, tool_calls or preset")
        if self.fault is None and not replies:
            raise ValueError("a turn needs content, tool_calls, a preset or a fault")
        if self.retry_after is not None and self.fault != "rate_limit":
            raise ValueError("retry_after goes with fault: rate_limit")
        if self.status is not None and self.fault != "server_error":
            raise ValueError("status goes with fault: server_error")
        if self.fault == "stall" and self.seconds is None:
            raise ValueError("a stall needs seconds")
        if self.seconds is not None and self.fault != "stall":
            raise ValueError("seconds goes with fault: stall")

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return self._pattern

    @property
    def limit(self) -> int | None:
        """How many requests this turn answers; None is unlimited."""
        return self._limit

    @property
    def line(self) -> int | None:
        """The turn's line in its YAML file, when it came from one."""
        return self._line


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    source: str = Field("<script>", exclude=True)

    def label(self, index: int, *, named: bool = True) -> str:
        """`turn 3 'name' (line 12)`: how recordings name a turn (1-based). Error texts sent to
        clients leave the name out (`named=False`): LiteLLM reads any error that says "rate
        limit" as a RateLimitError, so a turn named that way would change the error's type."""
        turn = self.turns[index]
        text = f"turn {index + 1}"
        if named and turn.name:
            text += f" {turn.name!r}"
        if turn.line is not None:
            text += f" (line {turn.line})"
        return text

    def listed_models(self) -> list[str]:
        """What GET /v1/models lists: `models`, else the turns' model names, else `scripted`."""
        if self.models:
            return list(self.models)
        named = list(dict.fromkeys(t.model for t in self.turns if t.model is not None))
        return named or ["scripted"]


def load_script(path: Path) -> Script:
    """Read and check a YAML script file; `ScriptError` (one line) on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScriptError(f"{path}: cannot read the script: {reason}") from None
    return parse_script(text, source=str(path))


def parse_script(
    document: str | Sequence[Mapping[str, Any]] | Mapping[str, Any], *, source: str = "<script>"
) -> Script:
    """A script from YAML text, or from the data YAML would give (a list of turns or a mapping
    with `turns`)."""
    lines: list[int | None] = []
    if isinstance(document, str):
        data, lines = _read_yaml(document, source)
    else:
        data = document
    if isinstance(data, Mapping):
        unknown = sorted(str(key) for key in data if key not in _TOP_KEYS)
        if unknown:
            raise ScriptError(
                f"{source}: unknown top-level key {unknown[0]!r} (expected models, turns)"
            )
        body: dict[str, Any] = dict(data)
    elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
        body = {"turns": list(data)}
    else:
        hint = " (to load a file, pass a Path)" if isinstance(data, str) else ""
        raise ScriptError(f"{source}: a script is a list of turns or a mapping with 'turns'{hint}")
    try:
        script = Script.model_validate({**body, "source": source})
    except ValidationError as exc:
        raise ScriptError(_first_error(exc, source, lines)) from None
    for index, turn in enumerate(script.turns):
        turn._line = lines[index] if index < len(lines) else None
    return script


def _read_yaml(text: str, source: str) -> tuple[Any, list[int | None]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScriptError(f"{source}: malformed YAML{where}: {problem}") from None
    return data, _turn_lines(node)


def _turn_lines(node: yaml.Node | None) -> list[int | None]:
    """1-based line of each turn, from the composed YAML tree."""
    if isinstance(node, yaml.MappingNode):
        node = next(
            (value for key, value in node.value if getattr(key, "value", None) == "turns"), None
        )
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]


def _first_error(exc: ValidationError, source: str, lines: Sequence[int | None]) -> str:
    errors = exc.errors()
    err = errors[0]
    loc = list(err["loc"])
    where = source
    if len(loc) >= 2 and loc[0] == "turns" and isinstance(loc[1], int):
        index = loc[1]
        line = lines[index] if index < len(lines) else None
        where += f": turn {index + 1}" + (f" (line {line})" if line is not None else "")
        loc = loc[2:]
    field = _field(loc)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif field == "times":
        message = "expected an integer of at least 1, or 'unlimited'"
    elif err["type"] == "literal_error" and field == "fault":
        message = f"unknown fault {err['input']!r} (expected {', '.join(FAULTS)})"
    # A union reports once per branch; count the places, not the branches.
    places = {(*e["loc"][:2], _field(list(e["loc"][2:]))) for e in errors}
    extra = "" if len(places) == 1 else f" (and {len(places) - 1} more)"
    return f"{where}: {field + ': ' if field else ''}{message}{extra}"


def _field(loc: Sequence[Any]) -> str:
    # A union's branch names (`int`, `literal['unlimited']`) say nothing to a script's author.
    return ".".join(str(part) for part in loc if not _is_branch(part))


def _is_branch(part: object) -> bool:
    return isinstance(part, str) and (part in ("int", "str") or part.startswith("literal["))
