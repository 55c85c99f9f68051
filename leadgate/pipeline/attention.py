"""What a run summary leads with: the things an operator should look at, most urgent first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leadgate.config import LeadgateSettings
from leadgate.store import db

TOP_REASONS = 5
LLM_PROBLEM_OUTCOMES = ("llm_error", "llm_inconsistent", "prompt_injection")
DEFAULT_REVIEW_BUDGET = 0.15
_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"(^|[\s(])\d+")


@dataclass
class Attention:
    headline: str
    details: list[str] = field(default_factory=list)


def rejection_reasons(
    settings: LeadgateSettings, load_id: str | None, limit: int = TOP_REASONS
) -> list[dict[str, Any]]:
    """The commonest rejection reasons of one ingest (load id), with counts; [] when nothing was rejected."""
    if not load_id:
        return []
    with db.connect(settings) as con:
        rows = con.execute(
            "select reason, count(*) from raw.rejected_events where load_id = ? group by reason", [load_id]
        ).fetchall()
    counts: dict[str, int] = {}
    for reason, n in rows:
        kind = reason_kind(reason)
        counts[kind] = counts.get(kind, 0) + n
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"reason": reason, "count": n} for reason, n in top]


def reason_kind(reason: str) -> str:
    """A rejection reason without the record's own values, so alike reasons add up ('email '…' is not valid')."""
    return _NUMBER.sub(r"\1N", _QUOTED.sub("'…'", reason))


def exception_rate(summary: dict[str, Any]) -> tuple[float, int, int] | None:
    """(share of this run's decided leads sent to review, sent to review, decided); None when nothing was decided."""
    routed = (summary.get("decide") or {}).get("routed") or {}
    decided = sum(n for state, n in routed.items() if state != "pending")
    if not decided:
        return None
    review = int(routed.get("needs_review", 0))
    return review / decided, review, decided


def review_reason_counts(con, run_id: str) -> dict[str, int]:
    """Leads this run sent to (or kept in) review, per reason code of their current state; a lead counts once per code."""
    rows = con.execute(
        """
        select code, count(distinct lead_id) from (
            select s.lead_id, unnest(s.reason_codes) as code
            from lifecycle.lead_states s
            where s.state = 'needs_review' and s.lead_id in (
                select lead_id from audit.decisions where run_id = ? and kind = 'route' and to_state = 'needs_review')
        ) group by code
        """,
        [run_id],
    ).fetchall()
    return {code: int(n) for code, n in rows}


def top_review_reasons(summary: dict[str, Any], limit: int = 3) -> list[tuple[str, int]]:
    """The reason codes that sent the most of this run's leads to review, most first (ties by name)."""
    counts = (summary.get("decide") or {}).get("review_reasons") or {}
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))[:limit]


def review_budget(summary: dict[str, Any]) -> float:
    budget = summary.get("review_budget")
    return DEFAULT_REVIEW_BUDGET if budget is None else float(budget)


def attention_items(summary: dict[str, Any]) -> list[Attention]:
    """Broken invariants, rejections by reason, conflicts, gate blocks, exceptions over budget, CRM, LLM errors, drift."""
    items: list[Attention] = []
    status = summary.get("status") or {}
    for inv in status.get("invariants") or []:
        if not inv.get("ok"):
            items.append(Attention(f"invariant broken: {inv.get('name')}", [str(inv.get("detail") or "")]))
    ingest = summary.get("ingest") or {}
    for warning in ingest.get("warnings") or []:  # a file mostly rejected: named, with its reasons
        items.append(Attention("input file needs a look", [str(warning)]))
    if ingest.get("rejected"):
        reasons = summary.get("rejection_reasons") or []
        shown = sum(r["count"] for r in reasons)
        details = [f"{r['count']} × {r['reason']}" for r in reasons]
        if reasons and ingest["rejected"] > shown:
            details.append(f"{ingest['rejected'] - shown} more with other reasons (raw.rejected_events)")
        items.append(Attention(f"{ingest['rejected']} record(s) rejected", details))
    if ingest.get("conflicts"):
        items.append(
            Attention(
                f"{ingest['conflicts']} conflicting duplicate(s)",
                [
                    (
                        "same source + event_id as an earlier event but different content: the first was kept "
                        "(raw.duplicate_events where conflicting)"
                    )
                ],
            )
        )
    decide = summary.get("decide") or {}
    if decide.get("blocked_batches"):
        items.append(
            Attention(
                f"{decide['blocked_batches']} batch(es) blocked by the quality gate",
                ["nothing from them was synced; their leads stay pending (gate_batch_blocked): see quality.validations"]
                + [f"{n} lead(s) failed {name}" for name, n in sorted((decide.get("gate_failures") or {}).items())],
            )
        )
    elif decide.get("gate_failures"):
        items.append(
            Attention(
                f"{sum(decide['gate_failures'].values())} lead(s) failed a quality-gate check and went to review",
                [f"{n} × {name}" for name, n in sorted(decide["gate_failures"].items())],
            )
        )
    rate = exception_rate(summary)
    budget = review_budget(summary)
    if rate is not None and rate[0] > budget:
        items.append(
            Attention(
                f"exception rate {rate[0]:.1%} is over the review budget of {budget:.0%}",
                [f"{rate[1]} of {rate[2]} lead(s) decided in this run went to review (policy routing.review_budget)"]
                + ([_top_reasons_line(summary)] if top_review_reasons(summary) else []),
            )
        )
    items += _crm_items(summary.get("sync") or {}, summary.get("crm"))
    items += _llm_items(decide.get("llm"))
    items += _drift_items((decide.get("model") or {}).get("drift"), summary.get("drift_alert"))
    return items


