"""Bounds on every input vibehq reads: batch, manifest, tasks.json, epic spec, settings.

One place decides what an input may be, so each loader refuses the same things the same way,
as a typed error (one line, exit 2) raised before anything is written:
- a file larger than `MAX_INPUT_BYTES` is not read;
- text is strict UTF-8; the error names the byte offset of the first bad byte;
- JSON and YAML nest at most `MAX_DEPTH` levels (Python's parsers and pydantic recurse, and
  5,000 nested `[` would otherwise end in a RecursionError);
- YAML anchors and aliases are refused: none of our formats needs them, and they are how a
  self-referencing document (`sources: &s [*s]`) or "billion laughs" gets in;
- no string, key or value, holds a lone surrogate (JSON's `"\\ud800"` escape makes one, and it
  fails later when written as UTF-8); the error names the field;
- a path (from a file or the command line) has no NUL and stays within `MAX_PATH_CHARS`
  characters, `MAX_PATH_PARTS` components and `MAX_NAME_BYTES` bytes per component, checked
  before the OS sees it; a glob has at most `MAX_GLOB_STARS` `**` components.

Each function takes the error class to raise, so a loader keeps its own typed error
(`BatchFormatError`, `ManifestError`, `PlanError`, ...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator

from engine.errors import BadInput

MAX_INPUT_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 64
MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255
# pathlib builds a glob's matcher recursively, one level per component, and every `**`
# multiplies the folders a glob walks: bounds well above any real path or glob.
MAX_PATH_PARTS = 128
MAX_GLOB_STARS = 8

ErrorType = type[BadInput]


class InputRefused(BadInput):
    """An input is past one of vibehq's bounds (size, depth, encoding, aliases, path length)."""


def check_path_text(value: str, *, field: str = "path", error: ErrorType = InputRefused) -> str:
    """`value` as a path: no NUL, not over-long. Returns it unchanged."""
    if "\x00" in value:
        raise error(f"{field}: contains a NUL byte")
    if len(value) > MAX_PATH_CHARS:
        raise error(f"{field}: path is {len(value)} characters long (limit {MAX_PATH_CHARS})")
    parts = value.replace("\\", "/").split("/")
    if len(parts) > MAX_PATH_PARTS:
        raise error(f"{field}: path has {len(parts)} components (limit {MAX_PATH_PARTS})")
    stars = parts.count("**")
    if stars > MAX_GLOB_STARS:
        raise error(f"{field}: glob has {stars} '**' components (limit {MAX_GLOB_STARS})")
    for part in parts:
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise error(
                f"{field}: a path component is {size} bytes long (limit {MAX_NAME_BYTES}): "
                f"{part[:40]!r}..."
            )
    _check_surrogates(value, field, error)
    return value


def path_value(value: str) -> str:
    """`check_path_text` for a pydantic validator: raises ValueError, so pydantic names the
    field in its error."""
    try:
        return check_path_text(value, field="path", error=InputRefused)
    except InputRefused as exc:
        raise ValueError(exc.message.removeprefix("path: ")) from None


# A path field of a model: refuses NUL, over-long paths and lone surrogates where it is read.
PathText = Annotated[str, AfterValidator(path_value)]


def read_input(path: Path, *, what: str, error: ErrorType = InputRefused) -> bytes:
    """The bytes of input file `path`, refused when the path or the size is out of bounds.
    A missing or unreadable file raises `error` too, naming `what` it was meant to be."""
    check_path_text(str(path), field=f"{what} path", error=error)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_INPUT_BYTES:
                raise error(f"{what} {str(path)!r} is {size} bytes; the limit is {MAX_INPUT_BYTES}")
            data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{what} file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise error(f"{what} {str(path)!r} is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{what} {str(path)!r}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise error(f"{what} {str(path)!r} is over the limit of {MAX_INPUT_BYTES} bytes")
    return data


def decode_utf8(
    data: bytes, *, source: str, error: ErrorType = InputRefused, bom: bool = False
) -> str:
    """Strict UTF-8. With `bom`, a leading byte-order mark is dropped."""
    if bom and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise error(f"{source}: not UTF-8 at byte {exc.start} (0x{bad}: {exc.reason})") from None


def check_text(text: str, *, source: str, error: ErrorType = InputRefused) -> str:
    """Text handed in as a str (from a caller, not a file): size and lone surrogates."""
    if len(text) > MAX_INPUT_BYTES:
        raise error(f"{source}: {len(text)} characters; the limit is {MAX_INPUT_BYTES}")
    _check_surrogates(text, "text", error, source=source)
    return text


def load_json(text: str, *, source: str, error: ErrorType = InputRefused) -> Any:
    """Parse JSON within the bounds. Malformed JSON raises `json.JSONDecodeError` as usual,
    so each loader keeps its own wording for it."""
    check_text(text, source=source, error=error)
    try:
        data = json.loads(text)
    except RecursionError:
        raise error(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        # Python refuses integers of more than 4,300 digits with a plain ValueError.
        raise error(f"{source}: {exc}") from None
    check_tree(data, source=source, error=error)
    return data


def load_yaml(text: str, *, source: str, error: ErrorType = InputRefused) -> Any:
    """Parse YAML within the bounds: no anchors or aliases, at most `MAX_DEPTH` levels.
    Malformed YAML raises `yaml.YAMLError` as usual."""
    import yaml

    check_text(text, source=source, error=error)
    check_yaml_events(text, source=source, error=error)
    try:
        data = yaml.load(text, Loader=_safe_loader())
    except RecursionError:
        raise error(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # The safe constructor's own failures: a date like 2020-13-45, a 5,000-digit integer.
        raise error(f"{source}: a value cannot be read: {exc}") from None
    check_tree(data, source=source, error=error)
    return data


def check_yaml_events(text: str, *, source: str, error: ErrorType = InputRefused) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before a node tree is
    built (building it is where a self-referencing or exponential document does harm)."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=_safe_loader()):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise error(
                f"{source}:{line}: YAML anchors and aliases (&name, *name) are not allowed "
                "in vibehq's formats; write the value out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise error(f"{source}:{line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def check_tree(data: Any, *, source: str, error: ErrorType = InputRefused) -> None:
    """Walk parsed data without recursion: depth, and lone surrogates with the field named."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            _check_surrogates(value, where or "value", error, source=source)
            continue
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise error(f"{source}: {where or 'document'}: nested deeper than {MAX_DEPTH}")
            if isinstance(value, list):
                stack.extend((item, f"{where}[{n}]", depth + 1) for n, item in enumerate(value))
                continue
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    _check_surrogates(key, f"{name} (key)", error, source=source)
                stack.append((item, name, depth + 1))


def _check_surrogates(text: str, field: str, error: ErrorType, *, source: str = "") -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = f"{source}: " if source else ""
        shown = field.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise error(
            f"{where}{shown}: lone surrogate U+{ord(text[exc.start]):04X} at character "
            f"{exc.start} (not valid Unicode text)"
        ) from None


def _safe_loader() -> Any:
    # yaml is imported here, not at the top: the workspace imports this module, and most
    # commands never read YAML. The pure-Python loader, not libyaml's: its error wording is
    # what our messages (and their tests) quote.
    import yaml

    return yaml.SafeLoader
