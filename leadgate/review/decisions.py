"""One review decision, applied in one transaction: the lead's state and audit row, the item, the edits,
the clarification draft and the decision's id in `review.decision_log` — so a replayed decision is
applied once, and a crash anywhere leaves it either wholly applied or not at all.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from leadgate.config import LeadgateSettings
from leadgate.lifecycle import LeadState, ReviewStatus
from leadgate.policy import Policy, consent
from leadgate.review import edits as lead_edits
from leadgate.review.errors import AlreadyDecided, PromisesUnconfirmed, ReopenRefused, ReviewError
from leadgate.store.sql import dict_rows as _dicts
from leadgate.store.sql import relation_exists
from leadgate.store.states import StateChange, set_states, utcnow

ACTIONS = ("approve", "reject", "clarify", "reopen")
OTHER_REASON = "other"  # the listed reason that needs free text


@dataclass(frozen=True)
class ReviewDecision:
    """A decision as applied: the item's new status and the lead's new state."""

    item_id: int
    lead_id: str
    status: str
    lead_state: str
    reviewer: str
    decision_uuid: str | None = None


@dataclass(frozen=True)
class DecisionRequest:
    """What a reviewer decided, as the CLI, the page or the journal carries it (fields: note, reason_code,
    reason, question, draft, draft_source, confirmed, edits)."""

    item_id: int
    reviewer: str
    action: str
    fields: dict[str, Any] = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> str:
        """One journal line (no newline)."""
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> DecisionRequest:
        """Parse a journal line; ValueError when it is not a whole decision."""
        data = json.loads(text)
        if not isinstance(data, dict) or not {"item_id", "reviewer", "action", "uuid", "at"} <= set(data):
            raise ValueError("not a decision record")
        datetime.fromisoformat(str(data["at"]))  # a line whose time does not parse is not a whole decision
        return cls(
            int(data["item_id"]),
            str(data["reviewer"]),
            str(data["action"]),
            dict(data.get("fields") or {}),
            str(data["uuid"]),
            str(data["at"]),
        )

    @property
    def submitted_at(self) -> datetime:
        """When the reviewer decided (not when it was applied)."""
        return datetime.fromisoformat(self.at)


def item_id_of(item_id: Any) -> int:
    """The item id as a number, or a one-line ReviewError."""
    try:
        return int(item_id)
    except (TypeError, ValueError):
        raise ReviewError(f"review item id must be a number, got {item_id!r}") from None


def reviewer_of(reviewer: str | None) -> str:
    """The reviewer's name, required."""
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("a reviewer name is required (--reviewer NAME or LEADGATE_REVIEWER)")
    return name


def check_request(request: DecisionRequest, policy: Policy) -> DecisionRequest:
    """Everything that can be checked without the database (so a journaled decision is valid but for races)."""
    item_id = item_id_of(request.item_id)
    reviewer = reviewer_of(request.reviewer)
    if request.action not in ACTIONS:
        raise ReviewError(f"unknown review action {request.action!r}: use one of {', '.join(ACTIONS)}")
    f = dict(request.fields)
    for key, kind in (("edits", dict), ("confirmed", (list, tuple))):
        if f.get(key) is not None and not isinstance(f[key], kind):
            raise ReviewError(f"review item {item_id}: {key} must be a {'mapping' if kind is dict else 'list'}")
    for key in ("note", "reason_code", "reason", "question", "draft", "draft_source"):
        if f.get(key) is not None and not isinstance(f[key], str):
            raise ReviewError(f"review item {item_id}: {key} must be text")
    if request.action == "reject":
        text = (f.get("reason") or "").strip()
        code = (f.get("reason_code") or "").strip() or (
            OTHER_REASON if text and OTHER_REASON in policy.review.reject_reasons else ""
        )
        if not code and not text:
            raise ReviewError(
                f"a reason is required to reject review item {item_id} (--reason-code CODE and/or --reason TEXT)"
            )
        if code not in policy.review.reject_reasons:
            raise ReviewError(
                f"reject reason {code or '(none)'!r} is not in the policy's list: "
                f"{', '.join(policy.review.reject_reasons)}"
            )
        if code == OTHER_REASON and not text:
            raise ReviewError(f"reject reason {OTHER_REASON!r} needs the reason in words (--reason TEXT)")
        f.update(reason_code=code, reason=text or None)
    elif request.action == "clarify":
        from leadgate.review.promises import unconfirmed

        question = (f.get("question") or "").strip()
        draft = (f.get("draft") or "").strip()
        if not question and not draft:
            raise ReviewError(
                f"a question is required to ask for clarification on review item {item_id} (--question TEXT)"
            )
        # The question goes to the lead too (in the email, or asked by whoever follows up): it is checked as well.
        open_flags = [p for text in (draft, question) if text for p in unconfirmed(text, f.get("confirmed") or ())]
        if open_flags:
            raise PromisesUnconfirmed(item_id, open_flags)
        f.update(question=question or None, draft=draft or None)
    elif request.action == "approve":
        f["edits"] = lead_edits.parse_edits(f.get("edits"))
    return DecisionRequest(item_id, reviewer, request.action, f, request.uuid, request.at)


