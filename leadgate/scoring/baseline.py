"""Lead scoring: the `Scorer` interface, the transparent baseline scorer, and score bookkeeping.

Baseline formula (every number comes from the policy file, `scoring.*`):

- fit_points = seniority points + company-size band points (by `company_size_min`) + industry
  points (industry in the match list) + country points + named-target-account points;
  fit = min(1, fit_points / fit.max_points).
- raw engagement points = sum over event types of count * weight, plus a buying-centre bonus of
  bonus_per_person * (buying_centre_size - 1), capped at bonus_cap.
- decay: engagement_points = raw * 0.5 ** (age_days / half_life_days), where age_days is the time
  from the lead's `last_touch_at` to the scoring time `now` (never negative). After one half-life
  the points halve. engagement = 1 - exp(-engagement_points / scale_points), in [0, 1).
- score = fit_share * fit + (1 - fit_share) * engagement, in [0, 1]; qualified = score >= threshold.
- confidence = min(1, margin / margin_scale), margin being the distance from the score's range over
  the values its unknown fit fields could take to the threshold of every tier it could fall in
  (leadgate/routing/ranges.py; 0 when the range straddles one; |score - threshold| with nothing
  unknown). A missing field that cannot change the decision costs no confidence. `completeness`
  (the share of `confidence.completeness_fields` known) is recorded for reviewers, not used here.

Reasons are in score points (score * 100) and add up to the score: each fit part gets its share
of the fit term, each engagement feature its share of the undecayed engagement term, and a
`recency` reason (negative) carries what decay took away. The top `routing.top_reasons` by
absolute points are kept, e.g. {"feature": "pricing_views", "points": 9.1, "detail": "3 pricing
views (+9.1)"}. Reasons carry categories and counts only, never names or free text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import duckdb
import numpy as np
import pandas as pd

from leadgate.lifecycle import LeadState
from leadgate.model.snapshots import record_feature_snapshots
from leadgate.policy import Policy, PolicyError
from leadgate.scoring.fields import SENIORITY_LABELS, is_blank, per_value_codes
from leadgate.scoring.fields import per_value as _per_value
from leadgate.shared import compute
from leadgate.store.erasure_list import drop_erased
from leadgate.store.sql import registered
from leadgate.store.states import StateChange, set_states

# Engagement weights are keyed by event type; the mart counts each type in its own column.
ENGAGEMENT_COLUMNS: dict[str, tuple[str, str, str]] = {
    # event type: (lead_features column, singular noun, plural noun)
    "demo_request": ("demo_requests", "demo request", "demo requests"),
    "meeting_request": ("meeting_requests", "meeting request", "meeting requests"),
    "pricing_view": ("pricing_views", "pricing view", "pricing views"),
    "email_reply": ("email_replies", "email reply", "email replies"),
    "form_submit": ("form_submits", "form submission", "form submissions"),
    "content_download": ("content_downloads", "content download", "content downloads"),
    "chat_message": ("chat_messages", "chat message", "chat messages"),
    "page_view": ("page_views", "page view", "page views"),
    "email_open": ("email_opens", "email open", "email opens"),
}
FIT_FEATURES = ("seniority", "company_size", "industry", "country", "target_account")
BASE_COLUMNS = (
    "lead_id",
    "feature_hash",
    "seniority",
    "company_size",
    "company_size_min",
    "industry",
    "country",
    "is_target_account",
    "last_touch_at",
    "buying_centre_size",
)
SCORE_COLUMNS = (
    "lead_id",
    "feature_hash",
    "score",
    "confidence",
    "qualified",
    "fit",
    "engagement",
    "fit_points",
    "engagement_points",
    "completeness",
    "decay_factor",
    "last_touch_age_days",
    "reasons",
    "scorer",
    "scorer_version",
    "scored_at",
)


@dataclass(frozen=True)
class BaselineParts:
    """The baseline's numbers per lead (`frame`: SCORE_COLUMNS but confidence and reasons) and what reasons need."""

    frame: pd.DataFrame
    score: np.ndarray
    fit: np.ndarray
    fit_points: np.ndarray
    fit_parts: np.ndarray
    eng_parts: np.ndarray
    raw_points: np.ndarray
    engagement: np.ndarray
    counts: np.ndarray
    centre: np.ndarray
    seniority: np.ndarray
    industry: np.ndarray
    country: np.ndarray


