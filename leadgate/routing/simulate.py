"""What-if before a policy change: replay the current leads through the current and a candidate policy.

Nothing is written: the database is opened read-only (`db.read_connection`). Each lead's latest
features (marts.lead_features) are scored with the baseline scorer as of the time its latest score
was computed (so the current policy reproduces the recorded score exactly), once per policy when
the candidate's scoring section differs; leads whose features changed since (or never scored) are
scored as of the scoring time, as the next run would. A lead whose latest score came from the LLM
keeps that score in both columns (the model is not asked again). The gate's recorded verdicts stand
(a lead in review for a gate failure on these features stays there; a blocked batch stays pending),
and people keep the last word exactly as `apply_routes` decides it: a rejected lead stays rejected,
an approval stands while the lead is unchanged, in both columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from leadgate.lifecycle import ALL_STATES, LeadState
from leadgate.policy import Policy
from leadgate.policy.consent import allows_contact
from leadgate.routing.gate import GateResult
from leadgate.routing.rules import adjust_for_people, route_leads
from leadgate.scoring.baseline import is_blank

SYNCABLE = (LeadState.QUALIFIED.value, LeadState.SYNCED.value)
NO_TIER = NO_ACTION = "(none)"
KEPT_ACTION = "(a person decided)"  # a kept human decision: the policy's next action does not apply


class SimulationError(RuntimeError):
    """Nothing to replay (no leads built yet), or the database cannot be read."""


@dataclass
class ReplayInputs:
    """What the replay reads from the database, once, for both policies."""

    features: pd.DataFrame  # marts.lead_features
    latest: pd.DataFrame  # latest score per lead: score_id, scorer, scored_at, feature_hash, score, confidence
    recorded: dict[str, dict[str, Any]]  # lead_id -> {state, reason_codes, feature_hash}
    contexts: dict[str, dict[str, Any]]  # review_items.current_context: who decided, approvals, questions
    source: str = "database"  # or "read copy", when a writer held the database


@dataclass(frozen=True)
class Outcome:
    state: str
    reason_codes: tuple[str, ...]
    tier: str
    syncable: bool
    next_action: str = "(none)"


@dataclass
class SimulationResult:
    current_version: str
    candidate_version: str
    leads: int
    scores_changed: int  # leads whose score or confidence differs under the candidate
    llm_scores_kept: int
    source: str
    replay_matches_recorded: int  # leads whose recorded state the current policy reproduces
    recorded_leads: int  # leads with a recorded state (the others were never routed)
    states: dict[str, dict[str, int]] = field(default_factory=dict)  # before / after -> state -> leads
    tiers: dict[str, dict[str, int]] = field(default_factory=dict)
    next_actions: dict[str, dict[str, int]] = field(default_factory=dict)
    exception_rate: dict[str, dict[str, Any]] = field(default_factory=dict)
    review_budget: dict[str, float] = field(default_factory=dict)
    changed: int = 0
    transitions: list[dict[str, Any]] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)
    newly_synced: int = 0
    no_longer_synced: int = 0


# --- reading -------------------------------------------------------------------------------------


def load_replay(con: duckdb.DuckDBPyConnection) -> ReplayInputs:
    """Features, latest scores, recorded states and review context of every lead (read-only queries)."""
    from leadgate.store.review_items import current_context

    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'lead_features'"
    ).fetchall()[0][0]
    if not exists:
        raise SimulationError("nothing to simulate: no leads yet (run `leadgate run` first)")
    features = con.execute("select * from marts.lead_features order by lead_id").df()
    latest = con.execute(
        """
        select lead_id, max(score_id) as score_id, arg_max(scorer, score_id) as scorer,
               arg_max(scored_at, score_id) as scored_at, arg_max(feature_hash, score_id) as feature_hash,
               arg_max(score, score_id) as score, arg_max(confidence, score_id) as confidence
        from scoring.scores group by lead_id
        """
    ).df()
    recorded = {
        lead_id: {"state": state, "reason_codes": tuple(codes or ()), "feature_hash": feature_hash}
        for lead_id, state, codes, feature_hash in con.execute(
            "select lead_id, state, reason_codes, feature_hash from lifecycle.lead_states"
        ).fetchall()
    }
    contexts = current_context(con, features["lead_id"].tolist()) if len(features) else {}
    return ReplayInputs(features=features, latest=latest, recorded=recorded, contexts=contexts)


def simulate_policy(settings, current: Policy, candidate: Policy, *, sample: int = 10) -> SimulationResult:
    """Open the database read-only, replay every lead through both policies, and compare."""
    from leadgate.store import db

    with db.read_connection(settings) as con:
        inputs = load_replay(con)
        path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()[
            0
        ][0]
        if path and settings.db_path.exists() and not settings.db_path.samefile(path):
            inputs.source = f"read copy {path} (a writer held the database)"
        return simulate(
            inputs,
            current,
            candidate,
            now=settings.scoring_time(),
            sample=sample,
            enrich=lambda frame, policy: with_triggers(con, frame, policy),
        )


def with_triggers(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The behaviour-trigger counts routing reads, each lead's counted up to the time it was scored (read-only)."""
    from leadgate.store.trigger_counts import with_trigger_counts

    if frame.empty:
        return with_trigger_counts(con, frame, policy, datetime.now().astimezone())
    parts = [
        with_trigger_counts(con, frame.loc[idx], policy, pd.Timestamp(at).to_pydatetime())
        for at, idx in frame.groupby("scored_at").groups.items()
    ]
    return pd.concat(parts, ignore_index=True)


