"""The console's plumbing: the session (a hash of an auditor's or agency's key in a browser
session cookie), the language (Chinese first, English toggle), pages and refusals as HTML."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.console.words import KINDS, LANGUAGES, word
from api.problems import ZH
from policies.calendar import parse_date
from policies.errors import InputError, LedgerError
from policies.money import format_fen

HERE = Path(__file__).parent
COOKIE, LANG = "gongji_console", "gongji_lang"
ROLES = ("auditor", "agency")
PAGE = 50  # timeline rows per page
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["fen"] = lambda v: "—" if v is None else format_fen(v)
router = APIRouter(prefix="/console", include_in_schema=False)


class SignIn(Exception):
    """No console session: go to the sign-in page."""


def token(key: str) -> str:
    """What the session cookie holds: a hash of the key, not the key."""
    return hashlib.sha256(b"gongji-console\0" + key.encode()).hexdigest()


def signed_in(request: Request) -> tuple[Any, str]:
    """The services and the signed-in role, or :class:`SignIn`."""
    services = request.app.state.services
    held = request.cookies.get(COOKIE, "")
    for key, grant in services.keys.items():
        if held and token(key) == held and grant.role in ROLES:
            return services, grant.role
    raise SignIn


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(LANG, "zh")
    return chosen if chosen in LANGUAGES else "zh"


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    role = None
    try:
        role = signed_in(request)[1]
    except SignIn:
        pass
    return templates.TemplateResponse(request, name, {
        "lang": lang, "t": lambda key, **v: word(key, lang, **v), "role": role,
        "kinds": KINDS, "here": request.url.path + (f"?{request.url.query}"
                                                    if request.url.query else ""),
        **context}, status_code=status)


def refusal(request: Request, error: Exception, status: int = 422) -> HTMLResponse:
    """A refused look-up (unknown person, a malformed date) as a page, in both languages."""
    if isinstance(error, LedgerError):
        status = 404 if str(error.code).startswith("unknown_") else status
        english, chinese = error.message, error.message_zh or ZH.get(error.code, "")
    else:
        english, chinese = str(error), getattr(error, "zh", str(error))
    return page(request, "error.html", status, english=english, chinese=chinese)


def day_param(text: str | None) -> dt.date | None:
    return parse_date(text) if text else None


def year_param(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1900 <= int(text) <= 2199:
        raise InputError(f"year must be 1900–2199, got {text!r:.20}", "年度须为 1900–2199 的年份")
    return int(text)


# -- signing in, language -----------------------------------------------------------


@router.get("/")
def sign_in_page(request: Request, next: str = "/console/people") -> Response:
    return page(request, "sign_in.html", next=next if next.startswith("/console/") else
                "/console/people")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    goal = (form.get("next") or ["/console/people"])[0]
    goal = goal if goal.startswith("/console/") else "/console/people"
    grant = request.app.state.services.keys.get(key)
    if grant is None or grant.role not in ROLES:
        lang = lang_of(request)
        error = word("unknown_key", lang) if grant is None else word(
            "wrong_role", lang, role=grant.role)
        return page(request, "sign_in.html", 401 if grant is None else 403, error=error,
                    next=goal)
    response = RedirectResponse(goal, 303)
    response.set_cookie(COOKIE, token(key), httponly=True, samesite="strict", path="/console")
    return response


@router.post("/sign-out")
def sign_out() -> Response:
    response = RedirectResponse("/console/", 303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/lang/{lang}")
def language(lang: str, next: str = "/console/") -> Response:
    response = RedirectResponse(next if next.startswith("/console/") else "/console/", 303)
    if lang in LANGUAGES:
        response.set_cookie(LANG, lang, samesite="strict", path="/console")
    return response
