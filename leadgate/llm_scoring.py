"""LLM scoring glue: scrub, score through connectors.llm, combine with the baseline, log calls, cache answers.

Combination (policy section `llm`, defaults below when the policy file has none):

- llm_score = fit_share * fit_score + (1 - fit_share) * intent_score  (both from the model, in [0, 1]).
- score = llm_weight * llm_score + (1 - llm_weight) * baseline score; qualified = score >= qualify_threshold.
- confidence = confidence_weight * model confidence + (1 - confidence_weight) * baseline confidence,
  times (1 - disagreement_penalty) for each of the model's label and the baseline's decision that
  disagrees with the final decision.
- An `unknown` answer keeps the baseline score, with confidence capped at unknown_confidence_cap.
- llm_error / llm_inconsistent / prompt_injection: the baseline score, and review with that reason.
  Budget overflow or an unreachable endpoint: the baseline score on record, and the lead stays pending.
- Final confidence in the routing's middle band: a validator call; it agrees -> `llm_validator_agrees`
  (the second check passed), it disagrees -> review with `llm_validator_disagrees`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from connectors.llm import (
    CacheEntry, CallRecord, LeadInput, LeadResult, LlmScorer, LlmSettings, OpenAISettings, ValidationResult, make_async_client,
)
from leadgate import db
from leadgate.config import LeadgateSettings
from leadgate.pii import scrub_features
from leadgate.policy import Policy

SCORER_NAME, SCORER_VERSION = "llm", "1.0.0"
PREPARE_BATCHES = 25          # leads are scrubbed and looked up this many batches at a time
REVIEW_CODES = {"llm_error": "llm_error", "llm_inconsistent": "llm_inconsistent", "prompt_injection": "prompt_injection"}


class LlmPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)


DEFAULT_PRICES = {
    "default": LlmPrice(input_per_1m=0.0, output_per_1m=0.0),       # local servers cost nothing per token
    "gpt-4o-mini": LlmPrice(input_per_1m=0.15, output_per_1m=0.60),
    "gpt-4o": LlmPrice(input_per_1m=2.50, output_per_1m=10.00),
    "gpt-4.1-mini": LlmPrice(input_per_1m=0.40, output_per_1m=1.60),
}


class LlmPolicy(BaseModel):
    """The policy file's `llm:` section: how the model's answer and the baseline combine, and prices."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    llm_weight: float = Field(default=0.6, ge=0, le=1)
    fit_share: float = Field(default=0.45, ge=0, le=1)
    confidence_weight: float = Field(default=0.6, ge=0, le=1)
    disagreement_penalty: float = Field(default=0.25, ge=0, le=1)
    unknown_confidence_cap: float = Field(default=0.5, ge=0, le=1)
    prices: dict[str, LlmPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))


def llm_policy(policy: Policy) -> LlmPolicy:
    """The `llm` section of the policy when it has one, else the documented defaults."""
    section = getattr(policy, "llm", None)
    if section is None:
        return LlmPolicy()
    return LlmPolicy.model_validate(section.model_dump() if isinstance(section, BaseModel) else section)


def estimated_cost(lp: LlmPolicy, model: str, tokens_in: int, tokens_out: int) -> float | None:
    price = lp.prices.get(model) or lp.prices.get("default")
    if price is None:
        return None
    return round((tokens_in * price.input_per_1m + tokens_out * price.output_per_1m) / 1e6, 8)


# --- the database side ------------------------------------------------------------------------

