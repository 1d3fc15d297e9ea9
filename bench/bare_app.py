"""The baseline server of ``bench/api_load.py``: one constant JSON answer, nothing else.

Run by uvicorn as ``gongji serve`` runs the API (one worker, httptools, uvloop), it is the
floor of the server and the load client on this machine: what any route costs at least.
It echoes ``X-Request-Id`` as the API does (the wrk client matches answers by it).
"""

from __future__ import annotations

BODY = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send) -> None:  # noqa: ANN001 - a bare ASGI callable
    if scope["type"] != "http":
        return
    echo = [(k, v) for k, v in scope["headers"] if k == b"x-request-id"]
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS + echo})
    await send({"type": "http.response.body", "body": BODY})
