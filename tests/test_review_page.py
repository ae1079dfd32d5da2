"""The review page of `vibehq approvals serve`, in process with Starlette's TestClient: the
token check, the JSON the live update polls, the diff with its pinned findings, and decisions
going through the queue (one wins, the ledger records who decided). The same pages in a real
browser: tests/test_review_browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cli.serve.decisions import ReviewDesk
from cli.serve.review_app import ReviewConfig, review_app
from cli.serve.side_by_side import Pin, side_by_side
from cli.serve.token_guard import COOKIE
from engine.approvals.queue import DECIDED_EVENT, get_item, reject, subject
from engine.ledger.store import Ledger
from engine.patch.diff import unified_diff
from engine.settings import load_settings
from engine.workspace import Workspace
from tests.review_seed import TYPE_ERROR, SeededQueue, seed_queue

TOKEN = "t0ken-for-the-tests-0123456789"


@pytest.fixture
def queue(ws: Path) -> SeededQueue:
    return seed_queue(ws)


@pytest.fixture
def client(queue: SeededQueue) -> Iterator[TestClient]:
    workspace = Workspace.open(queue.root)
    desk = ReviewDesk(workspace, load_settings(workspace.root), validate=False)
    app = review_app(ReviewConfig(desk=desk, token=TOKEN, reviewer="dora"))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as test_client:
        yield test_client


def authed(client: TestClient) -> TestClient:
    assert client.get(f"/?token={TOKEN}").status_code == 200
    return client


def decided_events(root: Path, item_id: int) -> list[dict[str, object]]:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        return [e.payload for e in ledger.events(kind=DECIDED_EVENT, subject=subject(item_id))]


# --- the token ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/?token=wrong", "/items/1", "/api/items", "/api/items/1?token=", "/nowhere"]
)
def test_every_request_without_the_token_is_refused(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 403
    assert "token" in response.text
    assert COOKIE not in response.cookies


def test_a_post_without_the_token_decides_nothing(client: TestClient, queue: SeededQueue) -> None:
    response = client.post(f"/items/{queue.plain}/approve", data={"reviewer": "mallory"})
    assert response.status_code == 403
    assert decided_events(queue.root, queue.plain) == []


def test_the_token_in_the_url_sets_a_strict_cookie_that_later_requests_use(
    client: TestClient,
) -> None:
    response = client.get(f"/?token={TOKEN}")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert client.get("/api/items").status_code == 200
    client.cookies.clear()
    client.cookies.set(COOKIE, "stale")
    assert client.get("/api/items").status_code == 403


# --- the JSON the page polls ----------------------------------------------------------------------


def test_api_items_reports_every_item_and_who_decided_it(
    client: TestClient, queue: SeededQueue
) -> None:
    data = authed(client).get("/api/items").json()
    states = {item["id"]: (item["state"], item["decided_by"]) for item in data["items"]}
    assert states[queue.plain] == ("pending", None)
    assert states[queue.decided] == ("approved", "carol")
    assert data["pending"] == 7


def test_api_items_sees_a_decision_made_elsewhere(client: TestClient, queue: SeededQueue) -> None:
    authed(client)
    with Ledger.open(Workspace.open(queue.root).ledger_path) as ledger:
        reject(ledger, queue.to_reject, by="erin", reason="not now")
    one = client.get(f"/api/items/{queue.to_reject}").json()
    assert (one["state"], one["decided_by"], one["reason"]) == ("rejected", "erin", "not now")
    listed = {i["id"]: i for i in client.get("/api/items?state=pending").json()["items"]}
    assert queue.to_reject not in listed and queue.plain in listed
    assert client.get("/api/items/999").status_code == 404


# --- pages ----------------------------------------------------------------------------------------


def test_the_list_shows_pending_items_and_filters_by_kind_and_folder(
    client: TestClient, queue: SeededQueue
) -> None:
    page = authed(client).get("/").text
    assert "add two to x" in page and "answer the notes query" in page
    assert "already decided" not in page
    assert "already decided" in client.get("/?state=any").text
    by_kind = client.get("/?kind=needs_model").text
    assert "answer the notes query" in by_kind and "add two to x" not in by_kind
    by_folder = client.get("/?q=src/lib").text
    assert "label the total" in by_folder and "stub out total" in by_folder
    assert "rename y" not in by_folder


def test_the_item_page_pins_quality_findings_and_type_errors_to_their_lines(
    client: TestClient, queue: SeededQueue
) -> None:
    authed(client)
    stub = client.get(f"/items/{queue.refused}").text
    row = stub.split('<tr class="row pinned">', 1)[1].split("</tr>", 2)
    assert '<td class="num">2</td>' in row[0] and "TODO" in row[0]
    assert "INCOMPLETE_CODE" in row[1] and "line 2" in row[1]
    assert "quality_violation" in stub
    typed = client.get(f"/items/{queue.typed}").text
    pinned = typed.split('<tr class="row pinned">', 1)[1].split("</tr>", 2)
    assert '<td class="num">6</td>' in pinned[0] and "TS2322" in pinned[1]
    assert TYPE_ERROR.replace("'", "&#39;") in pinned[1]
    assert "validation: tsc failed: 1 new error" in typed


def test_the_item_page_of_a_needs_model_item_says_why(
    client: TestClient, queue: SeededQueue
) -> None:
    page = authed(client).get(f"/items/{queue.question}").text
    assert "the SQL text is built at run time" in page
    assert "apps/notes/src/db.ts:1-1" in page
    assert "&#34;op&#34;: &#34;replace-block&#34;" in page
    assert client.get("/items/999").status_code == 404


# --- decisions ------------------------------------------------------------------------------------


def test_approve_records_the_reviewer_and_a_second_decision_is_refused(
    client: TestClient, queue: SeededQueue
) -> None:
    authed(client)
    first = client.post(f"/items/{queue.plain}/approve", data={"reviewer": "alice"})
    assert first.status_code == 303
    assert first.headers["location"] == f"/items/{queue.plain}?done=approved"
    second = client.post(
        f"/items/{queue.plain}/reject", data={"reviewer": "bob", "reason": "too late"}
    )
    assert second.status_code == 409
    assert f"item {queue.plain} was already approved by alice" in second.text
    [event] = decided_events(queue.root, queue.plain)
    assert (event["state"], event["by"]) == ("approved", "alice")


def test_reject_needs_a_reason(client: TestClient, queue: SeededQueue) -> None:
    authed(client)
    refused = client.post(f"/items/{queue.to_reject}/reject", data={"reviewer": "bob"})
    assert refused.status_code == 400 and "a rejection needs a reason" in refused.text
    done = client.post(
        f"/items/{queue.to_reject}/reject", data={"reviewer": "bob", "reason": "wrong name"}
    )
    assert done.status_code == 303
    with Ledger.open(Workspace.open(queue.root).ledger_path) as ledger:
        item = get_item(ledger, queue.to_reject)
    assert item.decision is not None
    assert (item.state, item.decision.by, item.decision.reason) == ("rejected", "bob", "wrong name")


def test_approve_with_an_edit_goes_through_the_gate_and_keeps_the_original(
    client: TestClient, queue: SeededQueue
) -> None:
    authed(client)
    edited = (
        '{"reason": "widen y more", "patches": [{"op": "replace-block", "file": "src/y.ts",'
        ' "start": 1, "end": 1, "block": "export const y = 3;"}]}'
    )
    broken = client.post(
        f"/items/{queue.to_edit}/edit", data={"reviewer": "alice", "batch": "{not json"}
    )
    assert broken.status_code == 400 and "malformed JSON" in broken.text
    assert "{not json" in broken.text
    done = client.post(f"/items/{queue.to_edit}/edit", data={"reviewer": "alice", "batch": edited})
    assert done.status_code == 303
    with Ledger.open(Workspace.open(queue.root).ledger_path) as ledger:
        item = get_item(ledger, queue.to_edit)
    assert item.state == "approved" and item.edited and item.original_payload is not None
    assert item.payload.kind == "patch_batch"
    assert "+export const y = 3;" in item.payload.diff
    assert (queue.root / "src/y.ts").read_text() == "export const y = 1;\n"
    page = client.get(f"/items/{queue.to_edit}?done=edited").text
    assert f"You approved item {queue.to_edit} with your edit." in page
    assert "with an edited batch" in page


def test_the_reviewer_defaults_to_the_approver_then_to_the_last_name_used(
    client: TestClient, queue: SeededQueue
) -> None:
    authed(client)
    client.post(f"/items/{queue.plain}/approve", data={"reviewer": ""})
    [event] = decided_events(queue.root, queue.plain)
    assert event["by"] == "dora"
    client.post(f"/items/{queue.contested}/approve", data={"reviewer": "Zoë K"})
    assert 'value="Zoë K"' in client.get("/").text


# --- the diff -------------------------------------------------------------------------------------


def test_side_by_side_pairs_removed_and_added_lines_and_pins_by_new_line() -> None:
    old = b"a = 1\nb = 2\nc = 3\nd = 4\n"
    new = b"a = 1\nB = 20\nB2 = 21\nc = 3\n"
    diff = unified_diff("m.py", old, new)
    pin = Pin("quality", "high", "X", "here", 3)
    far = Pin("tsc", "error", "TS1", "far away", 400)
    [view] = side_by_side(diff, [("./m.py", pin), ("m.py", far), ("other.py", pin)])
    rows = view.hunks[0].rows
    pairs = [(r.left.kind, r.left.number, r.right.kind, r.right.number) for r in rows]
    assert pairs == [
        ("context", 1, "context", 1),
        ("del", 2, "add", 2),
        ("empty", None, "add", 3),
        ("context", 3, "context", 4),
        ("del", 4, "empty", None),
    ]
    assert rows[2].pins == [pin] and view.unpinned == [far]
    assert '<span class="n">B2</span>' in rows[2].right.html


def test_a_needs_model_item_is_answered_with_an_edit(
    client: TestClient, queue: SeededQueue
) -> None:
    authed(client)
    answer = (
        '{"reason": "answer", "patches": [{"op": "replace-block", "file": '
        '"apps/notes/src/db.ts", "start": 1, "end": 1, "block": "export const q = 2;"}]}'
    )
    done = client.post(f"/items/{queue.question}/edit", data={"reviewer": "ann", "batch": answer})
    assert done.status_code == 303
    page = client.get(f"/items/{queue.question}").text
    assert "the answer approved with it" in page and "approved by <b>ann</b>" in page
    with Ledger.open(Workspace.open(queue.root).ledger_path) as ledger:
        item = get_item(ledger, queue.question)
    assert item.payload.kind == "needs_model" and item.payload.answer is not None


def test_a_batch_the_gate_refused_can_only_be_approved_with_an_edit(
    client: TestClient, queue: SeededQueue
) -> None:
    from engine.approvals.models import ApprovalRequest
    from engine.approvals.queue import submit
    from engine.approvals.review import review_batch
    from engine.patch.models import PatchBatch
    from engine.settings import ApprovalSettings, Settings

    workspace = Workspace.open(queue.root)
    elided = PatchBatch.model_validate(
        {
            "patches": [
                {
                    "op": "replace-block",
                    "file": "src/lib/total.ts",
                    "start": 2,
                    "end": 4,
                    "block": "  // ... existing code ...\n  return 0;",
                }
            ]
        }
    )
    payload = review_batch(workspace, elided, Settings())
    assert payload.refused is not None
    with Ledger.open(workspace.ledger_path) as ledger:
        item = submit(ledger, ApprovalRequest(payload=payload, title="elided"), ApprovalSettings())
    page = authed(client).get(f"/items/{item.id}").text
    assert 'id="refused"' in page and "refused by the gate" in page
    assert 'id="approve" disabled' in page
    refused = client.post(f"/items/{item.id}/approve", data={"reviewer": "ann"})
    assert refused.status_code == 400 and "the gate refused this batch" in refused.text
    assert decided_events(queue.root, item.id) == []


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(cli: Any, queue: SeededQueue) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("approvals", "serve", "--port", str(port), "-w", queue.root)
    assert result.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.err
    assert "Traceback" not in result.err
