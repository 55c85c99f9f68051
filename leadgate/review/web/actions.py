"""Actions (POST) of the review queue: every one needs a session and its CSRF token."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from leadgate.review import browse
from leadgate.review.decisions import DecisionRequest
from leadgate.review.edits import EDITABLE_FIELDS
from leadgate.review.web.auth import CSRF_FIELD, SESSION_COOKIE
from leadgate.review.web.common import CsrfRefused, NotSignedIn, message_page
from leadgate.review.web.decisions import Outcome
from leadgate.review.web.pages import render, signed_in, web

router = APIRouter()
MAX_TEXT = 5000
MAX_BULK = 200


async def _authorised(request: Request, item_id: int | None = None):
    """(reviewer, session, form, next item) of a POST: 401 without a session, 403 without its CSRF token."""
    state = web(request)
    with state.database.reading() as r:  # one connection: the session check and the item to go on to
        me, session = signed_in(request, r, page=False)
        next_id = browse.neighbours(r.con, item_id)[1] if item_id is not None else None
    form = await request.form()
    if not state.sessions.csrf_ok(session, form.get(CSRF_FIELD)):
        raise CsrfRefused()
    return me, session, form, next_id


def _text(form, name: str) -> str:
    return str(form.get(name) or "").strip()[:MAX_TEXT]


def _decision_id(form) -> str:
    """The id the page gave this decision: a double click or a retried POST is applied once."""
    try:
        return str(uuid.UUID(str(form.get("decision_uuid") or "")))
    except ValueError:
        return str(uuid.uuid4())


@router.post("/signout")
async def signout(request: Request) -> Response:
    try:
        _, session, _, _ = await _authorised(request)
    except NotSignedIn:
        return RedirectResponse("/signin", status_code=303)
    web(request).sessions.revoke(session)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _answer(request: Request, outcome: Outcome, me, session, next_id: int | None) -> Response:
    """Applied: on to the next item; saved: 202; someone else was first: 409; promises or refused: 422."""
    if outcome.kind == "applied":
        target = f"/items/{next_id}" if next_id else "/queue"
        return RedirectResponse(f"{target}?notice={quote(outcome.message)}", status_code=303)
    if outcome.kind == "saved":
        return render(request, "saved.html", me, session, status_code=202, outcome=outcome, next_id=next_id)
    if outcome.kind == "conflict":
        return render(request, "conflict.html", me, session, status_code=409, outcome=outcome)
    if outcome.kind == "promises":
        f = outcome.request.fields
        return render(
            request,
            "confirm.html",
            me,
            session,
            status_code=422,
            outcome=outcome,
            item_id=outcome.item_id,
            draft=f.get("draft") or "",
            draft_source=f.get("draft_source") or "",
            promises=outcome.flags,
            decision_uuid=outcome.request.uuid,
        )
    return render(
        request,
        "message.html",
        me,
        session,
        status_code=422,
        title="Not done",
        text=outcome.message,
        back=f"/items/{outcome.item_id}",
    )


def _submit(request: Request, me, session, item_id: int, action: str, fields: dict, form, next_id) -> Response:
    decision = DecisionRequest(item_id, me.name, action, fields, uuid=_decision_id(form))
    return _answer(request, web(request).decider.submit(decision), me, session, next_id)


@router.post("/items/{item_id}/approve")
async def approve(request: Request, item_id: int) -> Response:
    """Approve as MQL; with edits (company size, company, job title, country) the lead is re-scored first."""
    me, session, form, next_id = await _authorised(request, item_id)
    edits = {name: value for name in EDITABLE_FIELDS if (value := _text(form, f"edit_{name}"))}
    return _submit(
        request, me, session, item_id, "approve", {"note": _text(form, "note") or None, "edits": edits}, form, next_id
    )


@router.post("/items/{item_id}/reject")
async def reject(request: Request, item_id: int) -> Response:
    me, session, form, next_id = await _authorised(request, item_id)
    fields = {"reason_code": _text(form, "reason") or None, "reason": _text(form, "detail") or None}
    return _submit(request, me, session, item_id, "reject", fields, form, next_id)


@router.post("/items/{item_id}/clarify")
async def clarify(request: Request, item_id: int) -> Response:
    """Ask for clarification with the (edited) draft; flagged promises must be confirmed or removed."""
    me, session, form, next_id = await _authorised(request, item_id)
    draft = _text(form, "draft")
    fields = {
        "draft": draft or None,
        "draft_source": _text(form, "draft_source") or None,
        "confirmed": [str(v) for v in form.getlist("confirm")][:100],
    }
    return _submit(request, me, session, item_id, "clarify", fields, form, next_id)


@router.post("/items/{item_id}/reopen")
async def reopen(request: Request, item_id: int) -> Response:
    """Reopen one's own decision that has not synced yet."""
    me, session, form, _ = await _authorised(request)
    decision = DecisionRequest(item_id, me.name, "reopen", {}, uuid=_decision_id(form))
    outcome = web(request).decider.submit(decision)
    if outcome.kind == "applied":
        return RedirectResponse(f"/items/{item_id}?notice={quote(f'review item {item_id} reopened')}", status_code=303)
    return _answer(request, outcome, me, session, None)


@router.post("/bulk")
async def bulk(request: Request) -> Response:
    """Approve or reject the selected items with one reason; each is reported on its own."""
    me, session, form, _ = await _authorised(request)
    action = _text(form, "action")
    try:
        ids = sorted({int(v) for v in form.getlist("item")})[:MAX_BULK]
    except ValueError:
        return message_page(request, 422, "Not done", "Item ids must be numbers.")
    if not ids or action not in ("approve", "reject"):
        return message_page(request, 422, "Not done", "Select items, then approve or reject them.")
    fields = (
        {"reason_code": _text(form, "reason") or None, "reason": _text(form, "detail") or None}
        if action == "reject"
        else {"note": _text(form, "detail") or None}
    )
    base = uuid.UUID(_decision_id(form))
    requests = [DecisionRequest(i, me.name, action, dict(fields), uuid=str(uuid.uuid5(base, str(i)))) for i in ids]
    outcomes = web(request).decider.submit_many(requests)
    return render(request, "bulk.html", me, session, outcomes=outcomes, action=action)
