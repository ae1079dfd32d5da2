"""Short durations for `approvals submit --expires-in`: parsed exactly, refused in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.duration import expires_at, parse_duration
from engine.errors import BadInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        (" 4h ", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_a_duration_is_a_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"), [("4", "give a number and m, h or d"), ("0m", "more than zero")]
)
def test_a_bad_duration_names_the_option(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        parse_duration(text, what="--expires-in")
    assert caught.value.message.startswith(f"--expires-in {text!r}")


def test_expiry_is_the_start_plus_the_duration() -> None:
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert expires_at("2d", now=start) == "2026-01-03T12:00:00+00:00"