# --- the replay (pure) --------------------------------------------------------------------------


def _scored_frame(inputs: ReplayInputs, policy: Policy, now: datetime) -> pd.DataFrame:
    """Features merged with baseline scores as of each lead's latest scoring time, as the decide step merges them."""
    from leadgate.scoring.baseline import BaselineScorer

    features = inputs.features
    when = pd.Series(pd.Timestamp(now).tz_convert("UTC"), index=features.index)
    if len(inputs.latest):
        last = features[["lead_id", "feature_hash"]].merge(
            inputs.latest[["lead_id", "feature_hash", "scored_at"]].rename(columns={"feature_hash": "_h"}),
            on="lead_id",
            how="left",
        )
        current = (last["_h"] == last["feature_hash"]).to_numpy() & last["scored_at"].notna().to_numpy()
        stamps = pd.to_datetime(last["scored_at"], utc=True)
        # a current score: as of when it was computed; changed or never scored: as of now, as the next run would
        when = pd.Series(
            [stamps.iloc[k] if current[k] else when.iloc[k] for k in range(len(when))], index=features.index
        )
    scorer = BaselineScorer(policy)
    parts = [
        scorer.score(features.loc[idx], pd.Timestamp(t).to_pydatetime()) for t, idx in when.groupby(when).groups.items()
    ]
    scored = pd.concat(parts, ignore_index=True) if parts else scorer.score(features.iloc[:0], now)
    merged = features.drop(columns=[c for c in scored.columns if c in features.columns and c != "lead_id"]).merge(
        scored, on="lead_id", how="inner", validate="one_to_one"
    )
    if len(inputs.latest):
        ids = inputs.latest[["lead_id", "score_id", "scorer", "feature_hash", "score", "confidence"]].rename(
            columns={
                "feature_hash": "_scored_hash",
                "score": "_llm_score",
                "confidence": "_llm_confidence",
                "scorer": "_scorer",
            }
        )
        merged = merged.merge(ids, on="lead_id", how="left")
        # the model is not asked again: a current LLM score stands as recorded
        llm = (merged["_scorer"] == "llm") & (merged["_scored_hash"] == merged["feature_hash"])
        merged.loc[llm, "score"] = merged.loc[llm, "_llm_score"]
        merged.loc[llm, "confidence"] = merged.loc[llm, "_llm_confidence"]
        merged["_llm_kept"] = llm
        merged = merged.drop(columns=["_scored_hash", "_llm_score", "_llm_confidence", "_scorer"])
    else:
        merged["score_id"], merged["_llm_kept"] = None, False
    return merged


