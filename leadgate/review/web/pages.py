"""Pages (GET) of the review queue and the sign-in / sign-out forms."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from leadgate.review import browse, clarify, journal, overrides, reviewers, sla
from leadgate.review.charts import report_charts
from leadgate.review.decisions import features_row
from leadgate.review.edits import EDITABLE_FIELDS, edits_of
from leadgate.review.web.access import Reading
from leadgate.review.web.auth import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Session, signin_csrf_ok
from leadgate.review.web.common import NotSignedIn, WebState, message_page

router = APIRouter()
STATUSES = ("pending", "approved", "rejected", "clarification_requested", "superseded", "all")


def web(request: Request) -> WebState:
    return request.app.state.web


def signed_in(request: Request, reading: Reading, *, page: bool = True) -> tuple[reviewers.Reviewer, Session]:
    """The reviewer of this request's session, checked against the reviewers table on every request."""
    state = web(request)
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    reviewer = reviewers.by_id(reading.con, session.reviewer_id) if session else None
    if session is None or reviewer is None:
        raise NotSignedIn(page)
    return reviewer, session


def render(
    request: Request,
    template: str,
    reviewer: reviewers.Reviewer | None,
    session: Session | None,
    reading: Reading | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    state = web(request)
    return state.templates.TemplateResponse(
        request,
        template,
        {
            "reviewer": reviewer,
            "csrf": state.sessions.csrf_token(session) if session else "",
            "from_copy": bool(reading and reading.from_copy),
            **context,
        },
        status_code=status_code,
    )


def safe_next(value: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://…` (no open redirect)."""
    value = value or "/queue"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/queue"
    return value


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/queue") -> Response:
    return _signin_page(request, safe_next(next))


def _signin_page(
    request: Request,
    next_path: str,
    *,
    error: str = "",
    status_code: int = 200,
    name: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web(request).templates.TemplateResponse(
        request,
        "signin.html",
        {"reviewer": None, "csrf": "", "signin_csrf": token, "next": next_path, "error": error, "name": name},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/signin",
        secure=request.url.scheme == "https",
        max_age=3600,
    )
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    state = web(request)
    form = await request.form()
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or ""))
    if not signin_csrf_ok(request.cookies.get(SIGNIN_CSRF_COOKIE), form.get("csrf_token")):
        return message_page(
            request, 403, "Refused", "The sign-in form was missing its security token: reload it and try again."
        )
    address = _address(request)
    wait = state.limiter.retry_after(name, address)
    if wait:
        return _signin_page(
            request,
            next_path,
            error=f"Too many failed sign-ins: try again in {wait} seconds.",
            status_code=429,
            name=name,
            headers={"retry-after": str(wait)},
        )
    with state.database.reading() as r:
        reviewer = reviewers.verify(r.con, name, password)
    if reviewer is None:
        state.limiter.failed(name, address)
        return _signin_page(request, next_path, error="Wrong name or password.", status_code=401, name=name)
    state.limiter.succeeded(name)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        state.sessions.issue(reviewer.reviewer_id),
        max_age=state.sessions.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    status: str = "pending",
    reason: str = "",
    tier: str = "",
    reviewer: str = "",
    q: str = "",
    sort: str = "priority",
    page: int = 1,
) -> Response:
    state = web(request)
    wanted = browse.QueueFilter(
        status=status if status in STATUSES else "pending",
        reason=reason[:200],
        tier=tier[:100],
        reviewer=reviewer[:100],
        search=q[:200],
        sort=sort if sort in browse.SORTS else "priority",
        page=max(1, min(page, 100_000)),
    )
    with state.database.reading() as r:
        me, session = signed_in(request, r)
        found = browse.queue_page(r.con, wanted, state.overdue_before())
        return render(
            request,
            "queue.html",
            me,
            session,
            r,
            queue=found,
            f=wanted,
            statuses=STATUSES,
            facets=state.facets(r.con),
            saved={e.item_id for e in journal.pending(state.settings)},
            conflicts=browse.journal_conflicts(
                r.con, reviewer=me.name, limit=5, since=datetime.now(UTC) - timedelta(days=1)
            ),
            decision_uuid=str(uuid.uuid4()),
            sla=state.sla_text(),
            notice=notice_of(request),
            reject_reasons=reject_reasons(state),
        )


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item(request: Request, item_id: int) -> Response:
    state = web(request)
    with state.database.reading() as r:
        me, session = signed_in(request, r)
        found = browse.item_detail(r.con, item_id)
        if found is None:
            return render(
                request,
                "message.html",
                me,
                session,
                r,
                status_code=404,
                title="No such item",
                text=f"Review item {item_id} does not exist.",
            )
        prev_id, next_id = browse.neighbours(r.con, item_id)
        features = features_row(r.con, found["lead_id"])
        found["edits"] = edits_of(r.con, found["lead_id"])
        found["conflicts"] = browse.journal_conflicts(r.con, item_id=item_id)
    # Drafted after the connection is closed: the model may take seconds, and no writer should wait for it.
    drafter = state.drafter if request.query_params.get("draft") == "llm" else None
    draft = clarify.draft(state.policy, {**(features or {}), **found}, me.name, features=features, drafter=drafter)
    now = datetime.now(UTC)
    saved = [e for e in journal.pending(state.settings) if e.item_id == found["item_id"]]
    return render(
        request,
        "item.html",
        me,
        session,
        r,
        item=found,
        prev_id=prev_id,
        next_id=next_id,
        sla=sla.sla_of(found["created_at"], now, state.policy),
        reject_reasons=reject_reasons(state),
        draft=draft,
        features=features or {},
        editable=EDITABLE_FIELDS,
        saved=saved,
        decision_uuid=str(uuid.uuid4()),
        notice=notice_of(request),
        can_draft_with_llm=state.drafter is not None,
    )


