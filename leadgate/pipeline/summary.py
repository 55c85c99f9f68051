"""The run summary as rows: sections of (item, value), all-zero sections hidden, the headline, attention rows.

Rendered by leadgate/pipeline/report.py (markdown, for the Prefect artifact) and leadgate/cli/render_summary.py
(terminal text): the core renders no terminal text.
"""

from __future__ import annotations

from typing import Any

from leadgate.lifecycle import ALL_STATES
from leadgate.pipeline.attention import attention_items, drift_listing, exception_rate, review_budget


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat (section, item, value) rows: counts per state, events, gate and sync results."""
    rows: list[dict[str, Any]] = []

    def add(section: str, item: str, value: Any) -> None:
        rows.append({"section": section, "item": item, "value": value})

    for run in summary.get("abandoned_runs") or []:  # found dead by this run's start (leadgate.pipeline.recovery)
        add("recovery", f"run {run['run_id']}", run["reason"])
    if summary.get("catch_up"):
        add("recovery", "picked up", summary["catch_up"])
    ingest = summary.get("ingest") or {}
    for warning in ingest.get("warnings") or []:  # first: what needs a look (`--strict` fails the run on these)
        add("warnings", "ingest", warning)
    for key in ("records", "accepted", "rejected", "duplicates", "conflicts", "field_issues", "files_skipped"):
        if key in ingest:
            add("events (this run)", key.replace("_", " "), ingest[key])
    status = summary.get("status") or {}
    for key, value in (status.get("events") or {}).items():
        add("events (all time)", key.replace("_", " "), value)
    leads = status.get("leads") or {}
    for state in ALL_STATES:
        add("leads by state", state, leads.get(state, 0))
    decided = summary.get("decide")
    if decided is None:
        add("scoring", "skipped", "no new events")
    else:
        add("scoring", "leads scored", decided.get("scored", 0))
        add("scoring", "new leads", decided.get("new_leads", 0))
        for state, count in sorted((decided.get("routed") or {}).items()):
            add("routed this run", state, count)
        add("quality gate", "batches", decided.get("batches", 0))
        add("quality gate", "blocked batches", decided.get("blocked_batches", 0))
        for name, count in sorted((decided.get("gate_failures") or {}).items()):
            add("quality gate", f"failed: {name}", count)
        _llm_rows(decided.get("llm"), add)
        _model_rows(decided.get("model"), add)
    sync = summary.get("sync") or {}
    for key, value in sync.items():
        if key in ("mode", "crm"):
            continue  # already in the section's name
        if isinstance(value, (int, float, str)) or value is None:
            add(f"sync ({summary.get('sync_mode')}, crm={summary.get('crm')})", key.replace("_", " "), value)
    for inv in status.get("invariants") or []:
        add("invariants", inv.get("name"), "ok" if inv.get("ok") else f"BROKEN: {inv.get('detail')}")
    return rows


def _llm_rows(llm: dict[str, Any] | None, add) -> None:
    """The LLM scorer's bill and outcomes (only when LEADGATE_SCORER=llm)."""
    if not llm:
        return
    section = f"LLM scoring ({llm.get('model')})"
    cost = llm.get("estimated_cost_usd")
    for item, value in (
        ("calls", llm.get("calls", 0)),
        ("score calls", llm.get("score_calls", 0)),
        ("validator calls", llm.get("validate_calls", 0)),
        ("tokens in", llm.get("tokens_in", 0)),
        ("tokens out", llm.get("tokens_out", 0)),
        ("estimated cost (USD)", "n/a (no price for this model)" if cost is None else f"{cost:.4f}"),
        ("error rate", f"{float(llm.get('error_rate') or 0):.1%}"),
        ("cache hits", llm.get("cache_hits", 0)),
        ("validated (middle band)", llm.get("validated", 0)),
    ):
        add(section, item, value)
    for name, count in sorted((llm.get("outcomes") or {}).items()):
        add(section, f"outcome: {name}", count)
    for name, count in sorted((llm.get("routes") or {}).items()):
        add(section, f"route: {name}", count)


def _model_rows(model: dict[str, Any] | None, add) -> None:
    """Which versions decided and shadowed, and one drift line (the details are in "needs attention")."""
    if not model:
        return
    if model.get("champion"):
        add("model", "champion", model["champion"])
    if model.get("shadow"):
        add("model", "shadow", model["shadow"])
        add("model", "shadow scored", model.get("shadow_scored", 0))
    drift = model.get("drift")
    if not drift or not drift.get("psi"):
        return
    limit = drift.get("psi_threshold")
    if drift.get("drifted"):
        add("model", "drift", f"above {limit}: {drift_listing(drift, drift['drifted'])} (see needs attention)")
    else:
        worst = max(drift["psi"], key=lambda name: drift["psi"][name])
        add("model", "drift", f"none (largest: {drift_listing(drift, [worst])}; policy {limit})")


def _is_zero(value: Any) -> bool:
    return (
        value is None
        or value == "ok"
        or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)
    )


def shown_rows(summary: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The summary rows without all-zero sections (all invariants ok counts as zero), and those sections' names."""
    rows = summary_rows(summary)
    sections: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        sections.setdefault(row["section"], []).append(row)
    hidden = [name for name, part in sections.items() if all(_is_zero(r["value"]) for r in part)]
    # all invariants ok is said in the headline; the note lists only sections that were all zero
    return [r for r in rows if r["section"] not in hidden], [h for h in hidden if h != "invariants"]


def headline(summary: dict[str, Any]) -> str:
    parts = [f"policy {summary.get('policy_version')}", f"sync {summary.get('sync_mode')} to {summary.get('crm')}"]
    rate = exception_rate(summary)
    if rate is not None:
        parts.append(f"exception rate {rate[0]:.1%} of {rate[2]} decided (review budget {review_budget(summary):.0%})")
    invariants = (summary.get("status") or {}).get("invariants") or []
    if invariants and all(inv.get("ok") for inv in invariants):
        parts.append(f"invariants: all {len(invariants)} ok")
    return ", ".join(parts)


def attention_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The attention items as (section, item, value) rows, for the top of the table artifact."""
    return [
        {"section": "needs attention", "item": a.headline, "value": "; ".join(a.details)}
        for a in attention_items(summary)
    ]
