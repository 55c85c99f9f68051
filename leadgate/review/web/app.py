"""The review queue as an ASGI app: FastAPI, Jinja2 pages (autoescaped), vendored static files."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.review.web.access import Database
from leadgate.review.web.auth import Sessions, SignInLimiter, load_secret
from leadgate.review.web.common import (
    HERE,
    SECURITY_HEADERS,
    CsrfRefused,
    NotSignedIn,
    WebState,
    _quote,
    _templates,
    message_page,
)
from leadgate.review.web.decisions import Decider
from leadgate.store import db


def create_app(
    settings: LeadgateSettings,
    policy: Policy,
    *,
    secret: str | None = None,
    limiter: SignInLimiter | None = None,
    drafter: Any = None,
) -> FastAPI:
    """The app for one staging database; `secret` defaults to a key file beside the database; `drafter`: the LLM's."""
    from leadgate.review.web import actions, pages

    database = Database(settings)
    key = secret or load_secret(settings.db_path.with_name(settings.db_path.name + ".web-secret"))
    state = WebState(
        settings,
        policy,
        database,
        Sessions(key),
        limiter or SignInLimiter(),
        Decider(settings, policy, database),
        _templates(),
        drafter,
    )
    _migrate_if_free(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.decider.start()  # applies decisions saved while a run held the database
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
            response.headers.setdefault("cache-control", "no-store")  # pages carry lead data
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if exc.page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={_quote(target)}", status_code=303)
        return message_page(request, 401, "Sign in first", "This action needs a signed-in reviewer.")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return message_page(
            request, 403, "Refused", "The form was missing its security token: reload the page and try again."
        )

    @app.exception_handler(db.DatabaseMissing)
    async def no_database(request: Request, exc: Exception) -> Response:
        return message_page(request, 503, "No database yet", str(exc))

    @app.exception_handler(db.PipelineBusy)
    async def busy(request: Request, exc: Exception) -> Response:
        return message_page(request, 503, "The pipeline is running", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return message_page(
            request, exc.status_code, "Not here" if exc.status_code == 404 else "Error", str(exc.detail)
        )

    return app


def _migrate_if_free(settings: LeadgateSettings) -> None:
    """Create the reviewers table on an older database when nobody holds it; otherwise the next writer does."""
    if not settings.db_path.exists():
        return
    try:
        with db.connect(settings, timeout=0):
            pass
    except db.PipelineBusy:
        pass