@router.get("/overrides", response_class=HTMLResponse)
def overrides_page(request: Request, days: int = 90) -> Response:
    """Where people overrode the machine, grouped by reason code, tier and policy / model version."""
    state = web(request)
    days = max(1, min(days, 3650))
    with state.database.reading() as r:
        me, session = signed_in(request, r)
        rows = _overrides(state, r, days)
        return render(
            request,
            "overrides.html",
            me,
            session,
            r,
            groups=overrides.group_overrides(rows),
            rows=rows[:200],
            total=len(rows),
            days=days,
        )


def _overrides(state: WebState, r: Reading, days: int) -> list[dict[str, Any]]:
    since = datetime.now(UTC) - timedelta(days=days)
    return overrides.list_overrides(r.con, threshold=state.policy.scoring.qualify_threshold, since=since)


@router.get("/overrides.csv")
def overrides_csv(request: Request, days: int = 90) -> Response:
    state = web(request)
    with state.database.reading() as r:
        signed_in(request, r)
        text = overrides.overrides_csv(_overrides(state, r, max(1, min(days, 3650))))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="leadgate-overrides.csv"'},
    )


@router.get("/metrics", response_class=HTMLResponse)
def metrics_page(request: Request, days: int = 30, period: str = "daily") -> Response:
    """The review loop's health: exception rate, latency, SLA breaches, overrides, reasons, scores, API errors."""
    state = web(request)
    period = period if period in ("daily", "weekly") else "daily"
    with state.database.reading() as r:
        me, session = signed_in(request, r)
        days = max(1, min(days, 365))
        report = state.metrics(r.con, days)
    # The charts are SVG built by leadgate.review.charts, which escapes every label it writes.
    charts = {name: Markup(svg) for name, svg in report_charts(report, period=period).items()}
    return render(request, "metrics.html", me, session, r, report=report, charts=charts, period=period, days=days)


NOTICE = re.compile(r"review item \d{1,19} [a-z_ ]{1,40}")


def notice_of(request: Request) -> str:
    """The line an action left for the next page; only the app's own shape, so a crafted link cannot say anything else."""
    text = request.query_params.get("notice", "")
    return text if NOTICE.fullmatch(text) else ""


def reject_reasons(state: WebState) -> list[str]:
    """The policy's reject reason codes (the reviewer adds free text; `other` needs it)."""
    return list(state.policy.review.reject_reasons)
