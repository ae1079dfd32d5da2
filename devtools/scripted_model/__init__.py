"""A scripted OpenAI-compatible model server on 127.0.0.1, for tests and demos.

It answers chat completions (plain and streamed, with tool calls) from a YAML script of turns,
and plays the adversarial parts a real model can: 429/500, stalls, malformed tool calls, lazy
or out-of-bounds PatchBatches, path traversal and endless delegation. Nothing here imports
litellm or openai: the clients under test do.
"""

from __future__ import annotations

from devtools.scripted_model.presets import PRESET_NAMES
from devtools.scripted_model.recording import RecordedRequest
from devtools.scripted_model.reply import ToolCallSpec
from devtools.scripted_model.script import (
    FAULTS,
    Script,
    ScriptError,
    Turn,
    load_script,
    parse_script,
)
from devtools.scripted_model.server import AGENT_HEADER, ScriptedModelServer, UnsafeHost

__all__ = [
    "AGENT_HEADER",
    "FAULTS",
    "PRESET_NAMES",
    "RecordedRequest",
    "Script",
    "ScriptError",
    "ScriptedModelServer",
    "ToolCallSpec",
    "Turn",
    "UnsafeHost",
    "load_script",
    "parse_script",
]
