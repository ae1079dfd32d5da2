"""The review page's access check: a random token on every request.

The server binds to 127.0.0.1, but any local process, and any web page the reviewer's
browser opens, can reach a loopback port. So each request must carry the token printed at
start: in the URL (`?token=...`), or in the cookie set after the first good request, which is
`SameSite=Strict` so another site's form cannot post with it. Anything else gets 403.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "vibehq_review_token"
QUERY = "token"


def new_token() -> str:
    return secrets.token_urlsafe(24)


class TokenGuard:
    """ASGI middleware: refuse every HTTP request without the token, remember a good one."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        from_query = request.query_params.get(QUERY)
        given = from_query if from_query is not None else request.cookies.get(COOKIE)
        if given is None or not secrets.compare_digest(given.encode(), self.token.encode()):
            refused: Response = PlainTextResponse(
                "403 forbidden: this review page needs the token printed by "
                "`vibehq approvals serve`\n",
                status_code=403,
            )
            await refused(scope, receive, send)
            return
        if from_query is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = Response()
                cookie.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in cookie.raw_headers if k.lower() == b"set-cookie"]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
