"""Fuzzed inputs for vibehq's four input formats: batch, manifest, tasks.json, epic spec.

A case is a file (name and bytes) and the command that reads it. Cases come from a valid seed
of each format, mutated by a `random.Random` (Hypothesis drives one through `st.randoms()`,
`bench/fuzz.py` seeds its own): a value replaced by a hostile one (a lone surrogate, a NUL,
a 5,000-character path, a huge integer, deep nesting), a key added or dropped, or the text
cut, spliced with bad bytes or wrapped in brackets. `NAMED_CASES` are the inputs issue 17
found tracebacks and hangs with; every run includes them.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["batch", "manifest", "tasks", "epic"]
KINDS: tuple[Kind, ...] = ("batch", "manifest", "tasks", "epic")


@dataclass(frozen=True)
class Case:
    kind: Kind
    name: str
    data: bytes
    label: str = "mutated"
    # Replaces the input's path on the command line (a 5,000-character path, a NUL).
    path_arg: str | None = field(default=None)


SEEDS: dict[Kind, Any] = {
    "batch": {
        "requester": "fuzz",
        "reason": "fuzz",
        "patches": [
            {"op": "append", "file": "src/a.ts", "block": "export const z = 1;"},
            {"op": "replace-block", "file": "src/a.ts", "start": 1, "end": 1,
             "block": "export const a = 2;"},
            {"op": "create", "file": "src/new.ts", "block": "export const n = 1;"},
        ],
    },
    "manifest": {
        "name": "fuzz",
        "sources": [{"from": "STAGING/app", "to": "apps/app", "include": ["**/*.ts"]}],
    },
    "tasks": {
        "master": {
            "tasks": [
                {"id": 1, "title": "t", "description": "d", "status": "pending",
                 "dependencies": [], "priority": "medium", "details": "", "testStrategy": "",
                 "subtasks": [{"id": 1, "title": "s", "description": "", "status": "pending",
                               "dependencies": [], "details": ""}]},
                {"id": 2, "title": "u", "description": "e", "status": "done",
                 "dependencies": [1], "priority": "high", "details": "", "testStrategy": "",
                 "subtasks": []},
            ]
        }
    },
    "epic": {"name": "fuzz", "staging": "NO-STAGING", "template": "m-{folder}.yaml"},
}  # fmt: skip

HOSTILE: list[Any] = [
    "\ud800",
    "a\udfffb",
    "src/\x00a.ts",
    "\x00",
    "a" * 5000,
    "a/" * 2600,
    "../../etc/passwd",
    "/etc/passwd",
    "",
    " ",
    "{folder}",
    "{nope}",
    "*" * 200,
    "**/" * 300,
    "(a+)+$",
    "é\u202e\ufeff",
    "sk-" + "A" * 40,
    int("9" * 4000),
    -1,
    0,
    2**63,
    1e308,
    float("nan"),
    True,
    None,
    [],
    {},
    [[[[[]]]]],
    {"a": {"b": {"c": {}}}},
]


def _deep(n: int) -> Any:
    value: Any = []
    for _ in range(n):
        value = [value]
    return value


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix]
    if len(prefix) > 12:
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += _paths(item, (*prefix, n))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


def _hostile(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.15:
        # Deeper nesting comes from the byte mutations: json.dumps itself recurses.
        return _deep(rng.choice([3, 50, 70, 200]))
    if roll < 0.25:
        return "".join(chr(rng.randrange(0, 0x11000)) for _ in range(rng.randrange(1, 12)))
    return copy.deepcopy(rng.choice(HOSTILE))


def _mutate_tree(rng: random.Random, doc: Any) -> Any:
    for _ in range(rng.randrange(1, 4)):
        paths = _paths(doc)
        path = rng.choice(paths)
        roll = rng.random()
        target = doc
        for key in path:
            target = target[key]
        if roll < 0.6 or not isinstance(target, dict | list):
            doc = _set(doc, path, _hostile(rng))
        elif isinstance(target, dict) and roll < 0.75 and target:
            del target[rng.choice(list(target))]
        elif isinstance(target, dict):
            target[rng.choice(["extra", "patches", "sources", "tasks", "op", "from"])] = _hostile(
                rng
            )
        elif target:
            target.append(copy.deepcopy(rng.choice(target)))
    return doc


def _dump(rng: random.Random, doc: Any, as_yaml: bool) -> bytes:
    if as_yaml:
        import yaml

        try:
            text = yaml.safe_dump(doc, allow_unicode=rng.random() < 0.5, sort_keys=False)
            return text.encode("utf-8", "surrogatepass")
        except (yaml.YAMLError, RecursionError, ValueError, TypeError, UnicodeError):
            pass
    try:
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.7)
    except (ValueError, RecursionError):
        text = "{}"
    return text.encode("utf-8", "surrogatepass")


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    roll = rng.random()
    at = rng.randrange(0, len(data) + 1)
    if roll < 0.25:
        return data[:at]
    if roll < 0.5:
        junk = bytes(rng.choice([0x00, 0xFF, 0xC0, 0xED, 0x80, 0x5B, 0x7B, 0x26, 0x2A]) for _ in
                     range(rng.randrange(1, 4)))  # fmt: skip
        return data[:at] + junk + data[at:]
    if roll < 0.65:
        return b"\xef\xbb\xbf" + data
    if roll < 0.8:
        n = rng.choice([10, 100, 5000])
        return b"[" * n + data + b"]" * n
    if roll < 0.9:
        end = rng.randrange(at, len(data) + 1)
        return data[:end] + data[at:end] * rng.randrange(1, 4) + data[end:]
    if roll < 0.95:
        # Past Python's 4,300-digit limit on int(): json.loads raises a plain ValueError.
        return data[:at] + b"9" * 5000 + data[at:]
    return data.replace(b'"', b"'", rng.randrange(0, 4))


def mutated_case(rng: random.Random, kind: Kind | None = None) -> Case:
    kind = kind or rng.choice(KINDS)
    doc = _mutate_tree(rng, copy.deepcopy(SEEDS[kind])) if rng.random() < 0.8 else SEEDS[kind]
    as_yaml = kind in ("manifest", "epic") and rng.random() < 0.6
    data = _dump(rng, doc, as_yaml)
    if rng.random() < 0.3:
        data = _mutate_bytes(rng, data)
    name = {
        "batch": "batch.json",
        "manifest": "manifest.yaml" if as_yaml else "manifest.json",
        "tasks": "tasks.json",
        "epic": "epic.yaml" if as_yaml else "epic.json",
    }[kind]
    return Case(kind=kind, name=name, data=data)


def _billion_laughs() -> str:
    lines = ["name: lol", 'l0: &l0 ["lol"]']
    for n in range(1, 10):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join([*lines, "sources: *l9", ""])


_BILLION_LAUGHS = _billion_laughs()

NAMED_CASES: list[Case] = [
    Case("batch", "batch.json", b'{"patches": [{"op": "append", "file": "src/a.ts", '
         b'"block": "\\ud800"}]}', "lone surrogate in a block"),
    Case("batch", "batch.json", b'{"branch": "\\ud800", "patches": [{"op": "append", '
         b'"file": "src/a.ts", "block": "x"}]}', "lone surrogate in a branch"),
    Case("batch", "batch.json", b"[" * 5000, "5,000 nested [ in a batch"),
    Case("batch", "batch.json", b'{"patches": [{"op": "append", "file": "src/\\u0000a.ts", '
         b'"block": "x"}]}', "NUL in a batch path"),
    Case("batch", "batch.json", json.dumps({"patches": [{"op": "append", "file": "a" * 5000,
         "block": "x"}]}).encode(), "5,000-character path in a batch"),
    Case("batch", "batch.json", b'{"patches": [\xff]}', "0xff byte in a batch"),
    Case("batch", "batch.json", b"{}", "5,000-character batch path argument",
         path_arg="b" * 5000 + ".json"),
    Case("tasks", "tasks.json", b"[" * 5000, "5,000 nested [ in tasks.json"),
    Case("tasks", "tasks.json", json.dumps({"master": {"tasks": [{"id": 1, "title": "\ud800",
         "status": "pending", "dependencies": []}]}}).encode(), "lone surrogate in tasks.json"),
    Case("manifest", "manifest.yaml", b"name: m\nsources: &s [*s]\n", "self-referencing anchor"),
    Case("manifest", "manifest.yaml", _BILLION_LAUGHS.encode(), "billion laughs"),
    Case("manifest", "manifest.yaml", b"[" * 5000, "5,000 nested [ in a manifest"),
    Case("manifest", "manifest.json", json.dumps({"name": "m", "sources": [{"from": "a\x00b",
         "to": "apps/a"}]}).encode(), "NUL in from"),
    Case("manifest", "manifest.yaml", b"name: m\nsources:\n- from: '" + b"**/" * 300 + b"*'\n"
         b"  to: apps/a\n", "300 ** components in a from glob (RecursionError in pathlib)"),
    Case("manifest", "manifest.json", json.dumps({"name": "m", "sources": [{"from": "STAGING",
         "to": "apps/a", "include": ["\ud800"]}]}).encode(), "lone surrogate in a glob"),
    Case("epic", "epic.yaml", b"name: e\nstaging: S\ntemplate: \xff.yaml\n", "0xff in an epic"),
    Case("epic", "epic.yaml", b"[" * 5000, "5,000 nested [ in an epic spec"),
    Case("epic", "epic.json", json.dumps({"name": "e", "staging": "S",
         "template": "m\x00.yaml"}).encode(), "NUL in template"),
    Case("epic", "epic.json", json.dumps({"name": "e", "staging": "s" * 5000,
         "template": "m.yaml"}).encode(), "5,000-character staging path"),
    Case("epic", "epic.yaml", b"name: e\nstaging: &s [*s]\ntemplate: m\n", "anchor in an epic"),
]  # fmt: skip
