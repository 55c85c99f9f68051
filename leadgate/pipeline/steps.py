"""The pipeline's steps as plain functions: the Prefect flow wraps each as a task, benchmarks call them directly."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.shared.crms import crm_choices
from leadgate.store import db
from leadgate.store.sql import relation_exists

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def start_run(
    settings: LeadgateSettings,
    run_id: str,
    *,
    kind: str,
    policy: Policy,
    flow_run_id: str | None = None,
    holding_run_lock: bool = True,
) -> list[dict]:
    """Record the run (and its process); first mark earlier `running` rows whose process is gone `abandoned`."""
    from leadgate.pipeline.recovery import abandon_dead_runs, this_process

    me = this_process()
    with db.connect(settings) as con:
        abandoned = abandon_dead_runs(con, run_id, holding_run_lock=holding_run_lock)
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, status, sync_mode, crm, policy_version, prefect_flow_run_id,"
            " pid, host, process_started) values (?, ?, now(), 'running', ?, ?, ?, ?, ?, ?, ?)",
            [run_id, kind, settings.sync_mode, settings.crm, policy.version, flow_run_id, me.pid, me.host, me.started],
        )
    return abandoned


def finish_run(
    settings: LeadgateSettings, run_id: str, *, status: str, summary: dict | None = None, error: str | None = None
) -> None:
    from leadgate.shared.redaction import redact

    with db.connect(settings) as con:
        con.execute(
            "update meta.runs set finished_at = now(), status = ?, summary = ?::json, error = ? where run_id = ?",
            [status, redact(json.dumps(summary, default=str)) if summary is not None else None, redact(error), run_id],
        )


def to_plain(value: Any) -> Any:
    """Reports (dataclasses) as JSON-friendly dicts, for summaries and artifacts."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# --- ingest ---------------------------------------------------------------------------------


def ingest_step(
    settings: LeadgateSettings,
    paths: list[Path] | None = None,
    progress: Progress = _quiet,
    warn: Progress | None = None,
):
    """Ingest `paths`, or the inbox (which must be an existing folder: a wrong LEADGATE_INBOX is an error, exit 2)."""
    from leadgate.ingest import ingest_paths
    from leadgate.ingest.files import check_inbox

    if paths is None:
        check_inbox(settings.inbox)
    return ingest_paths(settings, paths if paths is not None else [settings.inbox], progress=progress, warn=warn)


def leads_waiting_for_scorer(settings: LeadgateSettings) -> int:
    """Pending leads a run should retry without new events (an LLM outage or a spent token budget).

    Leads held by a blocked gate batch are not counted: they wait for new events or the nightly
    re-score, so ops have time to look at the batch before it is retried.
    """
    with db.connect(settings) as con:
        return con.execute(
            "select count(*) from lifecycle.lead_states where state = 'pending'"
            " and not list_contains(reason_codes, 'gate_batch_blocked')"
        ).fetchall()[0][0]


def marts_built(settings: LeadgateSettings) -> bool:
    with db.connect(settings) as con:
        return relation_exists(con, "marts", "lead_features")


# --- dbt ------------------------------------------------------------------------------------


def work_owed(settings: LeadgateSettings):
    """What raw data dbt has not built yet, or a build not yet scored and routed (recovery.Owed)."""
    from leadgate.pipeline.recovery import work_owed as owed

    with db.connect(settings) as con:
        return owed(con)


def build_step(settings: LeadgateSettings, *, full_refresh: bool = False, run_id: str | None = None):
    from leadgate.store.dbt_builds import raw_mark, record_build
    from leadgate.transform.dbt import run_dbt

    with db.connect(settings) as con:
        mark = raw_mark(con)  # before dbt starts: events loaded meanwhile count as not built
    report = run_dbt(settings, full_refresh=full_refresh)
    with db.connect(settings) as con:
        record_build(con, mark, run_id=run_id, full_refresh=full_refresh)
    return report


# --- score, gate, route ---------------------------------------------------------------------