def _gate_verdicts(inputs: ReplayInputs, features: pd.DataFrame) -> tuple[dict[str, list[str]], set[str]]:
    """Recorded gate failures on the current features, and leads held by a blocked batch."""
    hashes = dict(zip(features["lead_id"], features["feature_hash"]))
    failed: dict[str, list[str]] = {}
    blocked: set[str] = set()
    for lead_id, rec in inputs.recorded.items():
        if lead_id not in hashes or rec["feature_hash"] != hashes[lead_id]:
            continue
        names = [c[len("gate:") :] for c in rec["reason_codes"] if c.startswith("gate:")]
        if rec["state"] == LeadState.NEEDS_REVIEW.value and names:
            failed[lead_id] = names
        elif rec["state"] == LeadState.PENDING.value and "gate_batch_blocked" in rec["reason_codes"]:
            blocked.add(lead_id)
    return failed, blocked


def _gate(policy: Policy, failed: dict[str, list[str]], blocked: bool, n: int) -> GateResult:
    return GateResult(
        batch_id="simulate",
        suite=policy.gate.suite,
        element_count=n,
        expectations=(),
        failed_leads=failed,
        failed_share=0.0,
        blocked=blocked,
    )


def replay(inputs: ReplayInputs, policy: Policy, frame: pd.DataFrame) -> dict[str, Outcome]:
    """Each lead's outcome under `policy` (frame: scored features): routed, then people's decisions applied as apply_routes does."""
    failed, blocked = _gate_verdicts(inputs, frame)
    held = frame["lead_id"].isin(blocked)
    decisions = route_leads(frame[~held], _gate(policy, failed, False, int((~held).sum())), policy)
    if held.any():
        decisions += route_leads(frame[held], _gate(policy, {}, True, int(held.sum())), policy)
    consent = {
        lead_id: (status, flag)
        for lead_id, status, flag in zip(
            frame["lead_id"], frame.get("consent_status", pd.Series([None] * len(frame))), frame["has_consent"]
        )
    }
    # the CRM refuses a record without its required fields: such a lead is never synced
    crm_ready = dict(
        zip(
            frame["lead_id"],
            ~np.column_stack(
                [is_blank(frame[c]) for c in policy.crm.required_fields] or [np.zeros(len(frame), dtype=bool)]
            ).any(axis=1),
        )
    )
    out: dict[str, Outcome] = {}
    for d in decisions:
        ctx = inputs.contexts.get(d.lead_id)
        adjusted, kept = adjust_for_people(d, ctx)
        if kept:
            state, codes = ctx["state"], inputs.recorded.get(d.lead_id, {}).get("reason_codes", ())
        else:
            state, codes = adjusted.state, adjusted.reason_codes
            # a synced lead the policy qualifies again stays synced while its payload is what the CRM has
            if ctx is not None and ctx["state"] == LeadState.SYNCED.value and state == LeadState.QUALIFIED.value:
                state = LeadState.SYNCED.value
        status, flag = consent[d.lead_id]
        syncable = state in SYNCABLE and allows_contact(status, policy, flag) and bool(crm_ready[d.lead_id])
        action = KEPT_ACTION if kept else (getattr(adjusted, "next_action", None) or NO_ACTION)
        out[d.lead_id] = Outcome(state, tuple(codes), getattr(adjusted, "tier", None) or NO_TIER, syncable, action)
    return out


