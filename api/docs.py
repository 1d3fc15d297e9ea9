"""The OpenAPI pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served offline.

FastAPI's own pages load their scripts and styles from a CDN, which leaves them blank on
an agency's intranet. Here the assets come from the package itself (``api/static/``,
vendored with their licences; see ``api/static/README.md``), under ``/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount ``/static`` and serve ``/docs`` and ``/redoc`` from it (app built with
    ``docs_url=None, redoc_url=None``)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=title,
            swagger_js_url=f"{root}/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/swagger-ui/favicon-32x32.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=title,
            redoc_js_url=f"{root}/static/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}/static/swagger-ui/favicon-32x32.png",
            with_google_fonts=False)