@dataclass
class DecideReport:
    new_leads: int = 0
    scored: int = 0
    batches: int = 0
    blocked_batches: int = 0
    gate_failures: dict[str, int] = field(default_factory=dict)
    routed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    llm: dict[str, Any] | None = None  # LLM scorer only: calls, tokens, cost, error rate, cache hits, outcomes
    model: dict[str, Any] | None = None  # champion / shadow model: versions, shadow rows, drift (leadgate/model/run.py)
    review_reasons: dict[str, int] = field(default_factory=dict)  # reason code -> leads this run sent to review


def make_scorer(settings: LeadgateSettings, policy: Policy, run_id: str | None = None):
    """The scorer LEADGATE_SCORER names; the LLM scorer reads LEADGATE_LLM_* and OPENAI_* here, at the edge."""
    from leadgate.scoring.baseline import BaselineScorer

    if settings.scorer == "baseline":
        from leadgate.model.run import promoted_scorer

        with db.connect(settings) as con:
            model = promoted_scorer(con, policy)  # a promoted model decides (leadgate model promote)
        return model or BaselineScorer(policy)
    if settings.scorer == "llm":
        from leadgate.config import load_llm_settings
        from leadgate.model.run import promoted_scorer
        from leadgate.scoring.llm import LlmLeadScorer

        llm, endpoint = load_llm_settings()
        with db.connect(settings) as con:
            model = promoted_scorer(con, policy)  # a promoted model is what the LLM builds on (policy llm.with_model)
        if model is None:
            return LlmLeadScorer(settings, policy, llm=llm, endpoint=endpoint, run_id=run_id)
        from leadgate.scoring.llm_model import model_base

        return LlmLeadScorer(settings, policy, llm=llm, endpoint=endpoint, run_id=run_id, base=model_base(model))
    raise ValueError(f"unknown scorer {settings.scorer!r}; use LEADGATE_SCORER=baseline or llm")