@runtime_checkable
class Scorer(Protocol):
    """Anything that turns `marts.lead_features` rows into scores (baseline now, an LLM later)."""

    name: str
    version: str

    def score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        """One row per input lead with at least the columns in SCORE_COLUMNS."""
        ...


def _norm_text(series: pd.Series, case) -> np.ndarray:
    """Stripped, case-folded text per row ('' when missing)."""
    return _per_value(series, lambda v: case(str(v).strip()), "")


def _norm_codes(series: pd.Series, case) -> tuple[np.ndarray, np.ndarray]:
    """_norm_text as (each row's code, the text of each distinct value, then '' for missing)."""
    return per_value_codes(series, lambda v: case(str(v).strip()), "")


def completeness(features: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """Share of `fields` that are known for each row."""
    known = np.zeros(len(features))
    for name in fields:
        known += ~is_blank(features[name])
    return known / max(1, len(fields))


class BaselineScorer:
    """Transparent fit + decayed engagement points, weights from the policy."""

    name = "baseline"
    version = "1.0.0"

    def __init__(self, policy: Policy) -> None:
        unknown = sorted(set(policy.scoring.engagement.weights) - set(ENGAGEMENT_COLUMNS))
        if unknown:
            raise PolicyError(
                f"policy scoring.engagement.weights has unknown event types {unknown}; "
                f"known: {sorted(ENGAGEMENT_COLUMNS)}"
            )
        self.policy = policy
        self._events = [(k, *ENGAGEMENT_COLUMNS[k], w) for k, w in policy.scoring.engagement.weights.items()]
        self.required_columns = tuple(
            dict.fromkeys(
                [*BASE_COLUMNS, *(col for _, col, *_ in self._events), *policy.scoring.confidence.completeness_fields]
            )
        )

    def score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        """Score every row of `features` (marts.lead_features columns) as of `now` (tz-aware)."""
        with compute.cyclic_gc_paused():
            return self._score(features, now)

    def _score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        p = self.parts(features, now)
        if p is None:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})
        sp = self.policy.scoring
        # imported here: the range rule reads this module's field vocabulary
        from leadgate.routing.ranges import score_ranges

        ranges = score_ranges(features, self.policy, score=p.score, fit=p.fit, fit_points=p.fit_points)
        confidence = np.clip(np.minimum(1.0, ranges.margin / sp.confidence.margin_scale), 0.0, 1.0)

        # --- reasons, in score points: shares of the fit term and of the undecayed engagement term
        fit, fit_points, raw_points, engagement = p.fit, p.fit_points, p.raw_points, p.engagement
        with np.errstate(divide="ignore", invalid="ignore"):
            fit_share_of = np.where(fit_points[:, None] > 0, p.fit_parts / fit_points[:, None], 0.0)
            eng_share_of = np.where(raw_points[:, None] > 0, p.eng_parts / raw_points[:, None], 0.0)
        undecayed = 1.0 - np.exp(-raw_points / sp.engagement.scale_points)
        contributions = np.column_stack(
            [
                100 * sp.fit_share * fit[:, None] * fit_share_of,
                100 * (1 - sp.fit_share) * undecayed[:, None] * eng_share_of,
                -100 * (1 - sp.fit_share) * (undecayed - engagement),
            ]
        )
        texts = [p.seniority, _norm_text(features["company_size"], str), p.industry, p.country]
        age_days, decay = p.frame["last_touch_age_days"].to_numpy(), p.frame["decay_factor"].to_numpy()
        reasons = self._reasons(contributions, texts, p.counts, p.centre, age_days, decay)
        return p.frame.assign(confidence=confidence, reasons=reasons)[list(SCORE_COLUMNS)]

    def check(self, features: pd.DataFrame, now: datetime) -> None:
        """A clear error for a batch the scorer cannot read: a required column missing, or a naive `now`."""
        missing = [c for c in self.required_columns if c not in features.columns]
        if missing:
            raise ValueError(f"lead features are missing columns the baseline scorer needs: {', '.join(missing)}")
        if now.tzinfo is None:
            raise ValueError("scoring time `now` must be timezone-aware")

    def parts(self, features: pd.DataFrame, now: datetime) -> BaselineParts | None:
        """Score, fit, engagement and completeness of every row (what the rules read), without confidence or reasons."""
        self.check(features, now)
        sp = self.policy.scoring
        if len(features) == 0:
            return None

        # --- fit: one points column per fit feature
        fp = sp.fit
        # each text column normalised, looked up and matched once per distinct value, then spread to the rows
        codes, texts = _norm_codes(features["seniority"], str.lower)
        texts[texts == ""] = "unknown"
        seniority = texts[codes]
        seniority_pts = pd.Series(texts).map(fp.seniority).fillna(0.0).to_numpy(dtype=float)[codes]
        size_min = pd.to_numeric(features["company_size_min"], errors="coerce").to_numpy(dtype=float)
        bands = sorted(fp.company_size, key=lambda b: b.min, reverse=True)
        size_pts = np.select([size_min >= b.min for b in bands], [b.points for b in bands], default=0.0)
        codes, texts = _norm_codes(features["industry"], str.lower)
        industry, industry_hit = texts[codes], np.isin(texts, [s.strip().lower() for s in fp.industries.match])[codes]
        codes, texts = _norm_codes(features["country"], str.upper)
        country, country_hit = texts[codes], np.isin(texts, [s.strip().upper() for s in fp.countries.match])[codes]
        target_hit = features["is_target_account"].fillna(False).to_numpy(dtype=bool)
        fit_parts = np.column_stack(
            [
                seniority_pts,
                size_pts,
                np.where(industry_hit, fp.industries.points, 0.0),
                np.where(country_hit, fp.countries.points, 0.0),
                np.where(target_hit, fp.target_account, 0.0),
            ]
        )
        fit_points = fit_parts.sum(axis=1)
        fit = np.clip(fit_points / fp.max_points, 0.0, 1.0)

        # --- engagement: points per event type + buying-centre bonus, then decay by age
        ep = sp.engagement
        counts = np.column_stack(
            [
                pd.to_numeric(features[col], errors="coerce").fillna(0).to_numpy(dtype=float)
                for _, col, *_ in self._events
            ]
        )
        weights = np.array([w for *_, w in self._events], dtype=float)
        centre = pd.to_numeric(features["buying_centre_size"], errors="coerce").fillna(1).to_numpy(dtype=float)
        bonus = np.minimum(ep.buying_centre_bonus_cap, ep.buying_centre_bonus_per_person * np.maximum(0.0, centre - 1))
        eng_parts = np.column_stack([counts * weights, bonus])
        raw_points = eng_parts.sum(axis=1)
        last_touch = pd.to_datetime(features["last_touch_at"], utc=True)
        age_days = ((pd.Timestamp(now).tz_convert("UTC") - last_touch).dt.total_seconds() / 86400.0).to_numpy(
            dtype=float
        )
        age_days = np.clip(np.nan_to_num(age_days, nan=0.0), 0.0, None)
        decay = 0.5 ** (age_days / ep.half_life_days)
        engagement_points = raw_points * decay
        engagement = 1.0 - np.exp(-engagement_points / ep.scale_points)

        score = np.clip(sp.fit_share * fit + (1.0 - sp.fit_share) * engagement, 0.0, 1.0)
        frame = pd.DataFrame(
            {
                "lead_id": features["lead_id"].to_numpy(),
                "feature_hash": features["feature_hash"].to_numpy(),
                "score": score,
                "qualified": score >= sp.qualify_threshold,
                "fit": fit,
                "engagement": engagement,
                "fit_points": fit_points,
                "engagement_points": engagement_points,
                "completeness": completeness(features, sp.confidence.completeness_fields),
                "decay_factor": decay,
                "last_touch_age_days": age_days,
                "scorer": self.name,
                "scorer_version": self.version,
                "scored_at": pd.Timestamp(now).tz_convert("UTC"),
            }
        )
        return BaselineParts(
            frame, score, fit, fit_points, fit_parts, eng_parts, raw_points, engagement, counts, centre,
            seniority, industry, country,
        )  # fmt: skip

    def _reasons(self, contributions, texts, counts, centre, age_days, decay) -> list[list[dict]]:
        """Top contributions per lead, by absolute points, with a sentence a reviewer can read."""
        rounded = np.round(contributions, 1)
        order = np.argsort(-np.abs(rounded), axis=1, kind="stable")[:, : self.policy.routing.top_reasons]
        picked = np.take_along_axis(rounded, order, axis=1)
        names = np.array(
            [*FIT_FEATURES, *(col for _, col, *_ in self._events), "buying_centre_size", "recency"], dtype=object
        )
        # One value per (lead, feature) fully determines a reason's wording: word each distinct value
        # once, then each distinct (wording, points) pair once, instead of once per lead.
        values = [
            *texts,
            np.zeros(len(counts), dtype=int),
            *counts.T.astype(int),
            centre.astype(int),
            np.round(age_days).astype(int) * 1000 + np.round(decay * 100).astype(int),
        ]
        wordings: list[str] = []
        text_ids = np.empty(rounded.shape, dtype=np.int64)
        for j, column in enumerate(values):
            codes, uniques = pd.factorize(column)
            text_ids[:, j] = codes + len(wordings)
            make = self._text_maker(j)
            wordings.extend(make(u) for u in uniques)
        picked_text = np.take_along_axis(text_ids, order, axis=1)
        tenths = np.round(picked * 10).astype(np.int64)
        combos, inverse = np.unique(picked_text * 100_000 + (tenths + 50_000), return_inverse=True)
        details = np.array(
            [f"{wordings[c // 100_000]} ({((c % 100_000) - 50_000) / 10:+.1f})" for c in combos.tolist()], dtype=object
        )[inverse.reshape(picked.shape)]
        feature_names = names[order]
        return [
            [{"feature": f, "points": p, "detail": d} for f, p, d in zip(fr, pr, dr) if p != 0]
            for fr, pr, dr in zip(feature_names.tolist(), picked.tolist(), details.tolist())
        ]

    def _text_maker(self, j: int):
        """The function that words reason `j` (index into fit, engagement, buying centre, recency)."""
        n_fit, n_eng = len(FIT_FEATURES), len(self._events)
        if j < n_fit:
            return [
                lambda v: SENIORITY_LABELS.get(v, f"seniority {v}"),
                lambda v: f"company size {v} employees",
                lambda v: f"target industry {v}",
                lambda v: f"target country {v}",
                lambda v: "named target account",
            ][j]
        if j < n_fit + n_eng:
            _, _, single, plural, _ = self._events[j - n_fit]
            return lambda v: f"{v} {single if v == 1 else plural}"
        if j == n_fit + n_eng:
            return lambda v: f"{v} people engaged from the account"
        # value packs the rounded age in days and the decay factor in hundredths
        return lambda v: f"last touch {v // 1000} days ago: engagement x{(v % 1000) / 100:.2f}"


