"""Lifecycle state changes, always written together with their audit rows.

Every change of a lead's state goes through `set_states`, so `lifecycle.lead_states` (one row per
lead, the current state) and `audit.decisions` (append-only, why and by whom) can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from leadgate.lifecycle import ALL_STATES
from leadgate.store.erasure_list import erased_lead_ids
from leadgate.store.sql import registered, transaction, utcnow


@dataclass(frozen=True)
class StateChange:
    lead_id: str
    state: str
    reason_codes: Sequence[str]
    feature_hash: str | None = None
    score_id: int | None = None
    score: float | None = None
    confidence: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # never personal data
    tier: str | None = None  # routing's qualification tier; None keeps the lead's current one
    next_action: str | None = None  # routing's recommended next action; None keeps the current one


def set_states(
    con: duckdb.DuckDBPyConnection,
    changes: Iterable[StateChange],
    *,
    kind: str,
    actor: str,
    run_id: str | None = None,
    policy_version: str | None = None,
    scorer_version: str | None = None,
    model_version: str | None = None,
    in_transaction: bool = False,
) -> int:
    """Upsert current states and append one audit row per change, in one transaction (the caller's, if in_transaction)."""
    rows = list(changes)
    if rows and (erased := erased_lead_ids(con)):
        rows = [c for c in rows if c.lead_id not in erased]  # forgotten meanwhile: never written back
    if not rows:
        return 0
    for ch in rows:
        if ch.state not in ALL_STATES:
            raise ValueError(f"unknown lifecycle state {ch.state!r} for lead {ch.lead_id}")
    now = utcnow()
    frame = pd.DataFrame(
        {
            "lead_id": [c.lead_id for c in rows],
            "state": [c.state for c in rows],
            "reason_codes": [list(c.reason_codes) for c in rows],
            "feature_hash": [c.feature_hash for c in rows],
            "score_id": pd.array([c.score_id for c in rows], dtype="Int64"),
            "score": pd.array([c.score for c in rows], dtype="Float64"),
            "confidence": pd.array([c.confidence for c in rows], dtype="Float64"),
            "details": [json.dumps(c.details, sort_keys=True, default=str) if c.details else None for c in rows],
            "tier": pd.Series([c.tier for c in rows], dtype="string"),
            "next_action": pd.Series([c.next_action for c in rows], dtype="string"),
        }
    )
    if frame["lead_id"].duplicated().any():
        raise ValueError("one state change per lead per call")
    # DuckDB 2.0 refuses register() while an earlier execute() still has unfetched rows.
    con.complete()
    # in_transaction: the caller's transaction (a replayed journal decision) takes these rows with its own.
    with registered(con, _state_changes=frame), nullcontext() if in_transaction else transaction(con):
        con.execute(
            """
            insert into audit.decisions (decided_at, run_id, lead_id, kind, actor, from_state, to_state,
                reason_codes, policy_version, scorer_version, model_version, feature_hash, score, confidence, details,
                tier, next_action)
            select ?, ?, c.lead_id, ?, ?, s.state, c.state, c.reason_codes, ?, ?, ?, c.feature_hash,
                   c.score, c.confidence, c.details::json, c.tier, c.next_action
            from _state_changes c left join lifecycle.lead_states s using (lead_id)
            """,
            [now, run_id, kind, actor, policy_version, scorer_version, model_version],
        )
        # Delete + insert rather than ON CONFLICT DO UPDATE: ~5x faster on DuckDB with the list column.
        con.execute(
            """
            create or replace temp table _state_rows as
            select c.lead_id, c.state, c.reason_codes,
                   coalesce(c.feature_hash, s.feature_hash) as feature_hash,
                   coalesce(c.score_id, s.score_id) as score_id,
                   coalesce(c.tier, s.tier) as tier, coalesce(c.next_action, s.next_action) as next_action,
                   coalesce(?::varchar, s.policy_version) as policy_version,
                   ?::varchar as decided_by, ?::timestamptz as changed_at
            from _state_changes c left join lifecycle.lead_states s using (lead_id)
            """,
            [policy_version, actor, now],
        )
        con.execute("delete from lifecycle.lead_states where lead_id in (select lead_id from _state_rows)")
        con.execute(
            "insert into lifecycle.lead_states (lead_id, state, reason_codes, feature_hash, score_id, policy_version,"
            " decided_by, changed_at, tier, next_action) select lead_id, state, reason_codes, feature_hash, score_id,"
            " policy_version, decided_by, changed_at, tier, next_action from _state_rows"
        )
        con.execute("drop table _state_rows")
    return len(rows)


def current_states(con: duckdb.DuckDBPyConnection, lead_ids: Sequence[str] | None = None) -> dict[str, str]:
    if lead_ids is None:
        return dict(con.execute("select lead_id, state from lifecycle.lead_states").fetchall())
    if not lead_ids:
        return {}
    return dict(
        con.execute(
            "select lead_id, state from lifecycle.lead_states where lead_id in (select unnest(?))",
            [list(lead_ids)],
        ).fetchall()
    )
