"""The local review page for the approval queue: a Starlette app with Jinja2 templates.

Pages are rendered on the server; the only script copies the reviewer's name into the forms
and polls `/api/items` so that an item decided elsewhere (the CLI, another reviewer, the
policy, expiry) shows as decided without a reload. Every decision is a plain form POST that
redirects back to the item (POST, redirect, GET), or re-renders it with the reason it was
refused: already decided by someone else (409), or bad input such as an empty rejection
reason or an edited batch the gate refused (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from pygments.formatters import HtmlFormatter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from cli.serve.decisions import ItemFilter, ReviewDesk
from cli.serve.item_view import item_view
from cli.serve.token_guard import TokenGuard

if TYPE_CHECKING:
    from engine.approvals.models import ApprovalItem

HERE = Path(__file__).parent
REVIEWER_COOKIE = "vibehq_reviewer"
KINDS = ("patch_batch", "needs_model", "plan_change", "quarantine_release")
STATES = ("pending", "approved", "rejected", "expired")
ANY = "any"
DONE = {
    "approved": "You approved item {id}.",
    "edited": "You approved item {id} with your edit.",
    "rejected": "You rejected item {id}.",
}


@dataclass(frozen=True)
class ReviewConfig:
    desk: ReviewDesk
    token: str
    reviewer: str
    poll_ms: int = 2000


def review_app(config: ReviewConfig) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(
        css=(HERE / "static" / "review.css").read_text(encoding="utf-8") + _code_style(),
        script=(HERE / "static" / "review.js").read_text(encoding="utf-8"),
        poll_ms=config.poll_ms,
    )
    pages = _Pages(config, templates)
    routes = [
        Route("/", pages.listing),
        Route("/items/{item_id:int}", pages.item),
        Route("/items/{item_id:int}/approve", pages.approve, methods=["POST"]),
        Route("/items/{item_id:int}/edit", pages.approve_edit, methods=["POST"]),
        Route("/items/{item_id:int}/reject", pages.reject, methods=["POST"]),
        Route("/api/items", pages.api_items),
        Route("/api/items/{item_id:int}", pages.api_item),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TokenGuard, token=config.token)])


def item_state(item: ApprovalItem) -> dict[str, Any]:
    """What the live update needs of an item: its state and who decided it, when."""
    decision = item.decision
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "state": item.state,
        "decided_by": None if decision is None else decision.by,
        "decided_at": None if decision is None else decision.at,
        "reason": None if decision is None else decision.reason,
        "auto": False if decision is None else decision.auto,
        "edited": item.edited,
    }


class _Pages:
    def __init__(self, config: ReviewConfig, templates: Jinja2Templates) -> None:
        self.config = config
        self.desk = config.desk
        self.templates = templates

    def _reviewer(self, request: Request) -> str:
        return unquote(request.cookies.get(REVIEWER_COOKIE, "")) or self.config.reviewer

    async def listing(self, request: Request) -> Response:
        wanted = _filter(request)
        items = await run_in_threadpool(self.desk.items, wanted)
        return self.templates.TemplateResponse(
            request,
            "list.html",
            {
                "items": items,
                "wanted": wanted,
                "states": STATES,
                "kinds": KINDS,
                "any": ANY,
                "reviewer": self._reviewer(request),
                "page": "list",
            },
        )

    async def item(self, request: Request) -> Response:
        from engine.errors import BadInput

        item_id = int(request.path_params["item_id"])
        try:
            item = await run_in_threadpool(self.desk.item, item_id)
        except BadInput as exc:
            return self._not_found(request, exc.message)
        done = DONE.get(request.query_params.get("done", ""))
        return self._item_page(request, item, notice=done and done.format(id=item.id))

    async def approve(self, request: Request) -> Response:
        form = await request.form()
        return await self._decide(
            request,
            "approved",
            lambda item_id, by: self.desk.approve(item_id, by=by, reason=_text(form, "reason")),
        )

    async def approve_edit(self, request: Request) -> Response:
        form = await request.form()
        batch_json = _text(form, "batch")
        return await self._decide(
            request,
            "edited",
            lambda item_id, by: self.desk.approve_edit(
                item_id, by=by, reason=_text(form, "reason"), batch_json=batch_json
            ),
            edit_text=batch_json,
        )

    async def reject(self, request: Request) -> Response:
        form = await request.form()
        return await self._decide(
            request,
            "rejected",
            lambda item_id, by: self.desk.reject(item_id, by=by, reason=_text(form, "reason")),
        )

    async def api_items(self, request: Request) -> Response:
        wanted = _filter(request, default_state=None)
        items = await run_in_threadpool(self.desk.items, wanted)
        states = [item_state(item) for item in items]
        return JSONResponse(
            {"items": states, "pending": sum(s["state"] == "pending" for s in states)}
        )

    async def api_item(self, request: Request) -> Response:
        from engine.errors import BadInput

        try:
            item = await run_in_threadpool(self.desk.item, int(request.path_params["item_id"]))
        except BadInput as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        return JSONResponse(item_state(item))

    async def _decide(
        self,
        request: Request,
        done: str,
        decide: Callable[[int, str], ApprovalItem],
        *,
        edit_text: str | None = None,
    ) -> Response:
        from engine.approvals.queue import AlreadyDecided
        from engine.errors import VibehqError

        form = await request.form()
        item_id = int(request.path_params["item_id"])
        by = _text(form, "reviewer").strip() or self._reviewer(request)
        try:
            await run_in_threadpool(decide, item_id, by)
        except AlreadyDecided as exc:
            return self._item_page(
                request,
                exc.item,
                error=f"Already decided: {exc.message}",
                status=409,
                reviewer=by,
            )
        except VibehqError as exc:
            try:
                item = await run_in_threadpool(self.desk.item, item_id)
            except VibehqError:
                return self._not_found(request, exc.message)
            return self._item_page(
                request, item, error=exc.message, status=400, edit_text=edit_text, reviewer=by
            )
        response = RedirectResponse(f"/items/{item_id}?done={done}", status_code=303)
        response.set_cookie(REVIEWER_COOKIE, quote(by), samesite="strict")
        return response

    def _item_page(
        self,
        request: Request,
        item: ApprovalItem,
        *,
        notice: str | None = None,
        error: str | None = None,
        status: int = 200,
        edit_text: str | None = None,
        reviewer: str | None = None,
    ) -> Response:
        view = item_view(item)
        if edit_text is not None:
            view.edit_template = edit_text
        return self.templates.TemplateResponse(
            request,
            "item.html",
            {
                "item": item,
                "view": view,
                "notice": notice,
                "error": error,
                "reviewer": reviewer or self._reviewer(request),
                "page": "item",
            },
            status_code=status,
        )

    def _not_found(self, request: Request, message: str) -> Response:
        return self.templates.TemplateResponse(
            request,
            "missing.html",
            {"message": message, "reviewer": self._reviewer(request), "page": "missing"},
            status_code=404,
        )


def _code_style() -> str:
    """Pygments' token colours for `.code`, without the style's own background: the diff's
    cells are coloured by what happened to the line."""
    rules = HtmlFormatter(style="friendly").get_style_defs(".code")  # type: ignore[no-untyped-call]
    return "\n".join(line for line in rules.splitlines() if not line.startswith(".code {"))


def _filter(request: Request, *, default_state: str | None = "pending") -> ItemFilter:
    query = request.query_params
    state = query.get("state", default_state or ANY)
    kind = query.get("kind", ANY)
    return ItemFilter(
        state=state if state in STATES else None,
        kind=kind if kind in KINDS else None,
        text=query.get("q", ""),
    )


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