def load_cache(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Cached answers for `keys` (cache_key -> answer JSON)."""
    if not keys:
        return {}
    con.register("_llm_cache_keys", pd.DataFrame({"cache_key": list(dict.fromkeys(keys))}))
    try:
        rows = con.execute(
            "select c.cache_key, c.answer from scoring.llm_cache c join _llm_cache_keys k using (cache_key)"
        ).fetchall()
    finally:
        con.unregister("_llm_cache_keys")
    return {key: json.loads(answer) for key, answer in rows}


def load_validation_cache(con: duckdb.DuckDBPyConnection, input_hashes: list[str], prompt_version: str) -> dict[str, dict[str, Any]]:
    """Cached validator verdicts for leads with these input hashes (their keys also cover the first answer)."""
    if not input_hashes:
        return {}
    con.register("_llm_cache_inputs", pd.DataFrame({"input_hash": list(dict.fromkeys(input_hashes))}))
    try:
        rows = con.execute(
            "select c.cache_key, c.answer from scoring.llm_cache c join _llm_cache_inputs i using (input_hash)"
            " where c.prompt_version = ?",
            [prompt_version],
        ).fetchall()
    finally:
        con.unregister("_llm_cache_inputs")
    return {key: json.loads(answer) for key, answer in rows}


def store_cache(con: duckdb.DuckDBPyConnection, entries: list[CacheEntry]) -> int:
    """Insert new cache entries (an existing key keeps its first answer); returns how many were offered."""
    if not entries:
        return 0
    frame = pd.DataFrame(
        {
            "cache_key": [e.cache_key for e in entries],
            "model": [e.model for e in entries],
            "prompt_version": [e.prompt_version for e in entries],
            "input_hash": [e.input_hash for e in entries],
            "answer": [json.dumps(e.answer, sort_keys=True) for e in entries],
        }
    )
    con.register("_llm_cache_new", frame)
    try:
        con.execute(
            "insert into scoring.llm_cache (cache_key, model, prompt_version, input_hash, answer, created_at)"
            " select cache_key, model, prompt_version, input_hash, answer::json, now() from _llm_cache_new"
            " on conflict do nothing"
        )
    finally:
        con.unregister("_llm_cache_new")
    return len(entries)


def record_llm_calls(con: duckdb.DuckDBPyConnection, calls: list[CallRecord], run_id: str | None) -> int:
    """Append every HTTP attempt to scoring.llm_calls."""
    if not calls:
        return 0
    frame = pd.DataFrame(
        {
            "call_id": [c.call_id for c in calls], "request_id": [c.request_id for c in calls],
            "model": [c.model for c in calls], "prompt_version": [c.prompt_version for c in calls],
            "kind": [c.kind for c in calls], "batch_size": [c.batch_size for c in calls],
            "lead_ids": [json.dumps(c.lead_ids) for c in calls], "tokens_in": [c.tokens_in for c in calls],
            "tokens_out": [c.tokens_out for c in calls], "latency_ms": [c.latency_ms for c in calls],
            "outcome": [c.outcome for c in calls], "error": [c.error for c in calls],
            "estimated_cost_usd": pd.Series([c.estimated_cost_usd for c in calls], dtype="float64"),
            "called_at": [c.called_at for c in calls],
        }
    )
    con.register("_llm_calls_new", frame)
    try:
        con.execute(
            "insert into scoring.llm_calls (call_id, run_id, request_id, model, prompt_version, kind, batch_size, lead_ids,"
            " tokens_in, tokens_out, latency_ms, outcome, error, estimated_cost_usd, called_at)"
            " select call_id, ?, request_id, model, prompt_version, kind, batch_size, lead_ids::json, tokens_in, tokens_out,"
            " latency_ms, outcome, error, estimated_cost_usd, called_at from _llm_calls_new",
            [run_id],
        )
    finally:
        con.unregister("_llm_calls_new")
    return len(calls)


def recent_messages(con: duckdb.DuckDBPyConnection, lead_ids: list[str], limit: int = 3) -> dict[str, list[str]]:
    """The latest distinct non-empty messages per lead from marts.lead_events, newest first."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'lead_events'"
    ).fetchall()[0][0]
    if not exists or not lead_ids:
        return {}
    con.register("_llm_leads", pd.DataFrame({"lead_id": lead_ids}))
    try:
        rows = con.execute(
            """
            select lead_id, list(message order by last_at desc)[1:?] from (
                select e.lead_id, trim(e.message) as message, max(e.occurred_at) as last_at
                from marts.lead_events e join _llm_leads l using (lead_id)
                where nullif(trim(e.message), '') is not null group by all)
            group by lead_id
            """,
            [limit],
        ).fetchall()
    finally:
        con.unregister("_llm_leads")
    return {lead_id: list(messages) for lead_id, messages in rows}