def logged_outcome(con: duckdb.DuckDBPyConnection, decision_uuid: str) -> tuple[str, str | None] | None:
    """(outcome, reason) when this decision id was applied or found in conflict before."""
    row = con.execute(
        "select outcome, reason from review.decision_log where decision_uuid = ?", [decision_uuid]
    ).fetchall()
    return (row[0][0], row[0][1]) if row else None


def log_decision(
    con: duckdb.DuckDBPyConnection,
    request: DecisionRequest,
    lead_id: str | None,
    outcome: str,
    reason: str | None,
    via: str,
) -> None:
    """Record the decision id with its outcome (inside the decision's transaction when applied)."""
    con.execute(
        "insert into review.decision_log (decision_uuid, item_id, lead_id, reviewer, action, outcome, reason, via,"
        " submitted_at, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (decision_uuid) do nothing",
        [
            request.uuid,
            int(request.item_id),
            lead_id,
            request.reviewer,
            request.action,
            outcome,
            reason,
            via,
            request.submitted_at,
            utcnow(),
        ],
    )


def _item(con: duckdb.DuckDBPyConnection, item_id: int) -> dict[str, Any]:
    found = _dicts(
        con,
        "select item_id, lead_id, feature_hash, score_id, score, confidence, status, reviewer,"
        " decided_at from review.items where item_id = ?",
        [item_id],
    )
    if not found:
        raise ReviewError(f"review item {item_id} does not exist: `leadgate review list` shows the ids")
    return found[0]


def pending_item(con: duckdb.DuckDBPyConnection, item_id: int) -> dict[str, Any]:
    """The item, which must still be pending (else AlreadyDecided says by whom, how and when)."""
    item = _item(con, item_id)
    if item["status"] != ReviewStatus.PENDING:
        raise AlreadyDecided(item_id, item["status"], item["reviewer"], item["decided_at"])
    return item


def features_row(con: duckdb.DuckDBPyConnection, lead_id: str) -> dict[str, Any] | None:
    """The lead's marts.lead_features row with its recorded edits laid over it."""
    if not relation_exists(con, "marts", "lead_features"):
        return None
    rows = _dicts(con, "select * from marts.lead_features where lead_id = ?", [lead_id])
    if not rows:
        return None
    return lead_edits.apply_to_row(rows[0], lead_edits.latest_edits(con, [lead_id]).get(lead_id, {}))


def approval_problems(
    con: duckdb.DuckDBPyConnection, policy: Policy, lead_id: str, edits: dict[str, str] | None = None
) -> list[str]:
    """What stops an approval: CRM-required fields (with the edits) and consent."""
    if not relation_exists(con, "marts", "lead_features"):
        return ["marts.lead_features is not built yet (run the pipeline first)"]
    row = features_row(con, lead_id)
    if row is None:
        return [f"lead {lead_id} is no longer in marts.lead_features (erased or not built yet)"]
    row = lead_edits.apply_to_row(row, edits or {})
    required = list(policy.crm.required_fields)
    unknown = [f for f in required if f not in row]
    if unknown:
        return [f"the policy requires fields marts.lead_features does not have: {', '.join(unknown)}"]
    problems = []
    missing = [f for f in required if row[f] is None or (isinstance(row[f], str) and not row[f].strip())]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if not consent.allows_contact(row.get("consent_status"), policy, row.get("has_consent")):  # the one consent rule
        problems.append(consent.refusal_reason(row.get("consent_status"), row.get("has_consent")))
    return problems


