"""The review queue as an ASGI app: FastAPI, Jinja2 pages (autoescaped), vendored static files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.review import browse, metrics, sla
from leadgate.review.web import words
from leadgate.review.web.access import Database
from leadgate.review.web.auth import Sessions, SignInLimiter, load_secret
from leadgate.review.web.decisions import Decider
from leadgate.store import db

HERE = Path(__file__).parent
FACETS_TTL = 30.0
METRICS_TTL = 60.0
SECURITY_HEADERS = {
    # No inline script or style, nothing from elsewhere, never framed.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


class NotSignedIn(Exception):
    """No valid session: a page redirects to sign-in, an action answers 401."""

    def __init__(self, page: bool) -> None:
        self.page = page


class CsrfRefused(Exception):
    """A POST without the right CSRF token."""


@dataclass
class WebState:
    settings: LeadgateSettings
    policy: Policy
    database: Database
    sessions: Sessions
    limiter: SignInLimiter
    decider: Decider
    templates: Jinja2Templates
    drafter: Any = None               # clarify.Drafter when an LLM endpoint is configured (built at the edge)
    _facets: tuple[float, dict[str, list[str]]] | None = None
    _metrics: dict[int, tuple[float, Any]] = field(default_factory=dict)

    def overdue_before(self, now: datetime | None = None) -> datetime:
        """Items created before this instant are past the review SLA (business hours, from the policy)."""
        return sla.overdue_cutoff(now or datetime.now(timezone.utc), self.policy)

    def facets(self, con: Any) -> dict[str, list[str]]:
        """The queue's filter choices, read at most every FACETS_TTL seconds (a scan of every item)."""
        now = time.monotonic()
        if self._facets is None or now - self._facets[0] > FACETS_TTL:
            self._facets = (now, browse.queue_facets(con))
        return self._facets[1]

    def metrics(self, con: Any, days: int) -> Any:
        """The metrics report, computed at most every METRICS_TTL seconds per window (seconds at 100,000 items)."""
        now = time.monotonic()
        cached = self._metrics.get(days)
        if cached is None or now - cached[0] > METRICS_TTL:
            cached = self._metrics[days] = (now, metrics.metrics_report(con, days=days, policy=self.policy))
        return cached[1]

    def sla_text(self) -> str:
        return f"{self.policy.review.sla_business_hours:g} business hours"


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,                     # every template, whatever its name: lead text is hostile
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["reason_words"] = words.reason_words
    env.filters["status_words"] = words.status_words
    env.filters["num"] = _num
    env.filters["points"] = lambda v: _num(v, 1, sign=True) if v is not None else ""
    env.filters["when"] = lambda v: "-" if v is None else (v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "strftime") else str(v))
    return Jinja2Templates(env=env)


def _num(value: Any, digits: int = 2, sign: bool = False) -> str:
    """A number for a table cell; anything else (a stored value gone odd) is shown as text, never a 500."""
    if value is None:
        return "-"
    try:
        return f"{float(value):{'+' if sign else ''}.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def create_app(settings: LeadgateSettings, policy: Policy, *, secret: str | None = None,
               limiter: SignInLimiter | None = None, drafter: Any = None) -> FastAPI:
    """The app for one staging database; `secret` defaults to a key file beside the database; `drafter`: the LLM's."""
    from leadgate.review.web import actions, pages

    database = Database(settings)
    key = secret or load_secret(settings.db_path.with_name(settings.db_path.name + ".web-secret"))
    state = WebState(settings, policy, database, Sessions(key), limiter or SignInLimiter(),
                     Decider(settings, policy, database), _templates(), drafter)
    _migrate_if_free(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.decider.start()       # applies decisions saved while a run held the database
        try:
            yield
        finally:
            state.decider.stop()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.web = state
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(actions.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("cache-control", "no-store")   # pages carry lead data
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if exc.page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={_quote(target)}", status_code=303)
        return message_page(request, 401, "Sign in first", "This action needs a signed-in reviewer.")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return message_page(request, 403, "Refused", "The form was missing its security token: reload the page and try again.")

    @app.exception_handler(db.DatabaseMissing)
    async def no_database(request: Request, exc: Exception) -> Response:
        return message_page(request, 503, "No database yet", str(exc))

    @app.exception_handler(db.PipelineBusy)
    async def busy(request: Request, exc: Exception) -> Response:
        return message_page(request, 503, "The pipeline is running", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return message_page(request, exc.status_code, "Not here" if exc.status_code == 404 else "Error", str(exc.detail))

    return app


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def message_page(request: Request, status: int, title: str, text: str, **extra: Any) -> HTMLResponse:
    state: WebState = request.app.state.web
    return state.templates.TemplateResponse(
        request, "message.html", {"title": title, "text": text, "reviewer": None, "csrf": "", **extra},
        status_code=status,
    )


def _migrate_if_free(settings: LeadgateSettings) -> None:
    """Create the reviewers table on an older database when nobody holds it; otherwise the next writer does."""
    if not settings.db_path.exists():
        return
    try:
        with db.connect(settings, timeout=0):
            pass
    except db.PipelineBusy:
        pass