# --- bookkeeping in the database --------------------------------------------------------------


def leads_to_score(con: duckdb.DuckDBPyConnection, *, rescore_all: bool = False) -> pd.DataFrame:
    """lead_features rows that need a score: new or changed features, pending, or all when rescore_all.

    Reviewers' corrections (review.lead_edits) are laid over the features: they outlive every dbt rebuild.
    """
    from leadgate.review.edits import overlay_edits

    return overlay_edits(
        con,
        con.execute(
            """
        with latest as (
            select lead_id, arg_max(feature_hash, score_id) as scored_hash
            from scoring.scores group by lead_id
        )
        select f.*
        from marts.lead_features f
        left join latest l using (lead_id)
        left join lifecycle.lead_states s using (lead_id)
        where ?
           or s.lead_id is null
           or s.state = 'pending'
           or l.scored_hash is distinct from f.feature_hash
           -- a run that scored but failed before routing: the state was decided on older features
           or (s.state not in ('rejected', 'clarification_requested') and s.feature_hash is distinct from f.feature_hash)
        order by f.lead_id
        """,
            [bool(rescore_all)],
        ).df(),
    )


def record_scores(
    con: duckdb.DuckDBPyConnection, scored: pd.DataFrame, run_id: str | None, policy: Policy
) -> pd.DataFrame:
    """Append `scored` to scoring.scores in one insert; return it with `score_id` (leads forgotten meanwhile left out)."""
    out = drop_erased(con, scored).copy()
    if out.empty:
        out["score_id"] = pd.Series(dtype="int64")
        return out
    ids = [r[0] for r in con.execute("select nextval('scoring.score_seq') from range(?)", [len(out)]).fetchall()]
    out["score_id"] = np.array(ids, dtype="int64")
    rows = pd.DataFrame(
        {
            "score_id": out["score_id"],
            "lead_id": out["lead_id"],
            "scored_at": out["scored_at"] if "scored_at" in out else pd.Timestamp.now(tz="UTC"),
            "scorer": out["scorer"],
            "scorer_version": out["scorer_version"],
            "model_version": out.get("model_version", None),
            "prompt_version": out.get("prompt_version", None),
            "input_hash": out.get("input_hash", None),
            "feature_hash": out["feature_hash"],
            "score": out["score"].astype(float),
            "confidence": out["confidence"].astype(float),
            "qualified": out["qualified"].astype(bool),
            "fit_points": out["fit_points"].astype(float),
            "engagement_points": out["engagement_points"].astype(float),
            "reasons": [json.dumps(r) for r in out["reasons"]],
            "fit": out["fit"].astype(float),
            "engagement": out["engagement"].astype(float),
            "completeness": out.get("completeness", pd.Series(np.nan, index=out.index)).astype(float),
            "decay_factor": out.get("decay_factor", pd.Series(np.nan, index=out.index)).astype(float),
            "age_days": out.get("last_touch_age_days", pd.Series(np.nan, index=out.index)).astype(float),
        }
    )
    with registered(con, _scores_batch=rows):
        con.execute(
            """
            insert into scoring.scores (score_id, run_id, lead_id, scored_at, scorer, scorer_version, model_version,
                prompt_version, input_hash, policy_version, feature_hash, score, confidence, qualified, fit_points,
                engagement_points, reasons, details)
            select score_id, ?, lead_id, scored_at, scorer, scorer_version, model_version, prompt_version, input_hash,
                   ?, feature_hash, score, confidence, qualified, fit_points, engagement_points, reasons::json,
                   json_object('fit', round(fit, 4), 'engagement', round(engagement, 4),
                               'completeness', round(completeness, 4), 'decay_factor', round(decay_factor, 4),
                               'last_touch_age_days', round(age_days, 2))
            from _scores_batch
            """,
            [run_id, policy.version],
        )
        record_feature_snapshots(con, "_scores_batch")  # what the model may learn from later (leadgate/model)
    return out


def sync_pending_leads(con: duckdb.DuckDBPyConnection, policy_version: str | None = None) -> int:
    """Give every lead in marts.lead_features without a lifecycle row the state `pending`."""
    new = [
        r[0]
        for r in con.execute(
            "select f.lead_id from marts.lead_features f anti join lifecycle.lead_states s using (lead_id) order by 1"
        ).fetchall()
    ]
    return set_states(
        con,
        [StateChange(lead_id=lead_id, state=LeadState.PENDING.value, reason_codes=["new_lead"]) for lead_id in new],
        kind="route",
        actor="pipeline",
        policy_version=policy_version,
    )
