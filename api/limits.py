"""The request-size limit: a body over ``MAX_BODY`` bytes is refused with 413 before any
route sees it (a 10 MB visit must not become one event).

Pure ASGI: the body is read here, up to the limit, whether or not the client sent
``Content-Length``, and handed to the app only when it fits.
"""

from __future__ import annotations

from typing import Any

from api.problems import problem

MAX_BODY = 64 * 1024  # bytes; documented in the README and the OpenAPI description


def _refusal(size: str) -> Any:
    return problem("payload_too_large",
                   f"the request body is {size}; at most {MAX_BODY} bytes are accepted: "
                   "send one command per request")


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes with a 413 problem; nothing is run."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or {}).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refusal(f"{declared.decode('latin-1')[:20]} bytes")(scope, receive, send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await _refusal(f"over {self.limit} bytes")(scope, receive, send)
                return
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
