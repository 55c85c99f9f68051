"""LLM scoring glue: scrub, score through connectors.llm, combine with the baseline, log calls, cache answers.

Combination (policy section `llm`; `LlmPolicy`'s defaults when the policy file has none):

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
- Independence: in a batch that could have been steered (see connectors.llm.independence), an answer
  that `promotes` its lead is replaced by the answer the lead gets when asked alone.
- scoring.scores: a baseline row for every lead, and an `llm` row (model, prompt version, input hash)
  for every lead the model answered, used or not; routing points at the row it used.
- With a promoted model the LLM builds on the model's rows instead (LlmBase; leadgate.scoring.llm_model).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from connectors.llm import (
    CallRecord,
    LeadInput,
    LeadResult,
    LlmScorer,
    LlmSettings,
    OpenAISettings,
    ValidationResult,
    make_async_client,
)
from leadgate.config import LeadgateSettings
from leadgate.policy import LlmPolicy, Policy
from leadgate.scoring.pii import scrub_features
from leadgate.scoring.prompts import load_prompt
from leadgate.store import db
from leadgate.store.erasure_list import erased_lead_ids
from leadgate.store.llm_cache import load_cache, load_validation_cache, record_llm_calls, store_cache
from leadgate.store.recent_events import recent_messages

SCORER_NAME, SCORER_VERSION = "llm", "1.0.0"
PREPARE_BATCHES = 25  # leads are scrubbed and looked up this many batches at a time
REVIEW_CODES = {
    "llm_error": "llm_error",
    "llm_inconsistent": "llm_inconsistent",
    "prompt_injection": "prompt_injection",
}
# A batched answer that qualifies a lead, or raises its score by more than PROMOTION_LIFT to within
# PROMOTION_REACH of the qualify threshold, is only used once the lead, asked alone, gives it again (when
# its batch could have been steered): another lead's text can then never promote it.
PROMOTION_LIFT, PROMOTION_REACH = 0.05, 0.2


def llm_policy(policy: Policy) -> LlmPolicy:
    """The `llm` section of the policy when it has one, else the documented defaults."""
    return policy.llm if policy.llm is not None else LlmPolicy()


def estimated_cost(lp: LlmPolicy, model: str, tokens_in: int, tokens_out: int) -> float | None:
    price = lp.prices.get(model) or lp.prices.get("default")
    if price is None:
        return None
    return round((tokens_in * price.input_per_1m + tokens_out * price.output_per_1m) / 1e6, 8)


# --- combining the answer with the baseline ---------------------------------------------------


def _band(confidence: float, policy: Policy) -> str:
    if confidence >= policy.routing.auto_confidence:
        return "auto"
    return "check" if confidence >= policy.routing.check_confidence else "review"


def start_row(base: dict[str, Any], result: LeadResult | None) -> dict[str, Any]:
    """One lead's row before combining: its base row (baseline or model) with the LLM's result beside it."""
    b_score, b_conf, b_qual = float(base["score"]), float(base["confidence"]), bool(base["qualified"])
    return {
        **base,
        "baseline_score": b_score,
        "baseline_confidence": b_conf,
        "baseline_qualified": b_qual,
        "llm_outcome": result.outcome if result else "pending",
        "llm_detail": result.detail if result else None,
        "llm_answer": result.answer.model_dump(mode="json") if result and result.answer else None,
        "input_hash": result.input_hash if result else None,
        "llm_validated": None,
        "llm_verdict": None,
        "reasons": list(base.get("reasons") or []),
    }


def combine_one(
    base: dict[str, Any], result: LeadResult | None, policy: Policy, lp: LlmPolicy, base_name: str = "baseline"
) -> dict[str, Any]:
    """The final score, confidence and route of one lead from its baseline row and LLM result."""
    threshold = policy.scoring.qualify_threshold
    b_score, b_conf, b_qual = float(base["score"]), float(base["confidence"]), bool(base["qualified"])
    row = start_row(base, result)
    if result is None or result.outcome == "pending":
        detail = (result.detail or "") if result else ""
        code = "llm_budget_exhausted" if "budget" in detail else "llm_unavailable"
        return row | {"llm_route": "pending", "llm_reason_codes": [code]}
    # An answer the model gave but we do not use is still an LLM score on record (model, prompt, input
    # hash), carrying the baseline's numbers; with no answer at all (llm_error) only the baseline row exists.
    kept = {"scorer": SCORER_NAME, "scorer_version": SCORER_VERSION} if result.answer is not None else {}
    if result.outcome in REVIEW_CODES:
        note = {
            "feature": "llm",
            "points": 0.0,
            "detail": f"LLM answer not used ({result.outcome}): {base_name} score kept",
        }
        reasons = [note, *row["reasons"]] if kept else row["reasons"]
        return (
            row | kept | {"reasons": reasons, "llm_route": "review", "llm_reason_codes": [REVIEW_CODES[result.outcome]]}
        )
    answer = result.answer
    if answer.qualification == "unknown":
        cap = min(b_conf, lp.unknown_confidence_cap)
        note = {
            "feature": "llm",
            "points": 0.0,
            "detail": f"LLM: unknown; {base_name} score kept, confidence capped at {cap:.2f}",
        }
        return (
            row
            | kept
            | {
                "confidence": cap,
                "reasons": [note, *row["reasons"]],
                "llm_route": "decide",
                "llm_reason_codes": ["llm_unknown"],
            }
        )
    llm_score = lp.fit_share * answer.fit_score + (1 - lp.fit_share) * answer.intent_score
    score = min(1.0, max(0.0, lp.llm_weight * llm_score + (1 - lp.llm_weight) * b_score))
    qualified = score >= threshold
    confidence = lp.confidence_weight * answer.confidence + (1 - lp.confidence_weight) * b_conf
    disagreements = int((answer.qualification == "qualified") != qualified) + int(b_qual != qualified)
    confidence = min(1.0, max(0.0, confidence * (1 - lp.disagreement_penalty) ** disagreements))
    points = round(100 * (score - b_score), 1)
    reason = {
        "feature": "llm",
        "points": points,
        "detail": f"LLM: {answer.intent_category} intent, {answer.qualification}, confidence {answer.confidence:.2f} ({points:+.1f})",
    }
    return row | {
        "score": score,
        "confidence": confidence,
        "qualified": qualified,
        "scorer": SCORER_NAME,
        "scorer_version": SCORER_VERSION,
        "reasons": [reason, *row["reasons"]],
        "llm_route": "decide",
        "llm_reason_codes": [],
    }


def promotes(base: dict[str, Any], answer: Any, policy: Policy, lp: LlmPolicy, combine: Callable = combine_one) -> bool:
    """Would `answer` promote its lead: a `qualified` label, a qualified decision, or a score raised towards it?"""
    if answer.qualification == "qualified":
        return True
    row = combine(base, LeadResult(str(base["lead_id"]), "ok", answer), policy, lp)
    # the lead's own threshold where its base carries one (a promoted model reads the tiers its own way)
    threshold = base.get("model_threshold")
    threshold = policy.scoring.qualify_threshold if threshold is None else float(threshold)
    score, reach = float(row["score"]), threshold - PROMOTION_REACH
    return bool(row["qualified"]) or (score > float(base["score"]) + PROMOTION_LIFT and score >= reach)


@dataclass(frozen=True)
class LlmBase:
    """What the LLM builds on: the baseline scorer (the default) or a promoted model (leadgate.scoring.llm_model)."""

    scorer: Any  # .score(features, now) -> one row per lead: score, confidence, qualified, reasons, feature_hash ...
    combine: Callable[..., dict[str, Any]] = combine_one  # (base row, LeadResult | None, policy, lp) -> final row
    model_version: str | None = None  # recorded on llm rows and decisions (None: the LLM's model name)
    validate: bool = True  # middle-band answers get the validator call as their second check
    champion: Any = None  # the ModelScorer whose drift the run records


def apply_validation(row: dict[str, Any], check: ValidationResult) -> dict[str, Any]:
    """Fold the validator's verdict into a middle-band row."""
    if check.outcome == "pending":
        code = "llm_budget_exhausted" if "budget" in (check.detail or "") else "llm_unavailable"
        return row | {"llm_route": "pending", "llm_reason_codes": [code], "llm_detail": check.detail}
    if check.outcome != "ok":
        return row | {
            "llm_route": "review",
            "llm_reason_codes": ["llm_error"],
            "llm_detail": f"validator: {check.detail}",
        }
    verdict = check.verdict.model_dump(mode="json")
    if check.verdict.agrees:
        return row | {"llm_validated": True, "llm_verdict": verdict, "llm_reason_codes": ["llm_validator_agrees"]}
    return row | {
        "llm_validated": False,
        "llm_verdict": verdict,
        "llm_route": "review",
        "llm_reason_codes": ["llm_validator_disagrees"],
        "llm_detail": f"validator: {check.verdict.reason}",
    }


