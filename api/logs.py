"""The API's logs: one line per request, plain or JSON, with the request id; no personal data.

``GONGJI_LOG_FORMAT=json`` makes every log line (ours, uvicorn's, the libraries') one JSON
object: ``time``, ``level``, ``logger``, ``message`` and, inside a request,
``request_id``; a request's line adds ``method``, ``route`` (the route's template, e.g.
``/v1/people/{person}``, never the path with a person's id in it), ``status`` and
``duration_ms``. The request id is the caller's ``X-Request-ID`` when it is a short plain
token (else a new one), and is echoed in the response's ``X-Request-ID``.

Bodies, queries, paths and amounts are never logged, so neither are person ids.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import uuid
from typing import Any, Literal

FORMAT_VARIABLE = "GONGJI_LOG_FORMAT"
LogFormat = Literal["text", "json"]
REQUEST_ID = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                        default=None)
log = logging.getLogger("gongji.access")


def log_format() -> LogFormat:
    """``GONGJI_LOG_FORMAT``: ``text`` (default) or ``json``; anything else is refused."""
    value = os.environ.get(FORMAT_VARIABLE, "text").strip().lower() or "text"
    if value not in ("text", "json"):
        from ledger.settings import SettingsError

        raise SettingsError(f"{FORMAT_VARIABLE} {value!r}: use text or json")
    return value  # type: ignore[return-value]


def accepted_id(header: str | None) -> str:
    """The caller's request id if it is a plain token of at most 128 characters, else a new
    one (so that nothing a caller sends ends up in the logs unchecked)."""
    if header and _ACCEPTED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's ``fields`` extra is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """uvicorn-like text, with the request id and fields appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", {})
        current = request_id.get()
        extra = ([f"request_id={current}"] if current else []) + \
            [f"{k}={v}" for k, v in fields.items() if k != "request_id"]
        return f"{text} {' '.join(extra)}" if extra else text


def log_config(fmt: LogFormat, level: str = "info", access: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and ours (``gongji serve`` passes it);
    ``access``: log a line per request (``gongji.access``, at INFO)."""
    formatter = {"()": f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'TextFormatter'}"}
    handler = {"class": "logging.StreamHandler", "formatter": "gongji",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"gongji": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            # the access line is ours (route templates, request id), not uvicorn's (paths)
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "gongji.access": {"level": "INFO" if access else "WARNING"},
        },
    }


def route_template(scope: dict[str, Any]) -> str:
    """What to log of a request's path: the matched route's template, never the path itself
    (``/v1/people/{person}``, not the person's id); unmatched paths are one label."""
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    return "/static" if scope.get("path", "").startswith("/static/") else "(unmatched)"


def request_line(method: str, route: str, status: int, seconds: float) -> None:
    """The one line of a finished request (nothing is built when INFO is off)."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info("%s %s %d", method, route, status, extra={"fields": {
        "method": method, "route": route, "status": status,
        "duration_ms": round(seconds * 1000, 1)}})
