"""POST a batch's events to the orchestrator (`{url}/api/patches/events`), with bounded retries.

A failed webhook never fails the patch: the outcome is returned and recorded, not raised.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from pydantic import BaseModel

from engine.ledger.events import PatchEvent
from engine.settings import WebhookSettings

EVENTS_PATH = "/api/patches/events"


class WebhookOutcome(BaseModel):
    url: str
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def post_events(
    base_url: str, batch_id: str, events: Sequence[PatchEvent], settings: WebhookSettings
) -> WebhookOutcome:
    url = base_url.rstrip("/") + EVENTS_PATH
    body = json.dumps(
        {"batchId": batch_id, "events": [e.model_dump(mode="json") for e in events]}
    ).encode()
    attempts = 0
    status: int | None = None
    error: str | None = None
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff_s * 2 ** (attempt - 1))
        attempts += 1
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:
                status = int(response.status)
            return WebhookOutcome(url=url, delivered=True, attempts=attempts, status=status)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
            if not _retryable(exc.code):
                break
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    return WebhookOutcome(url=url, delivered=False, attempts=attempts, status=status, error=error)