def _rescore(
    con: duckdb.DuckDBPyConnection, settings: LeadgateSettings, policy: Policy, lead_id: str
) -> dict[str, Any]:
    """Score the lead again with its edits (baseline: no model call on a click); the recorded score row."""
    import pandas as pd

    from leadgate.scoring.baseline import BaselineScorer, record_scores

    frame = lead_edits.overlay_edits(
        con, con.execute("select * from marts.lead_features where lead_id = ?", [lead_id]).df()
    )
    scored = BaselineScorer(policy).score(frame, settings.scoring_time())
    recorded = record_scores(con, scored, None, policy)
    row = recorded.iloc[0]
    return {
        "score_id": int(row["score_id"]),
        "score": float(row["score"]),
        "confidence": float(row["confidence"]),
        "feature_hash": row["feature_hash"] if pd.notna(row["feature_hash"]) else None,
    }


def _synced_since(con: duckdb.DuckDBPyConnection, lead_id: str, since: datetime | None) -> bool:
    """Whether a CRM acknowledged (or is being sent) this lead since the decision, or the lead is synced."""
    state = con.execute("select state from lifecycle.lead_states where lead_id = ?", [lead_id]).fetchall()
    if state and state[0][0] == LeadState.SYNCED:
        return True
    acked = con.execute(
        "select count(*) from sync.state where lead_id = ? and acked_at is not null"
        " and (?::timestamptz is null or acked_at >= ?::timestamptz)",
        [lead_id, since, since],
    ).fetchall()
    if acked[0][0]:
        return True
    # A send that started after the decision may be in the CRM already, whatever its outcome says yet.
    sending = con.execute(
        "select count(*) from sync.intents where lead_id = ? and status = 'in_flight'"
        " and (?::timestamptz is null or opened_at >= ?::timestamptz)",
        [lead_id, since, since],
    ).fetchall()
    return bool(sending[0][0])


STATUS_OF = {
    "approve": (ReviewStatus.APPROVED, LeadState.QUALIFIED, "approved_by_reviewer"),
    "reject": (ReviewStatus.REJECTED, LeadState.REJECTED, "rejected_by_reviewer"),
    "clarify": (
        ReviewStatus.CLARIFICATION_REQUESTED,
        LeadState.CLARIFICATION_REQUESTED,
        "clarification_requested_by_reviewer",
    ),
}
DECIDED_STATE = {s.value: st.value for s, st, _ in STATUS_OF.values()}


def apply_decision(
    con: duckdb.DuckDBPyConnection,
    settings: LeadgateSettings,
    policy: Policy,
    request: DecisionRequest,
    *,
    via: str = "direct",
) -> ReviewDecision:
    """Apply one decision in one transaction (idempotent by its uuid); a ReviewError leaves nothing changed."""
    request = check_request(request, policy)
    prior = logged_outcome(con, request.uuid)
    if prior is not None:
        if prior[0] == "conflict":
            raise ReviewError(f"decision {request.uuid} was not applied: {prior[1]}")
        item = _item(con, request.item_id)
        state = con.execute("select state from lifecycle.lead_states where lead_id = ?", [item["lead_id"]]).fetchall()
        return ReviewDecision(
            item["item_id"],
            item["lead_id"],
            item["status"],
            state[0][0] if state else "",
            request.reviewer,
            request.uuid,
        )
    if request.action == "reopen":
        return _reopen(con, policy, request, via)
    item = pending_item(con, request.item_id)
    status, state, reason = STATUS_OF[request.action]
    f = request.fields
    changes = {
        "score_id": item["score_id"],
        "score": item["score"],
        "confidence": item["confidence"],
        "feature_hash": item["feature_hash"],
    }
    details: dict[str, Any] = {"review_item_id": item["item_id"]}
    edits = f.get("edits") or {}
    if request.action == "approve":
        problems = approval_problems(con, policy, item["lead_id"], edits)
        if problems:
            raise ReviewError(f"cannot approve review item {item['item_id']}: {'; '.join(problems)}")
    if request.action == "reject":
        details["reject_reason"] = f["reason_code"]
    now = utcnow()
    con.execute("begin transaction")
    try:
        if edits:
            original = features_row(con, item["lead_id"]) or {}
            lead_edits.record_edits(
                con, item["lead_id"], item["item_id"], edits, original, request.reviewer, request.uuid, now
            )
            changes = _rescore(con, settings, policy, item["lead_id"])
            details["edited_fields"] = sorted(edits)
        set_states(
            con,
            [
                StateChange(
                    lead_id=item["lead_id"], state=state.value, reason_codes=[reason], details=details, **changes
                )
            ],
            kind="review",
            actor=f"reviewer:{request.reviewer}",
            policy_version=policy.version,
            in_transaction=True,
        )
        note = f.get("reason") if request.action == "reject" else f.get("note")
        con.execute(
            "update review.items set status = ?, reviewer = ?, note = coalesce(?, note), question = coalesce(?, question),"
            " reject_reason = ?, decided_at = ? where item_id = ?",
            [status.value, request.reviewer, note, f.get("question"), f.get("reason_code"), now, item["item_id"]],
        )
        if request.action == "clarify" and f.get("draft"):
            _store_draft(con, item, request, now)
        log_decision(con, request, item["lead_id"], "applied", None, via)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return ReviewDecision(item["item_id"], item["lead_id"], status.value, state.value, request.reviewer, request.uuid)


