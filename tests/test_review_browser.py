"""`vibehq approvals serve` in a real browser: Debian's chromium, driven by Playwright.

The server is the real command, started as a process on a seeded workspace; the browser is
`/usr/bin/chromium` (Playwright is told its path and downloads nothing). `make test` installs
the package when it is missing; without it these tests fail, saying so, rather than skip.
Screenshots of every page go to artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import queue as queue_module
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.approvals.queue import DECIDED_EVENT, get_item, subject
from engine.ledger.store import Ledger
from engine.workspace import Workspace
from tests.conftest import ROOT
from tests.review_seed import TYPE_ERROR, SeededQueue, seed_queue

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("VIBEHQ_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "artifacts" / "screenshots"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Served:
    url: str
    base: str
    queue: SeededQueue


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM}: run `make browser` "
            "(as root: apt-get install chromium) or set VIBEHQ_CHROMIUM",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # Each launch runs on a fresh temporary user-data-dir that Playwright removes after.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def served(ws: Path) -> Iterator[Served]:
    seeded = seed_queue(ws)
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "approvals",
            "serve",
            "-w",
            str(ws),
            "--approver",
            "dora",
            "--no-validate",
        ],
        cwd=ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = _read_url(process)
        yield Served(url=url, base=url.split("/?", 1)[0], queue=seeded)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_url(process: subprocess.Popen[str]) -> str:
    lines: queue_module.Queue[str] = queue_module.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue_module.Empty:
            raise AssertionError(f"no URL from approvals serve: {''.join(seen)}") from None
        seen.append(line)
        if line.startswith("review page: "):
            url = line.removeprefix("review page: ").strip()
            assert url.startswith("http://127.0.0.1:") and "/?token=" in url
            return url


def shot(page: Page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def decided(root: Path, item_id: int) -> list[dict[str, object]]:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        return [e.payload for e in ledger.events(kind=DECIDED_EVENT, subject=subject(item_id))]


def test_the_list_shows_pending_items_and_filters_them(browser: Browser, served: Served) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url)
    rows = page.locator("table#items tbody tr")
    expect(rows).to_have_count(7)
    expect(page.locator("tr[data-id='8']")).to_have_count(0)
    expect(page.locator("#reviewer")).to_have_value("dora")
    shot(page, "list")
    page.select_option("#filter-kind", "needs_model")
    page.click("#filter-apply")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("answer the notes query")
    page.select_option("#filter-kind", "any")
    page.fill("#filter-q", "src/lib")
    page.click("#filter-apply")
    expect(rows).to_have_count(2)
    expect(page.locator("table#items")).to_contain_text("label the total")
    expect(page.locator("table#items")).to_contain_text("stub out total")
    page.select_option("#filter-state", "approved")
    page.fill("#filter-q", "")
    page.click("#filter-apply")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("approved by carol")
    shot(page, "list-filtered")
    context.close()


def test_the_item_page_shows_the_diff_side_by_side_with_findings_on_their_lines(
    browser: Browser, served: Served
) -> None:
    q = served.queue
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url)
    page.click(f"tr[data-id='{q.typed}'] a >> nth=0")
    expect(page.locator("#item-title")).to_have_text("label the total")
    table = page.locator(".file[data-path='src/lib/total.ts'] table.sbs")
    added = table.locator("tr.row.pinned")
    expect(added.locator("td.num").nth(1)).to_have_text("6")
    expect(added.locator("td.src.add")).to_contain_text('export const label: number = "n";')
    expect(added.locator("td.src.add span.kd")).to_have_text("const")
    pin = table.locator("tr.pin-row li.pin")
    expect(pin).to_contain_text("TS2322")
    expect(pin).to_contain_text(TYPE_ERROR)
    expect(page.locator("#validation")).to_have_text("validation: tsc failed: 1 new error")
    expect(page.locator("#policy")).to_contain_text("needs a human")
    shot(page, "item-diff")

    page.goto(f"{served.base}/items/{q.refused}")
    pinned = page.locator("table.sbs tr.pinned")
    expect(pinned.locator("td.src.del")).to_contain_text("let sum = 0;")
    expect(pinned.locator("td.src.add")).to_contain_text("// TODO: sum the values")
    expect(page.locator("tr.pin-row")).to_contain_text("INCOMPLETE_CODE")
    expect(page.locator("#policy")).to_contain_text("quality_violation")
    shot(page, "item-quality")

    page.goto(f"{served.base}/items/{q.question}")
    expect(page.locator("#needs-model-reason")).to_have_text("the SQL text is built at run time")
    expect(page.locator("#policy")).to_contain_text("needs_model")
    shot(page, "item-needs-model")
    context.close()


def test_approve_edit_and_reject_record_the_reviewer(browser: Browser, served: Served) -> None:
    q = served.queue
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served.url}")
    page.goto(f"{served.base}/items/{q.plain}")
    page.fill("#reviewer", "alice")
    page.fill("#approve-reason", "small and right")
    page.click("#approve")
    expect(page.locator("#notice")).to_have_text(f"You approved item {q.plain}.")
    expect(page.locator("#decision")).to_contain_text("approved by alice")
    expect(page.locator("#actions")).to_have_count(0)
    shot(page, "approved")

    page.goto(f"{served.base}/items/{q.to_reject}")
    expect(page.locator("#reviewer")).to_have_value("alice")
    page.fill("#reject-reason", "wrong name")
    page.click("#reject")
    expect(page.locator("#decision")).to_contain_text("rejected by alice")
    expect(page.locator("#decision")).to_contain_text("wrong name")
    shot(page, "rejected")

    page.goto(f"{served.base}/items/{q.to_edit}")
    page.click("#edit summary")
    textarea = page.locator("#edit-batch")
    expect(textarea).to_contain_text('"block": "export const y = 2;"')
    textarea.fill(textarea.input_value().replace("export const y = 2;", "export const y = 3;"))
    page.fill("#edit-reason", "3, not 2")
    page.click("#approve-edit")
    expect(page.locator("#notice")).to_have_text(f"You approved item {q.to_edit} with your edit.")
    expect(page.locator("#decision")).to_contain_text("with an edited batch")
    expect(page.locator("td.src.add")).to_contain_text("export const y = 3;")
    shot(page, "edited")
    context.close()

    with Ledger.open(Workspace.open(q.root).ledger_path) as ledger:
        plain, rejected, edited = (get_item(ledger, i) for i in (q.plain, q.to_reject, q.to_edit))
    assert plain.decision is not None and rejected.decision is not None
    assert (plain.state, plain.decision.by, plain.decision.reason) == (
        "approved",
        "alice",
        "small and right",
    )
    assert (rejected.state, rejected.decision.by) == ("rejected", "alice")
    assert edited.state == "approved" and edited.edited and edited.original_payload is not None
    assert (q.root / "src/y.ts").read_text() == "export const y = 1;\n"


def test_two_reviewers_deciding_the_same_item(browser: Browser, served: Served) -> None:
    q = served.queue
    alice = browser.new_context().new_page()
    bob_context = browser.new_context()
    bob_list = bob_context.new_page()
    for page in (alice, bob_list):
        page.goto(served.url)
    bob_item = bob_context.new_page()
    # Bob's item page stays as loaded: no live update reaches it before he decides.
    bob_item.route("**/api/items/**", lambda route: route.abort())
    bob_item.goto(f"{served.base}/items/{q.contested}")
    bob_item.fill("#reviewer", "bob")
    bob_item.fill("#reject-reason", "I disagree")

    alice.goto(f"{served.base}/items/{q.contested}")
    alice.fill("#reviewer", "alice")
    alice.click("#approve")
    expect(alice.locator("#decision")).to_contain_text("approved by alice")

    # The live update: bob's open list shows the item decided elsewhere.
    row = bob_list.locator(f"tr[data-id='{q.contested}']")
    expect(row.locator(".state")).to_have_text("approved by alice")
    expect(bob_list.locator("#live")).to_contain_text(f"item {q.contested} was approved by alice")
    shot(bob_list, "live-update")

    bob_item.click("#reject")
    expect(bob_item.locator("#error")).to_contain_text(
        f"Already decided: item {q.contested} was already approved by alice"
    )
    expect(bob_item.locator("#item-state")).to_have_text("approved")
    expect(bob_item.locator("#reviewer")).to_have_value("bob")
    shot(bob_item, "two-reviewers")

    # An open item page learns of a decision made elsewhere too, and stops offering actions.
    bob_open = bob_context.new_page()
    bob_open.goto(f"{served.base}/items/{q.plain}")
    alice.goto(f"{served.base}/items/{q.plain}")
    alice.fill("#reject-reason", "not this one")
    alice.click("#reject")
    expect(bob_open.locator("#live")).to_contain_text(f"item {q.plain} was rejected by alice")
    expect(bob_open.locator("#approve")).to_be_disabled()
    bob_context.close()

    [event] = decided(q.root, q.contested)
    assert (event["state"], event["by"]) == ("approved", "alice")


def test_a_bad_or_missing_token_is_refused(browser: Browser, served: Served) -> None:
    context = browser.new_context()
    page = context.new_page()
    for url in (f"{served.base}/", f"{served.base}/?token=not-the-token", f"{served.base}/items/1"):
        response = page.goto(url)
        assert response is not None and response.status == 403
        assert "403 forbidden" in page.content()
    shot(page, "bad-token")
    assert context.cookies() == []
    context.close()