# --- the whole step ---------------------------------------------------------------------------


@dataclass
class LlmScoringResult:
    baseline: pd.DataFrame  # BaselineScorer output for every lead: always recorded
    final: pd.DataFrame  # one row per lead: the score routing uses, with llm_* columns
    calls: list[CallRecord] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


async def score_with_llm_async(
    settings: LeadgateSettings,
    policy: Policy,
    features: pd.DataFrame,
    now: datetime,
    *,
    llm: LlmSettings,
    endpoint: OpenAISettings,
    run_id: str | None = None,
    messages: dict[str, list[str]] | None = None,
    base: LlmBase | None = None,
) -> LlmScoringResult:
    """Score `features` (marts.lead_features rows) with the baseline (or `base`) and the LLM; calls and cache go to the DB.

    `llm` and `endpoint` are built at the edge (leadgate.config.load_llm_settings) and passed in.
    """
    from leadgate.scoring.baseline import BaselineScorer

    lp = llm_policy(policy)
    base = base or LlmBase(BaselineScorer(policy))
    baseline = base.scorer.score(features, now)
    if baseline.empty:
        return LlmScoringResult(
            baseline=baseline,
            final=baseline.assign(llm_route=pd.Series(dtype=object)),
            summary={"leads": 0, "calls": 0},
        )
    lead_ids = features["lead_id"].tolist()
    if messages is None:
        with db.connect(settings) as con:
            messages = recent_messages(con, lead_ids)
    client = make_async_client(endpoint, llm)
    scorer = LlmScorer(
        client,
        llm,
        score_prompt=load_prompt(llm.score_prompt),
        validate_prompt=load_prompt(llm.validate_prompt),
        cost=lambda model, tin, tout: estimated_cost(lp, model, tin, tout),
    )
    scoring: list[asyncio.Future] = []
    checks: list[asyncio.Future] = []
    by_id: dict[str, LeadInput] = {}
    try:
        cached: dict[str, dict[str, Any]] = {}

        async def prepare(chunk: list[dict[str, Any]]) -> list[LeadInput]:
            """Scrub and look up one chunk, yielding to the event loop so requests already out keep flowing."""
            inputs = []
            for start in range(0, len(chunk), 50):
                inputs += [
                    scorer.lead_input(row["lead_id"], scrub_features(row, messages.get(row["lead_id"])))
                    for row in chunk[start : start + 50]
                ]
                await asyncio.sleep(0)
            with db.connect(settings) as con:
                cached.update(load_cache(con, [lead.cache_key for lead in inputs]))
                cached.update(
                    load_validation_cache(con, [lead.input_hash for lead in inputs], scorer.validate_prompt.version)
                )
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
                row = rows[lead_id] = base.combine(base_rows[lead_id], result, policy, lp)
                if (
                    base.validate
                    and row["llm_route"] == "decide"
                    and not row["llm_reason_codes"]
                    and _band(row["confidence"], policy) == "check"
                ):
                    waiting.append(lead_id)
            while len(waiting) >= llm.batch_size:
                validate(waiting[: llm.batch_size])
                del waiting[: llm.batch_size]

        # Chunks (a whole number of batches) are prepared while earlier chunks' requests are in flight.
        records = features.to_dict("records")
        size = llm.batch_size * PREPARE_BATCHES
        for start in range(0, len(records), size):
            chunk = await prepare(records[start : start + size])
            scoring.append(
                asyncio.ensure_future(
                    scorer.score(
                        chunk,
                        cached,
                        on_results=on_results,
                        promotes=lambda lead_id, answer: promotes(base_rows[lead_id], answer, policy, lp, base.combine),
                        baseline_qualified=lambda lead_id: bool(base_rows[lead_id]["qualified"]),
                    )
                )
            )
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
            task.cancel()  # after an error (e.g. a refused key) no request is left running
        await client.close()
        with db.connect(settings) as con:
            record_llm_calls(con, scorer.calls, run_id)
            # answers about a lead `forget` erased while the model was thinking are not kept
            gone = {by_id[lead].input_hash for lead in erased_lead_ids(con) if lead in by_id}
            store_cache(con, [entry for entry in scorer.new_cache.values() if entry.input_hash not in gone])
    final = pd.DataFrame(rows)
    # llm rows name the LLM, or the promoted model they build on; base rows keep their own (a model's version)
    kept = final["model_version"] if "model_version" in final else pd.Series(None, index=final.index, dtype=object)
    version = base.model_version or llm.model
    final["model_version"] = [version if r == SCORER_NAME else k for r, k in zip(final["scorer"], kept)]
    final["prompt_version"] = [scorer.score_prompt.version if r == SCORER_NAME else None for r in final["scorer"]]
    summary = scorer.summary() | {
        "leads": len(final),
        "outcomes": final["llm_outcome"].value_counts().to_dict(),
        "routes": final["llm_route"].value_counts().to_dict(),
        "validated": middle,
    }
    return LlmScoringResult(baseline=baseline, final=final, calls=list(scorer.calls), summary=summary)