def _store_draft(con: duckdb.DuckDBPyConnection, item: dict[str, Any], request: DecisionRequest, now: datetime) -> None:
    from leadgate.review.promises import find_promises

    f = request.fields
    flagged = [
        {"index": p.index, "hash": p.hash, "sentence": p.sentence, "kinds": list(p.kinds)}
        for p in find_promises(f["draft"])
    ]
    con.execute(
        "insert into review.clarifications (item_id, lead_id, decision_uuid, draft, source, flagged, reviewer, created_at)"
        " values (?, ?, ?, ?, ?, ?::json, ?, ?)",
        [
            item["item_id"],
            item["lead_id"],
            request.uuid,
            f["draft"],
            f.get("draft_source") or "reviewer",
            json.dumps(flagged),
            request.reviewer,
            now,
        ],
    )


def _reopen(con: duckdb.DuckDBPyConnection, policy: Policy, request: DecisionRequest, via: str) -> ReviewDecision:
    """Back to a pending item and a needs_review lead, by the reviewer who decided it, before any sync."""
    item = _item(con, request.item_id)
    item_id = item["item_id"]
    if item["status"] not in DECIDED_STATE:
        raise ReopenRefused(
            f"review item {item_id} is {item['status']}: only an approved, rejected or clarification "
            "decision can be reopened"
        )
    if item["reviewer"] != request.reviewer:
        raise ReopenRefused(f"review item {item_id} was decided by {item['reviewer']}: only they can reopen it")
    if _synced_since(con, item["lead_id"], item["decided_at"]):
        raise ReopenRefused(
            f"review item {item_id} cannot be reopened: the lead was synced (or is being sent) to the CRM "
            "since the decision"
        )
    state = con.execute("select state from lifecycle.lead_states where lead_id = ?", [item["lead_id"]]).fetchall()
    now_state = state[0][0] if state else None
    if now_state != DECIDED_STATE[item["status"]]:
        raise ReopenRefused(
            f"review item {item_id} cannot be reopened: the lead has moved on since (now {now_state or 'erased'})"
        )
    newer = con.execute(
        "select count(*) from review.items where lead_id = ? and item_id > ?", [item["lead_id"], item_id]
    ).fetchall()[0][0]
    if newer:
        raise ReopenRefused(f"review item {item_id} cannot be reopened: a newer review item exists for the lead")
    con.execute("begin transaction")
    try:
        # No score given: the lead keeps its current one (an edited approval re-scored it after the item opened).
        set_states(
            con,
            [
                StateChange(
                    lead_id=item["lead_id"],
                    state=LeadState.NEEDS_REVIEW.value,
                    reason_codes=["reopened_by_reviewer"],
                    details={"review_item_id": item_id, "reopened": item["status"]},
                )
            ],
            kind="review",
            actor=f"reviewer:{request.reviewer}",
            policy_version=policy.version,
            in_transaction=True,
        )
        # The earlier note must not become the next decision's (it would reach the CRM as the approval note).
        con.execute(
            "update review.items set status = 'pending', reviewer = null, decided_at = null, reject_reason = null,"
            " note = null, question = null where item_id = ?",
            [item_id],
        )
        log_decision(con, request, item["lead_id"], "applied", None, via)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return ReviewDecision(
        item_id,
        item["lead_id"],
        ReviewStatus.PENDING.value,
        LeadState.NEEDS_REVIEW.value,
        request.reviewer,
        request.uuid,
    )


def requests_for(item_ids: Sequence[Any], reviewer: str, action: str, fields: dict[str, Any]) -> list[DecisionRequest]:
    """One request per item (bulk decisions share their reason but are applied and reported one by one)."""
    return [DecisionRequest(item_id, reviewer, action, dict(fields)) for item_id in item_ids]