def _rate(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    decided = sum(1 for o in outcomes.values() if o.state != LeadState.PENDING.value)
    review = sum(1 for o in outcomes.values() if o.state == LeadState.NEEDS_REVIEW.value)
    return {"rate": review / decided if decided else None, "review": review, "decided": decided}


def _counts(values: list[str], order: tuple[str, ...] = ()) -> dict[str, int]:
    counted = Counter(values)
    return {k: counted.get(k, 0) for k in order} | {k: v for k, v in sorted(counted.items()) if k not in order}


def _pick_sample(changed: list[str], before: dict[str, Outcome], after: dict[str, Outcome], size: int) -> list[str]:
    """Round-robin over the transitions, commonest first, so a sample shows every kind of change."""
    groups: dict[tuple[str, str], list[str]] = {}
    for lead_id in sorted(changed):
        groups.setdefault((before[lead_id].state, after[lead_id].state), []).append(lead_id)
    queues = sorted(groups.values(), key=lambda ids: (-len(ids), ids[0]))
    picked: list[str] = []
    while len(picked) < size and any(queues):
        for ids in queues:
            if ids and len(picked) < size:
                picked.append(ids.pop(0))
    return picked


def _as_is(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    return frame


def simulate(
    inputs: ReplayInputs,
    current: Policy,
    candidate: Policy,
    *,
    now: datetime,
    sample: int = 10,
    enrich: Callable[[pd.DataFrame, Policy], pd.DataFrame] = _as_is,
) -> SimulationResult:
    """Compare the two policies on the same leads; pure apart from `enrich` (what routing reads beside the scores)."""
    base = enrich(_scored_frame(inputs, current, now), current)
    # always re-scored: confidence depends on the tiers' thresholds too, not only on the scoring section
    other = enrich(_scored_frame(inputs, candidate, now), candidate)
    before = replay(inputs, current, base)
    after = replay(inputs, candidate, other)
    paired = base[["lead_id", "score", "confidence"]].merge(other[["lead_id", "score", "confidence"]], on="lead_id")
    moved = ~(
        np.isclose(paired["score_x"].astype(float), paired["score_y"].astype(float), rtol=0, atol=1e-12, equal_nan=True)
        & np.isclose(
            paired["confidence_x"].astype(float),
            paired["confidence_y"].astype(float),
            rtol=0,
            atol=1e-12,
            equal_nan=True,
        )
    )
    leads = sorted(before)
    changed = [i for i in leads if before[i].state != after[i].state]
    transitions = Counter((before[i].state, after[i].state) for i in changed)
    result = SimulationResult(
        current_version=current.version,
        candidate_version=candidate.version,
        leads=len(leads),
        scores_changed=int(moved.sum()),
        llm_scores_kept=int(base["_llm_kept"].sum()),
        source=inputs.source,
        replay_matches_recorded=sum(1 for i in leads if inputs.recorded.get(i, {}).get("state") == before[i].state),
        recorded_leads=sum(1 for i in leads if i in inputs.recorded),
        states={
            "before": _counts([before[i].state for i in leads], ALL_STATES),
            "after": _counts([after[i].state for i in leads], ALL_STATES),
        },
        exception_rate={"before": _rate(before), "after": _rate(after)},
        review_budget={"before": current.routing.review_budget, "after": candidate.routing.review_budget},
        changed=len(changed),
        transitions=[
            {"from": a, "to": b, "leads": n}
            for (a, b), n in sorted(transitions.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        newly_synced=sum(1 for i in leads if after[i].syncable and not before[i].syncable),
        no_longer_synced=sum(1 for i in leads if before[i].syncable and not after[i].syncable),
    )
    tiers = sorted(
        {o.tier for o in before.values()} | {o.tier for o in after.values()}, key=lambda t: (t == NO_TIER, t)
    )
    result.tiers = {
        "before": _counts([before[i].tier for i in leads], tuple(tiers)),
        "after": _counts([after[i].tier for i in leads], tuple(tiers)),
    }
    actions = sorted(
        {o.next_action for o in before.values()} | {o.next_action for o in after.values()},
        key=lambda a: (a.startswith("("), a),
    )
    result.next_actions = {
        "before": _counts([before[i].next_action for i in leads], tuple(actions)),
        "after": _counts([after[i].next_action for i in leads], tuple(actions)),
    }
    result.sample = [
        {
            "lead_id": i,
            "before": before[i].state,
            "after": after[i].state,
            "before_reasons": list(before[i].reason_codes),
            "after_reasons": list(after[i].reason_codes),
            "before_tier": before[i].tier,
            "after_tier": after[i].tier,
        }
        for i in _pick_sample(changed, before, after, sample)
    ]
    return result
