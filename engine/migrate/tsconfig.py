"""Read a tsconfig.json (JSONC: comments and trailing commas allowed) for its path aliases."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.errors import BadInput

# Strings first so that `//` inside a string is not taken for a comment.
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def strip_jsonc(text: str) -> str:
    without = _TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)
    return _TRAILING_COMMA.sub(r"\1", without)


def read_paths(path: Path) -> dict[str, list[str]]:
    """`compilerOptions.paths`, with targets made relative to the workspace via `baseUrl`."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(strip_jsonc(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path.name}: not valid JSON(C): {exc}") from exc
    options = data.get("compilerOptions") or {}
    base = str(options.get("baseUrl") or ".").strip("/")
    prefix = "" if base in ("", ".") else base.removeprefix("./") + "/"
    paths = options.get("paths") or {}
    return {
        key: [prefix + str(t).removeprefix("./") for t in targets]
        for key, targets in paths.items()
        if isinstance(targets, list)
    }
