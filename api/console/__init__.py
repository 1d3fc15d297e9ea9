"""The auditor's console (审计控制台), ``/console``: pages over the same queries as the API.

Server-rendered (Jinja2), charts as inline SVG, one stylesheet, no script needed: it works
offline and prints. A page reads what the JSON API reads — the audit queries
(:mod:`projections.audit`), :class:`~api.readers.Readers`, the ledger's transactions — and
formats it with the API's own schemas, so no figure is computed twice.

Signing in takes an auditor or agency key and keeps, for the browser session only (a
cookie without an expiry, HttpOnly, SameSite=Strict), a hash of it — never the key itself.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.console import ledger_pages, person  # noqa: F401  (their routes join the router)
from api.console.web import COOKIE, HERE, SignIn, router, token

__all__ = ["COOKIE", "install", "token"]


def install(app: FastAPI) -> None:
    """Mount the console's pages and its stylesheet on ``app``."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(router)

    @app.exception_handler(SignIn)
    def _sign_in(request: Request, _: SignIn) -> Response:
        return RedirectResponse(f"/console/?next={quote(request.url.path)}", 303)
