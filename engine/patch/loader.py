"""Read a PatchBatch from a file or text, with one clear line for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from engine.errors import BatchFormatError
from engine.inputs import decode_utf8, load_json, read_input
from engine.patch.models import OP_NAMES, PatchBatch


def load_batch_file(path: Path) -> PatchBatch:
    raw = read_input(path, what="batch", error=BatchFormatError)
    text = decode_utf8(raw, source=f"batch file {str(path)!r}", error=BatchFormatError)
    return parse_batch(text, source=str(path))


def parse_batch(text: str, *, source: str = "batch") -> PatchBatch:
    try:
        data = load_json(text, source=source, error=BatchFormatError)
    except json.JSONDecodeError as exc:
        raise BatchFormatError(
            f"{source}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise BatchFormatError(f"{source}: a batch is a JSON object with a 'patches' list")
    try:
        return PatchBatch.model_validate(data)
    except ValidationError as exc:
        raise BatchFormatError(f"{source}: {_first_error(exc, data)}") from exc


def _first_error(exc: ValidationError, data: dict[str, object]) -> str:
    err = exc.errors()[0]
    loc = err["loc"]
    where = ".".join(str(p) for p in loc) or "batch"
    if err["type"] == "literal_error" and loc[-1:] == ("op",):
        bad = err.get("input")
        return f"{where}: unknown op {bad!r}; expected one of {', '.join(OP_NAMES)}"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    msg = str(err["msg"]).removeprefix("Value error, ")
    extra = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}: {msg}{extra}"
