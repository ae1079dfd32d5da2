"""Short human durations (`30m`, `4h`, `2d`) and the moment they end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from engine.errors import BadInput

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([mhd])\s*")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """A number and a unit: m (minutes), h (hours) or d (days); more than zero."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise BadInput(f"{what} {text!r}: give a number and m, h or d (e.g. 30m, 4h, 2d)")
    amount = float(match.group(1))
    if amount <= 0:
        raise BadInput(f"{what} {text!r}: must be more than zero")
    return timedelta(**{_UNITS[match.group(2)]: amount})


def expires_at(text: str, *, what: str = "duration", now: datetime | None = None) -> str:
    """The ISO time, in UTC, at which a lifetime of `text` that starts `now` ends."""
    start = now if now is not None else datetime.now(UTC)
    return (start + parse_duration(text, what=what)).isoformat()