# --- combining the answer with the baseline ---------------------------------------------------

def _band(confidence: float, policy: Policy) -> str:
    if confidence >= policy.routing.auto_confidence:
        return "auto"
    return "check" if confidence >= policy.routing.check_confidence else "review"


def combine_one(base: dict[str, Any], result: LeadResult | None, policy: Policy, lp: LlmPolicy) -> dict[str, Any]:
    """The final score, confidence and route of one lead from its baseline row and LLM result."""
    threshold = policy.scoring.qualify_threshold
    b_score, b_conf, b_qual = float(base["score"]), float(base["confidence"]), bool(base["qualified"])
    row = {**base, "baseline_score": b_score, "baseline_confidence": b_conf, "baseline_qualified": b_qual,
           "llm_outcome": result.outcome if result else "pending", "llm_detail": result.detail if result else None,
           "llm_answer": result.answer.model_dump(mode="json") if result and result.answer else None,
           "input_hash": result.input_hash if result else None, "llm_validated": None, "llm_verdict": None,
           "reasons": list(base.get("reasons") or [])}
    if result is None or result.outcome == "pending":
        detail = (result.detail or "") if result else ""
        code = "llm_budget_exhausted" if "budget" in detail else "llm_unavailable"
        return row | {"llm_route": "pending", "llm_reason_codes": [code]}
    if result.outcome in REVIEW_CODES:
        return row | {"llm_route": "review", "llm_reason_codes": [REVIEW_CODES[result.outcome]]}
    answer = result.answer
    if answer.qualification == "unknown":
        return row | {"confidence": min(b_conf, lp.unknown_confidence_cap), "llm_route": "decide",
                      "llm_reason_codes": ["llm_unknown"]}
    llm_score = lp.fit_share * answer.fit_score + (1 - lp.fit_share) * answer.intent_score
    score = min(1.0, max(0.0, lp.llm_weight * llm_score + (1 - lp.llm_weight) * b_score))
    qualified = score >= threshold
    confidence = lp.confidence_weight * answer.confidence + (1 - lp.confidence_weight) * b_conf
    disagreements = int((answer.qualification == "qualified") != qualified) + int(b_qual != qualified)
    confidence = min(1.0, max(0.0, confidence * (1 - lp.disagreement_penalty) ** disagreements))
    points = round(100 * (score - b_score), 1)
    reason = {"feature": "llm", "points": points,
              "detail": f"LLM: {answer.intent_category} intent, {answer.qualification}, confidence {answer.confidence:.2f} ({points:+.1f})"}
    return row | {"score": score, "confidence": confidence, "qualified": qualified, "scorer": SCORER_NAME,
                  "scorer_version": SCORER_VERSION, "reasons": [reason, *row["reasons"]],
                  "llm_route": "decide", "llm_reason_codes": []}


def apply_validation(row: dict[str, Any], check: ValidationResult) -> dict[str, Any]:
    """Fold the validator's verdict into a middle-band row."""
    if check.outcome == "pending":
        code = "llm_budget_exhausted" if "budget" in (check.detail or "") else "llm_unavailable"
        return row | {"llm_route": "pending", "llm_reason_codes": [code], "llm_detail": check.detail}
    if check.outcome != "ok":
        return row | {"llm_route": "review", "llm_reason_codes": ["llm_error"], "llm_detail": f"validator: {check.detail}"}
    verdict = check.verdict.model_dump(mode="json")
    if check.verdict.agrees:
        return row | {"llm_validated": True, "llm_verdict": verdict, "llm_reason_codes": ["llm_validator_agrees"]}
    return row | {"llm_validated": False, "llm_verdict": verdict, "llm_route": "review",
                  "llm_reason_codes": ["llm_validator_disagrees"], "llm_detail": f"validator: {check.verdict.reason}"}


