"""Redaction (issue 17.7): API keys never reach the ledger, the logs or the screen.

The upstream is the scripted model server with its `unauthorized` fault, which answers 401
quoting the key it was sent, as OpenAI does."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.redact import REDACTED, redact
from engine.route.calls import model_calls
from engine.route.errors import ModelCallFailed
from engine.route.litellm_router import ModelRouter
from engine.settings import load_settings
from tests.conftest import use_scripted_model, write

KEY_VAR = "VIBEHQ_TEST_UPSTREAM_KEY"


def a_key() -> str:
    # No known key shape: only the configured-key path can catch it.
    return "k" + secrets.token_hex(20)


@pytest.mark.parametrize(
    "shape",
    [
        "sk-" + "A1b2" * 10,
        "sk-proj-" + "Zz9_" * 8,
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "rk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "AKIA" + "IOSFODNN7EXAMPLE",
        "ghp_" + "a" * 36,
        "github_pat_" + "11ABCDEFG0" * 3,
        "xoxb-" + "1234567890-abcdefghij",
    ],
)
def test_known_key_shapes_are_redacted_wherever_they_sit(shape: str) -> None:
    assert redact(f"401: Incorrect API key provided: {shape}. Retry") == (
        f"401: Incorrect API key provided: {REDACTED}. Retry"
    )


def test_ordinary_text_is_left_alone() -> None:
    text = 'task-12 sk-short AKIA ghp_x "skipped" xox-nope export const risk_level = 3;'
    assert redact(text) == text


def test_a_configured_key_is_redacted_whatever_its_shape(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = a_key()
    monkeypatch.setenv(KEY_VAR, key)
    assert redact(f"bad key {key}") == f"bad key {key}"  # not configured yet
    configure(ws, "http://127.0.0.1:9/v1")
    load_settings(ws)
    assert redact(f"bad key {key}!") == f"bad key {REDACTED}!"


def configure(ws: Path, base_url: str) -> None:
    use_scripted_model(ws, base_url, key_env=KEY_VAR)


def ledger_bytes(ws: Path) -> bytes:
    state = ws / ".vibehq"
    return b"".join(p.read_bytes() for p in sorted(state.rglob("*")) if p.is_file())


def test_an_echoed_key_is_not_stored_in_the_ledger(
    ws: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = a_key()
    monkeypatch.setenv(KEY_VAR, key)
    srv = model_server([{"fault": "unauthorized", "times": "unlimited"}])
    configure(ws, srv.base_url)
    settings = load_settings(ws)
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        with pytest.raises(ModelCallFailed) as info:
            ModelRouter(settings.route, ledger).complete("hello", tier="complex")
        [row] = model_calls(ledger)
    # The upstream did echo it, so the test would see a leak.
    assert srv.requests and key in info.value.message
    assert row.error is not None and "Incorrect API key provided" in row.error
    assert REDACTED in row.error
    assert key.encode() not in ledger_bytes(ws)


@pytest.mark.integration
def test_chat_once_against_an_upstream_echoing_the_key_shows_and_stores_none_of_it(
    cli: Any, ws: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = a_key()
    monkeypatch.setenv(KEY_VAR, key)
    srv = model_server([{"fault": "unauthorized", "times": "unlimited"}])
    configure(ws, srv.base_url)
    write(ws, ".taskmaster/tasks/tasks.json", '{"master": {"tasks": []}}\n')
    result = cli("chat", "--once", "mark task 4 done", "-w", ws)
    assert result.code != 0 and srv.requests
    assert key not in result.out + result.err
    assert REDACTED in result.out + result.err
    assert key.encode() not in ledger_bytes(ws)


def test_a_crash_is_one_line_exit_70_and_its_log_has_the_traceback_but_no_key(
    cli: Any, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unexpected exception stands for a bug; the test plants one under `tasks list`.
    import engine.plan.ops as ops

    key = "sk-" + secrets.token_hex(20)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"upstream said: bad key {key}")

    monkeypatch.setattr(ops, "list_tasks", broken)
    write(ws, ".taskmaster/tasks/tasks.json", '{"master": {"tasks": []}}\n')
    bare = cli("tasks", "list", "-w", ws)
    assert bare.code == 70 and bare.out == ""
    [line] = bare.err.strip().splitlines()
    assert line.startswith("error: internal error, a bug in vibehq (RuntimeError: upstream said")
    assert "no log written" in line and key not in line
    assert not (ws / ".vibehq").exists()  # a crash never creates the state folder

    (ws / ".vibehq").mkdir()
    logged = cli("tasks", "list", "-w", ws)
    assert logged.code == 70
    [log] = (ws / ".vibehq" / "logs").glob("*.log")
    assert f"traceback in {log}" in logged.err
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text
    assert key not in text and key not in logged.err
