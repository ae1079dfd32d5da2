"""Run the review page: bound to 127.0.0.1 only, on the given or a free port, behind a token.

The socket is bound here, before uvicorn starts, so the URL printed (with the real port when
the OS picked one) is one that already accepts connections.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from cli.serve.review_app import ReviewConfig, review_app

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        from engine.errors import BadInput

        raise BadInput(f"cannot listen on {HOST}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    return sock


def page_url(sock: socket.socket, token: str) -> str:
    port = sock.getsockname()[1]
    return f"http://{HOST}:{port}/?token={token}"


def serve(config: ReviewConfig, sock: socket.socket, *, started: Callable[[str], None]) -> None:
    """Serve until interrupted; `started` gets the URL once the socket listens."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            review_app(config),
            log_level="warning",
            access_log=False,
            server_header=False,
            lifespan="off",
        )
    )
    started(page_url(sock, config.token))
    server.run(sockets=[sock])