# --- the whole step ---------------------------------------------------------------------------

@dataclass
class LlmScoringResult:
    baseline: pd.DataFrame                   # BaselineScorer output for every lead: always recorded
    final: pd.DataFrame                      # one row per lead: the score routing uses, with llm_* columns
    calls: list[CallRecord] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


async def score_with_llm_async(
    settings: LeadgateSettings, policy: Policy, features: pd.DataFrame, now: datetime, *,
    run_id: str | None = None, llm: LlmSettings | None = None, endpoint: OpenAISettings | None = None,
    messages: dict[str, list[str]] | None = None,
) -> LlmScoringResult:
    """Score `features` (marts.lead_features rows) with the baseline and the LLM; calls and cache go to the DB."""
    from leadgate.scoring import BaselineScorer

    llm = llm or LlmSettings()
    endpoint = endpoint or OpenAISettings()
    lp = llm_policy(policy)
    baseline = BaselineScorer(policy).score(features, now)
    if baseline.empty:
        return LlmScoringResult(baseline=baseline, final=baseline.assign(llm_route=pd.Series(dtype=object)), summary={"leads": 0, "calls": 0})
    lead_ids = features["lead_id"].tolist()
    if messages is None:
        with db.connect(settings) as con:
            messages = recent_messages(con, lead_ids)
    client = make_async_client(endpoint, llm)
    scorer = LlmScorer(client, llm, cost=lambda model, tin, tout: estimated_cost(lp, model, tin, tout))
    scoring: list[asyncio.Future] = []
    checks: list[asyncio.Future] = []
    try:
        cached: dict[str, dict[str, Any]] = {}
        by_id: dict[str, LeadInput] = {}

        async def prepare(chunk: list[dict[str, Any]]) -> list[LeadInput]:
            """Scrub and look up one chunk, yielding to the event loop so requests already out keep flowing."""
            inputs = []
            for start in range(0, len(chunk), 50):
                inputs += [scorer.lead_input(row["lead_id"], scrub_features(row, messages.get(row["lead_id"])))
                           for row in chunk[start : start + 50]]
                await asyncio.sleep(0)
            with db.connect(settings) as con:
                cached.update(load_cache(con, [lead.cache_key for lead in inputs]))
                cached.update(load_validation_cache(con, [lead.input_hash for lead in inputs], scorer.validate_prompt.version))
            by_id.update((lead.lead_id, lead) for lead in inputs)
            return inputs

        base_rows = {row["lead_id"]: row for row in baseline.to_dict("records")}
        rows: dict[str, dict[str, Any]] = {}
        waiting: list[str] = []

        def validate(lead_ids: list[str]) -> None:
            items = [(by_id[i], results_by_id[i].answer) for i in lead_ids]
            checks.append(asyncio.ensure_future(scorer.validate(items, cached)))

        results_by_id: dict[str, LeadResult] = {}

        def on_results(batch: dict[str, LeadResult]) -> None:
            # Middle-band leads are validated as soon as a full validator batch is ready, overlapping scoring.
            for lead_id, result in batch.items():
                results_by_id[lead_id] = result
                row = rows[lead_id] = combine_one(base_rows[lead_id], result, policy, lp)
                if row["llm_route"] == "decide" and row["scorer"] == SCORER_NAME and _band(row["confidence"], policy) == "check":
                    waiting.append(lead_id)
            while len(waiting) >= llm.batch_size:
                validate(waiting[: llm.batch_size])
                del waiting[: llm.batch_size]

        # Chunks (a whole number of batches) are prepared while earlier chunks' requests are in flight.
        records = features.to_dict("records")
        size = llm.batch_size * PREPARE_BATCHES
        for start in range(0, len(records), size):
            chunk = await prepare(records[start : start + size])
            scoring.append(asyncio.ensure_future(scorer.score(chunk, cached, on_results=on_results)))
        await asyncio.gather(*scoring)
        if waiting:
            validate(list(waiting))
        middle = 0
        for outcome in await asyncio.gather(*checks):
            for lead_id, check in outcome.items():
                rows[lead_id] = apply_validation(rows[lead_id], check)
                middle += 1
        rows = [rows[lead_id] for lead_id in baseline["lead_id"]]
    finally:
        for task in [*scoring, *checks]:
            task.cancel()      # after an error (e.g. a refused key) no request is left running
        await client.close()
        with db.connect(settings) as con:
            record_llm_calls(con, scorer.calls, run_id)
            store_cache(con, list(scorer.new_cache.values()))
    final = pd.DataFrame(rows)
    final["model_version"] = [llm.model if r == SCORER_NAME else None for r in final["scorer"]]
    final["prompt_version"] = [scorer.score_prompt.version if r == SCORER_NAME else None for r in final["scorer"]]
    summary = scorer.summary() | {
        "leads": len(final),
        "outcomes": final["llm_outcome"].value_counts().to_dict(),
        "routes": final["llm_route"].value_counts().to_dict(),
        "validated": middle,
    }
    return LlmScoringResult(baseline=baseline, final=final, calls=list(scorer.calls), summary=summary)