def score_with_llm(
    settings: LeadgateSettings, policy: Policy, features: pd.DataFrame, now: datetime, **kwargs: Any
) -> LlmScoringResult:
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


def record_llm_scores(
    con: duckdb.DuckDBPyConnection, result: LlmScoringResult, run_id: str | None, policy: Policy
) -> pd.DataFrame:
    """Append the baseline rows and the LLM-combined rows to scoring.scores; `final` with the score_id routing uses."""
    from leadgate.scoring.baseline import record_scores

    base = record_scores(con, result.baseline, run_id, policy)
    llm_rows = result.final[result.final["scorer"] == SCORER_NAME]
    recorded = (
        record_scores(con, llm_rows, run_id, policy)
        if len(llm_rows)
        else llm_rows.assign(score_id=pd.Series(dtype="int64"))
    )
    ids = dict(zip(base["lead_id"], base["score_id"])) | dict(zip(recorded["lead_id"], recorded["score_id"]))
    final = result.final[result.final["lead_id"].isin(ids)]  # a lead forgotten meanwhile has no score
    return final.assign(score_id=final["lead_id"].map(ids).astype("int64"))


class LlmLeadScorer:
    """The `Scorer` protocol over `score_with_llm` for one run, batch after batch.

    `last` keeps the latest batch's full result (baseline rows, calls); `summary` covers the whole run.
    The token budget is per run: each batch gets what the earlier ones left.
    """

    name, version = SCORER_NAME, SCORER_VERSION

    def __init__(
        self,
        settings: LeadgateSettings,
        policy: Policy,
        *,
        llm: LlmSettings,
        endpoint: OpenAISettings,
        run_id: str | None = None,
        base: LlmBase | None = None,
    ) -> None:
        self.settings, self.policy, self.llm, self.endpoint, self.run_id = settings, policy, llm, endpoint, run_id
        self.base = base  # None: the baseline, built per batch
        self.last: LlmScoringResult | None = None
        self.calls: list[CallRecord] = []
        self._batches: list[dict[str, Any]] = []

    @property
    def model_version(self) -> str:
        return (self.base.model_version if self.base else None) or self.llm.model

    @property
    def champion(self):
        """The promoted model the LLM builds on (its drift is the run's), or None."""
        return self.base.champion if self.base else None

    def score(self, features: pd.DataFrame, now: datetime | None = None) -> pd.DataFrame:
        llm = self.llm
        if llm.max_tokens_per_run is not None:
            spent = sum(c.tokens_in + c.tokens_out for c in self.calls)
            llm = llm.model_copy(update={"max_tokens_per_run": max(0, llm.max_tokens_per_run - spent)})
        self.last = score_with_llm(
            self.settings,
            self.policy,
            features,
            now or datetime.now(UTC),
            run_id=self.run_id,
            llm=llm,
            endpoint=self.endpoint,
            base=self.base,
        )
        self.calls += self.last.calls
        self._batches.append(self.last.summary)
        return self.last.final

    @property
    def summary(self) -> dict[str, Any]:
        """Calls, tokens, estimated cost, error rate, cache hits and outcomes over every batch of the run."""
        out: dict[str, Any] = {
            "model": self.llm.model,
            "leads": 0,
            "calls": len(self.calls),
            "score_calls": 0,
            "validate_calls": 0,
            "tokens_in": 0,
            "tokens_out": 0,
            "estimated_cost_usd": None,
            "error_rate": 0.0,
            "cache_hits": 0,
            "validated": 0,
            "confirmed_alone": 0,
            "max_in_flight": 0,
            "outcomes": {},
            "routes": {},
        }
        for batch in self._batches:
            for key in (
                "leads",
                "score_calls",
                "validate_calls",
                "tokens_in",
                "tokens_out",
                "cache_hits",
                "validated",
                "confirmed_alone",
            ):
                out[key] += int(batch.get(key) or 0)
            if batch.get("estimated_cost_usd") is not None:
                out["estimated_cost_usd"] = round((out["estimated_cost_usd"] or 0.0) + batch["estimated_cost_usd"], 6)
            out["max_in_flight"] = max(out["max_in_flight"], int(batch.get("max_in_flight") or 0))
            for key in ("outcomes", "routes"):
                for name, count in (batch.get(key) or {}).items():
                    out[key][name] = out[key].get(name, 0) + int(count)
        failed = sum(1 for c in self.calls if c.outcome != "ok")
        out["error_rate"] = round(failed / len(self.calls), 4) if self.calls else 0.0
        return out
