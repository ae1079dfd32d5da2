"""No raw SQL outside the package that owns the table.

Each ledger table belongs to one engine package, which declares it (`TableSchema`) and holds
every query on it; the ledger keeps the connection, the migrations and the `events` log. This
test reads the source of every application module and fails on a SQL statement that names a
ledger table outside that table's modules, and on any `execute` call outside them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("engine", "tools", "crews", "agents", "cli", "bench", "main.py")

# table -> the modules (repo-relative paths) allowed to write SQL on it.
OWNERS: dict[str, frozenset[str]] = {
    "events": frozenset({"engine/ledger/store.py"}),
    "schema_versions": frozenset({"engine/ledger/store.py"}),
    "patch_events": frozenset({"engine/patch/patch_events.py", "engine/patch/reports.py"}),
    "approvals": frozenset({"engine/approvals/table.py", "engine/approvals/queue.py"}),
    "model_calls": frozenset({"engine/route/calls.py"}),
    "agent_events": frozenset({"engine/validate/quarantine.py"}),
    "specialist_queue": frozenset({"engine/validate/triggers.py"}),
    "epic_runs": frozenset({"engine/epic/store.py"}),
    "epic_steps": frozenset({"engine/epic/store.py"}),
}
SQL_MODULES = frozenset().union(*OWNERS.values())
_EXECUTE = {"execute", "executemany", "executescript"}
# Upper-case keywords only: prose in docstrings says "from approvals", SQL says FROM.
_TABLE_REF = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|ON|TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+(\w+)\b")


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, f-strings with their holes as `?`."""
    found: list[tuple[int, str]] = []
    inside_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstring.add(id(value))
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                else:
                    parts.append("?")
            found.append((node.lineno, "".join(parts)))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in inside_fstring
        ):
            found.append((node.lineno, node.value))
    return found


def violations(rel: str, source: str) -> list[str]:
    """What `rel` (a repo-relative path) does against the ownership rule."""
    tree = ast.parse(source, filename=rel)
    problems: list[str] = []
    for line, text in _strings(tree):
        for table in _TABLE_REF.findall(text):
            owners = OWNERS.get(table)
            if owners is not None and rel not in owners:
                problems.append(
                    f"{rel}:{line}: SQL on `{table}`, owned by {', '.join(sorted(owners))}"
                )
    if rel not in SQL_MODULES:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _EXECUTE
            ):
                problems.append(
                    f"{rel}:{node.lineno}: `{node.func.attr}` outside the modules owning a "
                    "ledger table; call the owner's query function"
                )
    return problems


def _modules() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = REPO_ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def test_no_raw_sql_outside_the_owning_module() -> None:
    modules = _modules()
    assert len(modules) > 100, "the scan found too few modules; check SCANNED"
    problems = [
        problem
        for path in modules
        for problem in violations(
            path.relative_to(REPO_ROOT).as_posix(), path.read_text(encoding="utf-8")
        )
    ]
    assert problems == []


def test_every_owner_module_exists_and_declares_its_table() -> None:
    for table, owners in OWNERS.items():
        text = "".join((REPO_ROOT / rel).read_text(encoding="utf-8") for rel in owners)
        assert re.search(rf"CREATE TABLE {table}\b", text), f"no module of {table} creates it"


@pytest.mark.parametrize(
    ("rel", "source", "expected"),
    [
        (
            "engine/epic/report.py",
            'conn.execute("SELECT COUNT(*) FROM model_calls WHERE run_id = ?", (r,))',
            ["SQL on `model_calls`", "`execute` outside"],
        ),
        (
            "tools/workspace.py",
            'rows = db.execute(f"SELECT {cols} FROM patch_events WHERE batch_id IN ({marks})")',
            ["SQL on `patch_events`", "`execute` outside"],
        ),
        (
            "engine/route/calls.py",
            'SQL = ("INSERT INTO agent_events (ts, agent)" " VALUES (?, ?)")',
            ["SQL on `agent_events`"],
        ),
        ("engine/plan/history.py", 'q = "UPDATE epic_steps SET status = ?"', ["`epic_steps`"]),
        ("engine/route/calls.py", 'conn.execute("SELECT 1 FROM model_calls")', []),
        ("engine/plan/history.py", '"""Changes read from approvals and events."""', []),
    ],
)
def test_the_check_catches_sql_in_the_wrong_module(
    rel: str, source: str, expected: list[str]
) -> None:
    found = violations(rel, source)
    assert len(found) == len(expected)
    for problem, text in zip(found, expected, strict=True):
        assert text in problem