def score_with_llm(settings: LeadgateSettings, policy: Policy, features: pd.DataFrame, now: datetime, **kwargs: Any) -> LlmScoringResult:
    """Synchronous entry for the scoring step (runs the async scorer on its own event loop)."""
    coro = score_with_llm_async(settings, policy, features, now, **kwargs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside a running loop (e.g. a notebook): run on a fresh loop in a helper thread.
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=asyncio.run(coro)))
    thread.start()
    thread.join()
    if "result" not in box:
        raise RuntimeError("LLM scoring failed in its helper thread; see the log above")
    return box["result"]


def record_llm_scores(con: duckdb.DuckDBPyConnection, result: LlmScoringResult, run_id: str | None, policy: Policy) -> pd.DataFrame:
    """Append the baseline rows and the LLM-combined rows to scoring.scores; `final` with the score_id routing uses."""
    from leadgate.scoring import record_scores

    base = record_scores(con, result.baseline, run_id, policy)
    llm_rows = result.final[result.final["scorer"] == SCORER_NAME]
    recorded = record_scores(con, llm_rows, run_id, policy) if len(llm_rows) else llm_rows.assign(score_id=pd.Series(dtype="int64"))
    ids = dict(zip(base["lead_id"], base["score_id"])) | dict(zip(recorded["lead_id"], recorded["score_id"]))
    return result.final.assign(score_id=result.final["lead_id"].map(ids).astype("int64"))


class LlmLeadScorer:
    """The `Scorer` protocol over `score_with_llm`; `last` keeps the full result (baseline rows, calls, summary)."""

    name, version = SCORER_NAME, SCORER_VERSION

    def __init__(self, settings: LeadgateSettings, policy: Policy, *, llm: LlmSettings | None = None,
                 endpoint: OpenAISettings | None = None, run_id: str | None = None) -> None:
        self.settings, self.policy, self.llm, self.endpoint, self.run_id = settings, policy, llm, endpoint, run_id
        self.last: LlmScoringResult | None = None

    def score(self, features: pd.DataFrame, now: datetime | None = None) -> pd.DataFrame:
        self.last = score_with_llm(self.settings, self.policy, features, now or datetime.now(timezone.utc),
                                   run_id=self.run_id, llm=self.llm, endpoint=self.endpoint)
        return self.last.final