def drift_listing(drift: dict[str, Any], names: list[str]) -> str:
    """'score PSI 0.52, pricing_views PSI 0.31' for `names` of a run's drift record."""
    psi = drift.get("psi") or {}
    return ", ".join(f"{name} PSI {float(psi[name]):.2f}" for name in names if name in psi)


def _drift_items(drift: dict[str, Any] | None, alert: dict[str, Any] | None) -> list[Attention]:
    """The champion's drift above the policy's model.drift_psi: what drifted, how much, what to do, what was sent."""
    if not drift or not drift.get("drifted"):
        return []
    version, limit = drift.get("model_version"), drift.get("psi_threshold")
    details = [
        f"{drift_listing(drift, drift['drifted'])} against the training data, on {drift.get('leads', 0)} lead(s)"
        f" scored in this run (policy model.drift_psi {limit})",
        "the leads no longer look like what the model learned from: its probabilities may be off",
        f"consider `leadgate model train` on recent outcomes, then `leadgate model shadow V` and "
        f"`leadgate model compare V` before promoting it (`leadgate model show {version}` says why a retrain is due)",
    ]
    status = (alert or {}).get("status")
    if status == "delivered":
        details.append("drift alert sent to the alert webhook")
    elif status == "already_sent":
        details.append(
            f"already announced (run {alert.get('last_sent_run')}): another alert follows if it gets markedly worse,"
            " a new feature drifts or it comes back after a calm run"
        )
    elif status == "failed":
        details.append(f"drift alert not delivered ({alert.get('error')}): the next drifting run tries again")
    return [Attention(f"model {version} drifted from its training data", details)]


def _top_reasons_line(summary: dict[str, Any]) -> str:
    top = top_review_reasons(summary)
    listed = ", ".join(
        f"{code} ({n} lead{'s' if n != 1 else ''})" if i == 0 else f"{code} ({n})" for i, (code, n) in enumerate(top)
    )
    return f"top reasons: {listed} (a lead can have several)"


def _crm_items(sync: dict[str, Any], crm: Any) -> list[Attention]:
    problems = [
        (sync.get("rejected"), "refused by the CRM (validation errors): now in review with the CRM's message"),
        (sync.get("already_contact"), "already a Contact in the CRM: now in review (crm_already_contact)"),
        (sync.get("retry"), "not delivered (limits, timeouts, server errors): still owed, retried next run"),
        (sync.get("unexpected_results"), "CRM answer(s) for leads that were not sent (ignored)"),
    ]
    details = [f"{n} lead(s) {text}" for n, text in problems if n]
    return [Attention(f"CRM errors ({crm})", details)] if details else []


def _llm_items(llm: dict[str, Any] | None) -> list[Attention]:
    if not llm:
        return []
    details = []
    if float(llm.get("error_rate") or 0) > 0:
        details.append(f"error rate {float(llm['error_rate']):.1%} of {llm.get('calls', 0)} call(s)")
    outcomes = llm.get("outcomes") or {}
    details += [f"{outcomes[name]} × {name} (sent to review)" for name in LLM_PROBLEM_OUTCOMES if outcomes.get(name)]
    waiting = (llm.get("routes") or {}).get("pending")
    if waiting:
        details.append(
            f"{waiting} lead(s) wait for the LLM (endpoint unreachable or token budget spent): "
            "pending with their baseline score on record, scored on the next run"
        )
    return [Attention(f"LLM errors ({llm.get('model')})", details)] if details else []