def decide_step(
    settings: LeadgateSettings,
    policy: Policy,
    run_id: str,
    *,
    rescore_all: bool = False,
    batch_size: int = 50_000,
    progress: Progress = _quiet,
    on_batch: Callable[[int, int], None] | None = None,
) -> DecideReport:
    """Score the leads that changed, gate each batch with GX, and route every lead to a state."""
    from leadgate.routing.gate import record_validations, validate_batch
    from leadgate.routing.rules import apply_routes, route_leads
    from leadgate.scoring.baseline import leads_to_score, record_scores, sync_pending_leads
    from leadgate.store.dbt_builds import record_decided
    from leadgate.store.trigger_counts import with_trigger_counts

    report = DecideReport()
    started = datetime.now(UTC)
    scorer = make_scorer(settings, policy, run_id)
    llm_run = getattr(scorer, "name", None) == "llm"
    if llm_run:
        from leadgate.scoring.llm import record_llm_scores
    from leadgate.model.run import finish_models, record_shadow, shadow_for

    shadow, shadow_rows = (None if llm_run else shadow_for(settings, policy)), 0
    now = settings.scoring_time()
    from leadgate.review.journal import replay as replay_decisions

    replayed = replay_decisions(settings, policy)  # decisions saved while a run held the database land before routing
    if replayed.applied or replayed.conflicts:
        progress(f"review decisions from the journal: {replayed.applied} applied, {replayed.conflicts} in conflict")
    with db.connect(settings) as con:
        report.new_leads = sync_pending_leads(con, policy.version)
        frame = leads_to_score(con, rescore_all=rescore_all)
    total = len(frame)
    progress(f"scoring {total} leads ({report.new_leads} new) with {scorer.name} {scorer.version}")
    for start in range(0, total, batch_size):
        batch_id = f"{run_id}-b{start // batch_size + 1}"
        features = frame.iloc[start : start + batch_size]
        t0 = time.perf_counter()
        scored = scorer.score(features, now)
        t1 = time.perf_counter()
        merged = features.drop(columns=[c for c in scored.columns if c in features.columns and c != "lead_id"]).merge(
            scored, on="lead_id", how="inner", validate="one_to_one"
        )
        gate = validate_batch(merged, policy, batch_id=batch_id)
        t2 = time.perf_counter()
        with db.connect(settings) as con:
            if llm_run:
                # the baseline rows of every lead and the LLM rows where it answered; routing uses the final one
                recorded = record_llm_scores(con, scorer.last, run_id, policy)
            else:
                recorded = record_scores(con, scored, run_id, policy)
            merged = merged.merge(recorded[["lead_id", "score_id"]], on="lead_id", how="left")
            record_validations(con, gate, run_id)
            merged = with_trigger_counts(con, merged, policy, now)  # behaviour triggers (routing.triggers)
            decisions = route_leads(merged, gate, policy)
            routed = apply_routes(
                con,
                decisions,
                merged,
                run_id=run_id,
                policy=policy,
                scorer_version=scorer.version,
                model_version=getattr(scorer, "model_version", None),
            )
            if shadow is not None:  # scored and recorded beside the champion, never routed on
                shadow_rows += record_shadow(con, shadow, features, merged, decisions, gate, policy, run_id, now)
        t3 = time.perf_counter()
        report.scored += len(scored)
        report.batches += 1
        report.blocked_batches += int(bool(gate.blocked))
        for _lead_id, names in gate.failed_leads.items():
            for name in names:
                report.gate_failures[name] = report.gate_failures.get(name, 0) + 1
        for state, count in routed.items():
            report.routed[state] = report.routed.get(state, 0) + count
        for key, secs in (("score", t1 - t0), ("gate", t2 - t1), ("route", t3 - t2)):
            report.seconds[key] = round(report.seconds.get(key, 0.0) + secs, 3)
        note = " — BLOCKED: too many rows failed the gate, nothing from this batch will sync" if gate.blocked else ""
        progress(
            f"batch {batch_id}: {len(scored)} scored, gate failed {len(gate.failed_leads)} ({gate.failed_share:.1%}){note}"
        )
        if on_batch is not None:
            on_batch(min(start + batch_size, total), total)  # e.g. the run's progress artifact
    from leadgate.pipeline.attention import review_reason_counts

    with db.connect(settings) as con:
        record_decided(con, started, run_id=run_id)
        report.review_reasons = review_reason_counts(con, run_id)  # the review budget's top reasons
    # with LEADGATE_SCORER=llm on a promoted model, the model's drift is the run's
    report.model = finish_models(
        settings, getattr(scorer, "champion", None) or scorer, shadow, shadow_rows, run_id, policy
    )
    if report.model and (report.model.get("drift") or {}).get("warning"):
        progress(report.model["drift"]["warning"])
    if llm_run:
        report.llm = scorer.summary
        progress(
            "LLM: {calls} calls, {tokens_in} tokens in, {tokens_out} out, est. ${cost}, {cache_hits} cache hits".format(
                **report.llm, cost=report.llm["estimated_cost_usd"] or 0
            )
        )
    return report


# --- sync -----------------------------------------------------------------------------------


def make_connector(settings: LeadgateSettings):
    """The CRM connector for live mode, built from SALESFORCE_* / HUBSPOT_* settings (None in shadow mode)."""
    if settings.sync_mode != "live":
        return None
    if settings.crm == "none":
        from leadgate.sync.outbox import SyncError

        raise SyncError(f"LEADGATE_SYNC_MODE=live needs a CRM: set {crm_choices()}")
    from connectors.crm.registry import build_connector

    return build_connector(settings.crm)


def sync_step(settings: LeadgateSettings, policy: Policy, run_id: str):
    from leadgate.review.journal import replay as replay_decisions
    from leadgate.sync.outbox import run_sync

    replay_decisions(settings, policy)  # a run that routed nothing still lands saved approvals before it syncs

    return run_sync(
        settings, policy, crm=settings.crm, mode=settings.sync_mode, connector=make_connector(settings), run_id=run_id
    )


def status_counts(settings: LeadgateSettings) -> dict:
    from leadgate.store.invariants import collect_status

    with db.connect(settings) as con:
        return collect_status(con)
