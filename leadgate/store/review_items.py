"""Routing's database side: what people already decided, review items to open, kept decisions to audit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from leadgate.lifecycle import LeadState, ReviewStatus
from leadgate.scoring.fields import is_blank
from leadgate.store.erasure_list import erased_lead_ids
from leadgate.store.recent_events import recent_events_sql
from leadgate.store.sql import registered, transaction
from leadgate.store.states import utcnow

if TYPE_CHECKING:
    from leadgate.routing.decision import RouteDecision


def current_context(con: duckdb.DuckDBPyConnection, lead_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per lead with a lifecycle row: state, feature_hash, who approved it (if a reviewer did), open question."""
    with registered(con, _route_ids=pd.DataFrame({"lead_id": _text(lead_ids)})):
        rows = con.execute(
            f"""
            with last_decision as (
                -- the latest routing or review decision, ignoring rows that only kept a human decision
                select lead_id, arg_max(actor, decision_id) as actor, arg_max(to_state, decision_id) as to_state
                from audit.decisions
                where lead_id in (select lead_id from _route_ids) and kind in ('route', 'review')
                  and not list_contains(reason_codes, 'kept_human_decision')
                group by lead_id
            ),
            clarification as (
                select lead_id, arg_max(question, item_id) as question, arg_max(reviewer, item_id) as reviewer
                from review.items
                where lead_id in (select lead_id from _route_ids) and status = '{ReviewStatus.CLARIFICATION_REQUESTED.value}'
                group by lead_id
            )
            select s.lead_id, s.state, s.feature_hash, s.decided_by, d.actor, d.to_state, c.question, c.reviewer
            from lifecycle.lead_states s
            join _route_ids using (lead_id)
            left join last_decision d using (lead_id)
            left join clarification c using (lead_id)
            """
        ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for lead_id, state, feature_hash, decided_by, actor, to_state, question, question_by in rows:
        approved_by = None
        if state in (LeadState.QUALIFIED, LeadState.SYNCED):
            if (decided_by or "").startswith("reviewer:"):
                approved_by = decided_by.removeprefix("reviewer:")
            elif (actor or "").startswith("reviewer:") and to_state == LeadState.QUALIFIED:
                approved_by = actor.removeprefix("reviewer:")
        out[lead_id] = {
            "state": state,
            "feature_hash": feature_hash,
            "decided_by": decided_by,
            "approved_by": approved_by,
            "question": question,
            "question_by": question_by,
        }
    return out


def _text(values: Sequence[Any]) -> pd.Series:
    """A text column that registers as VARCHAR even when empty or all missing."""
    return pd.Series(list(values), dtype="string")


def _full_name(first: Any, last: Any) -> str | None:
    name = " ".join(str(v).strip() for v in (first, last) if isinstance(v, str) and v.strip())
    return name or None


def _items_frame(review: Sequence[RouteDecision], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per lead to review, with what a reviewer needs from the features and the score."""
    ids = [d.lead_id for d in review]
    features = frame.drop_duplicates("lead_id").set_index("lead_id").reindex(ids)

    def col(name: str) -> list[Any]:
        if name not in features.columns:
            return [None] * len(ids)
        series = features[name].astype(object)
        if series.dtype == object and name != "reasons":
            series = series.where(~is_blank(features[name]), None)
        return series.where(series.notna(), None).tolist()

    reasons = [json.dumps(r) if isinstance(r, list) else (r if isinstance(r, str) else None) for r in col("reasons")]
    return pd.DataFrame(
        {
            "lead_id": _text(ids),
            "feature_hash": _text([d.feature_hash for d in review]),
            "score_id": pd.array([d.score_id for d in review], dtype="Int64"),
            "email": _text(col("email")),
            "full_name": _text([_full_name(f, last) for f, last in zip(col("first_name"), col("last_name"))]),
            "company": _text(col("company")),
            "job_title": _text(col("job_title")),
            "score": pd.array([d.score for d in review], dtype="Float64"),
            "confidence": pd.array([d.confidence for d in review], dtype="Float64"),
            "reasons": _text(reasons),
            "reason_codes": [list(d.reason_codes) for d in review],
            "summary": _text([d.summary for d in review]),
            "latest_message": _text(col("latest_message")),
            "tier": _text([d.tier for d in review]),
            "next_action": _text([d.next_action for d in review]),
            "priority": pd.array([d.priority for d in review], dtype="Float64"),
            "unknowns": _text([json.dumps(list(d.unknowns)) if d.unknowns else None for d in review]),
        }
    )


def open_review_items(
    con: duckdb.DuckDBPyConnection,
    decisions: Sequence[RouteDecision],
    frame: pd.DataFrame,
    *,
    policy_version: str,
) -> dict[str, int]:
    """Open a pending item per needs_review lead (once per feature hash); supersede stale pending items."""
    if decisions and (erased := erased_lead_ids(con)):
        decisions = [d for d in decisions if d.lead_id not in erased]  # forgotten while the run was scoring
    review = [d for d in decisions if d.state == LeadState.NEEDS_REVIEW]
    leaving = pd.DataFrame({"lead_id": _text([d.lead_id for d in decisions if d.state != LeadState.NEEDS_REVIEW])})
    items = _items_frame(review, frame)
    now = utcnow()
    events = recent_events_sql(con, "_review_items")
    with registered(con, _review_items=items, _leaving_review=leaving), transaction(con):
        superseded = con.execute(
            """
            update review.items r set status = 'superseded', decided_at = ?
            where r.status = 'pending'
              and (r.lead_id in (select lead_id from _leaving_review)
                   or exists (select 1 from _review_items i
                              where i.lead_id = r.lead_id and i.feature_hash is distinct from r.feature_hash))
            """,
            [now],
        ).fetchall()[0][0]
        # `events` is a fixed SQL text (recent_events_sql); values are bound.
        added = con.execute(
            f"""
            insert into review.items (lead_id, feature_hash, score_id, email, full_name, company, job_title, score,
                confidence, reasons, reason_codes, summary, latest_message, recent_events, status, policy_version,
                created_at, tier, next_action, priority, unknowns)
            select i.lead_id, i.feature_hash, i.score_id, i.email, i.full_name, i.company, i.job_title, i.score,
                   i.confidence, i.reasons::json, i.reason_codes::varchar[], i.summary, i.latest_message,
                   e.recent_events, 'pending', ?, ?, i.tier, i.next_action, i.priority, i.unknowns::json
            from _review_items i
            left join {events} e using (lead_id)
            where not exists (select 1 from review.items r where r.lead_id = i.lead_id and r.status = 'pending'
                              and r.feature_hash is not distinct from i.feature_hash)
            order by i.lead_id
            """,
            [policy_version, now],
        ).fetchall()[0][0]
    return {"added": int(added), "superseded": int(superseded), "already_queued": len(items) - int(added)}


def audit_kept(
    con: duckdb.DuckDBPyConnection,
    kept: Sequence[tuple[RouteDecision, dict[str, Any]]],
    *,
    actor: str,
    run_id: str | None,
    policy_version: str,
    scorer_version: str,
    model_version: str | None = None,
) -> int:
    """Audit leads whose human decision stands (no state change, so not through set_states)."""
    if not kept:
        return 0
    rows = pd.DataFrame(
        {
            "lead_id": [d.lead_id for d, _ in kept],
            "state": [ctx["state"] for _, ctx in kept],
            "feature_hash": [d.feature_hash for d, _ in kept],
            "score": pd.array([d.score for d, _ in kept], dtype="Float64"),
            "confidence": pd.array([d.confidence for d, _ in kept], dtype="Float64"),
            "details": [
                json.dumps({"would_route": d.state, "route_codes": list(d.reason_codes), "band": d.band})
                for d, _ in kept
            ],
            "tier": _text([d.tier for d, _ in kept]),
        }
    )
    with registered(con, _kept=rows):
        con.execute(
            """
            insert into audit.decisions (decided_at, run_id, lead_id, kind, actor, from_state, to_state, reason_codes,
                policy_version, scorer_version, model_version, feature_hash, score, confidence, details, tier)
            select ?, ?, lead_id, 'route', ?, state, state, ['kept_human_decision'], ?, ?, ?, feature_hash, score,
                   confidence, details::json, tier
            from _kept
            """,
            [utcnow(), run_id, actor, policy_version, scorer_version, model_version],
        )
    return len(rows)
