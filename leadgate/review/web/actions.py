"""Actions (POST) of the review queue: every one needs a session and its CSRF token."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from leadgate.review import browse
from leadgate.review.web.app import CsrfRefused, NotSignedIn, message_page
from leadgate.review.web.auth import CSRF_FIELD, SESSION_COOKIE
from leadgate.review.web.decisions import Outcome
from leadgate.review.web.pages import reject_reasons, render, signed_in, web

router = APIRouter()
MAX_TEXT = 5000
MAX_BULK = 200


async def _authorised(request: Request):
    """(reviewer, session, form) of a POST: 401 without a session, 403 without its CSRF token."""
    state = web(request)
    with state.database.reading() as r:
        me, session = signed_in(request, r, page=False)
    form = await request.form()
    if not state.sessions.csrf_ok(session, form.get(CSRF_FIELD)):
        raise CsrfRefused()
    return me, session, form


def _text(form, name: str) -> str:
    return str(form.get(name) or "").strip()[:MAX_TEXT]


@router.post("/signout")
async def signout(request: Request) -> Response:
    try:
        _, session, _ = await _authorised(request)
    except NotSignedIn:
        return RedirectResponse("/signin", status_code=303)
    web(request).sessions.revoke(session)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _next_after(request: Request, item_id: int) -> int | None:
    with web(request).database.reading() as r:
        return browse.neighbours(r.con, item_id)[1]


def _answer(request: Request, outcome: Outcome, me, session, next_id: int | None) -> Response:
    """Applied: on to the next item; saved: 202; someone else was first: 409; refused: 422."""
    if outcome.kind == "applied":
        target = f"/items/{next_id}" if next_id else "/queue"
        return RedirectResponse(f"{target}?notice={quote(outcome.message)}", status_code=303)
    if outcome.kind == "saved":
        return render(request, "saved.html", me, session, status_code=202, outcome=outcome, next_id=next_id)
    if outcome.kind == "conflict":
        return render(request, "conflict.html", me, session, status_code=409, outcome=outcome)
    return render(request, "message.html", me, session, status_code=422, title="Not done",
                  text=outcome.message, back=f"/items/{outcome.item_id}")


@router.post("/items/{item_id}/approve")
async def approve(request: Request, item_id: int) -> Response:
    me, session, form = await _authorised(request)
    next_id = _next_after(request, item_id)
    outcome = web(request).decider.approve(item_id, me.name, note=_text(form, "note"))
    return _answer(request, outcome, me, session, next_id)


def _reject_reason(request: Request, form) -> str | None:
    """'<reason from the policy list>: <free text>'; None when the listed reason is missing."""
    reason = _text(form, "reason")
    if reason not in reject_reasons(web(request)):
        return None
    detail = _text(form, "detail")
    return f"{reason}: {detail}" if detail else reason


@router.post("/items/{item_id}/reject")
async def reject(request: Request, item_id: int) -> Response:
    me, session, form = await _authorised(request)
    reason = _reject_reason(request, form)
    if reason is None:
        return message_page(request, 422, "Not done", "Choose a reject reason from the list.")
    next_id = _next_after(request, item_id)
    outcome = web(request).decider.reject(item_id, me.name, reason)
    return _answer(request, outcome, me, session, next_id)


@router.post("/items/{item_id}/clarify")
async def clarify(request: Request, item_id: int) -> Response:
    me, session, form = await _authorised(request)
    question = _text(form, "draft")
    if not question:
        return message_page(request, 422, "Not done", "The clarification draft is empty.")
    next_id = _next_after(request, item_id)
    outcome = web(request).decider.clarify(item_id, me.name, question)
    return _answer(request, outcome, me, session, next_id)


@router.post("/bulk")
async def bulk(request: Request) -> Response:
    me, session, form = await _authorised(request)
    action = _text(form, "action")
    try:
        ids = sorted({int(v) for v in form.getlist("item")})[:MAX_BULK]
    except ValueError:
        return message_page(request, 422, "Not done", "Item ids must be numbers.")
    if not ids or action not in ("approve", "reject"):
        return message_page(request, 422, "Not done", "Select items and approve or reject them.")
    reason = _reject_reason(request, form) if action == "reject" else None
    if action == "reject" and reason is None:
        return message_page(request, 422, "Not done", "Choose one reject reason for the selected items.")
    decider = web(request).decider
    outcomes = [decider.approve(i, me.name) if action == "approve" else decider.reject(i, me.name, reason) for i in ids]
    return render(request, "bulk.html", me, session, outcomes=outcomes, action=action)
