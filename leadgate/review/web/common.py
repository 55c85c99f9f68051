"""What the review web app's modules share: its state, the sign-in and CSRF refusals, the message page."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.review import browse, metrics, sla
from leadgate.review.web import words
from leadgate.review.web.access import Database
from leadgate.review.web.auth import Sessions, SignInLimiter
from leadgate.review.web.decisions import Decider

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
    drafter: Any = None  # clarify.Drafter when an LLM endpoint is configured (built at the edge)
    _facets: tuple[float, dict[str, list[str]]] | None = None
    _metrics: dict[int, tuple[float, Any]] = field(default_factory=dict)

    def overdue_before(self, now: datetime | None = None) -> datetime:
        """Items created before this instant are past the review SLA (business hours, from the policy)."""
        return sla.overdue_cutoff(now or datetime.now(UTC), self.policy)

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
        autoescape=True,  # every template, whatever its name: lead text is hostile
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["reason_words"] = words.reason_words
    env.filters["status_words"] = words.status_words
    env.filters["num"] = _num
    env.filters["points"] = lambda v: _num(v, 1, sign=True) if v is not None else ""
    env.filters["when"] = lambda v: (
        "-" if v is None else (v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "strftime") else str(v))
    )
    return Jinja2Templates(env=env)


def _num(value: Any, digits: int = 2, sign: bool = False) -> str:
    """A number for a table cell; anything else (a stored value gone odd) is shown as text, never a 500."""
    if value is None:
        return "-"
    try:
        return f"{float(value):{'+' if sign else ''}.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def message_page(request: Request, status: int, title: str, text: str, **extra: Any) -> HTMLResponse:
    state: WebState = request.app.state.web
    return state.templates.TemplateResponse(
        request,
        "message.html",
        {"title": title, "text": text, "reviewer": None, "csrf": "", **extra},
        status_code=status,
    )
