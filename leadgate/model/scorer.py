"""Scoring with a registered model: calibrated probability, confidence from its distance to the threshold, reasons."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from leadgate.model import attributes, metrics
from leadgate.model.artifact import LeadModel
from leadgate.model.snapshots import AGE_SUFFIX, snapshot_features
from leadgate.policy import Policy
from leadgate.scoring.baseline import ENGAGEMENT_COLUMNS, BaselineScorer

NOUNS = {col: (single, plural) for col, single, plural in ENGAGEMENT_COLUMNS.values()}
NOUNS |= {
    "event_count": ("event", "events"),
    "events_7d": ("event in the last 7 days", "events in the last 7 days"),
    "events_30d": ("event in the last 30 days", "events in the last 30 days"),
    "buying_centre_size": ("person engaged from the account", "people engaged from the account"),
}


def _number_text(column: str):
    if column in NOUNS:
        single, plural = NOUNS[column]
        return lambda v: f"{v:g} {single if v == 1 else plural}"
    if column.endswith(AGE_SUFFIX):
        what = column[: -len(AGE_SUFFIX)].removesuffix("_at").replace("_", " ")
        return lambda v: f"{what} {v:.0f} days before scoring"
    label = column.replace("_", " ")
    return lambda v: f"{label} {v:g}"


def _word(column: str, numeric: bool, binary: bool = False):
    if attributes.is_attribute(column):  # an imported list's column, named as its file spelled it
        return attributes.word(column, numeric)
    label = column.removesuffix(AGE_SUFFIX).removesuffix("_at").replace("_", " ")
    number = _number_text(column)

    def word(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            return f"{label} unknown"
        if binary:
            return f"{label}: {'yes' if float(v) else 'no'}"
        return number(float(v)) if numeric else f"{label} {str(v).strip()[:40]}"

    return word


def _significant(x: np.ndarray, digits: int = 3) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
    scale = np.where(np.isfinite(scale), scale, 1.0)
    return np.round(x * scale) / scale


def reasons(model: LeadModel, frame: pd.DataFrame, points: np.ndarray, top: int) -> list[list[dict]]:
    """Top contributions per lead in probability points, worded from the lead's own values."""
    n, names = len(frame), model.names
    numeric = {s["name"] for s in model.spec["numeric"]}
    binary = {s["name"] for s in model.spec["numeric"] if s.get("binary")}
    k = min(top, len(names))
    order = np.argsort(-np.abs(points), axis=1, kind="stable")[:, :k]
    picked = np.round(np.take_along_axis(points, order, axis=1) * 100, 1)  # score points (probability x 100)
    values: list = []  # per text id: (feature, value), worded only when some lead's reason uses it
    text_ids = np.empty((n, len(names)), dtype=np.int64)
    for j, name in enumerate(names):
        column = frame[name] if name in frame else pd.Series([None] * n)
        if name in numeric:  # as printed: whole days, 3 significant digits, so equal texts share an id
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            column = pd.Series(np.round(x) if name.endswith(AGE_SUFFIX) else _significant(x))
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        text_ids[:, j] = np.where(codes < 0, len(values) + len(uniques), codes + len(values))
        values.extend((j, u) for u in uniques.tolist())
        values.append((j, None))
    words = [_word(name, name in numeric, name in binary) for name in names]
    picked_text = np.take_along_axis(text_ids, order, axis=1)
    tenths = np.round(picked * 10).astype(np.int64)
    combos, inverse = np.unique(picked_text * 100_000 + (tenths + 50_000), return_inverse=True)
    details = np.array(
        [
            f"{words[values[c // 100_000][0]](values[c // 100_000][1])}: {((c % 100_000) - 50_000) / 1000:+.2f}"
            for c in combos.tolist()
        ],
        dtype=object,
    )[inverse.reshape(picked.shape)]
    feature_names = np.asarray(names, dtype=object)[order]
    # below half a point a reason would read "+0.00"
    return [
        [{"feature": f, "points": p, "detail": d} for f, p, d in zip(fr, pr, dr) if abs(p) >= 0.5]
        for fr, pr, dr in zip(feature_names.tolist(), picked.tolist(), details.tolist())
    ]


class _BaselineParts(BaselineScorer):
    """The baseline's fit, engagement and completeness (the routing rules read them) without its reasons."""

    def _reasons(self, contributions, texts, counts, centre, age_days, decay) -> list[list[dict]]:
        return [[] for _ in range(len(counts))]


class ModelScorer:
    """A promoted model decides: its calibrated probability is the score (baseline parts kept for the rules)."""

    name = "model"

    def __init__(self, model: LeadModel, version: str, policy: Policy) -> None:
        self.model, self.version, self.model_version = model, version, version
        self.policy = policy
        self.baseline = _BaselineParts(policy)
        self.required_columns = self.baseline.required_columns
        self.drift = DriftTally(model)

    def thresholds(self, features: pd.DataFrame) -> np.ndarray:
        """Per lead: model.qualify_threshold if set, else its tier's threshold (as routing reads it)."""
        from leadgate.routing.tiers import for_model, tier_bands, tier_of

        policy = for_model(self.policy)
        n = len(features)
        target = (
            features["is_target_account"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if "is_target_account" in features
            else np.zeros(n, dtype=bool)
        )
        size = (
            pd.to_numeric(features["company_size_min"], errors="coerce").to_numpy(dtype=float)
            if "company_size_min" in features
            else np.full(n, np.nan)
        )
        bands = tier_bands(policy)
        return np.array([bands[t].threshold for t in tier_of(target, size, policy)], dtype=float)

    def score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        scored = self.baseline.score(features, now)
        if scored.empty:
            return scored.assign(model_version=pd.Series(dtype=object))
        frame = snapshot_features(features.reset_index(drop=True), now)
        p, _, points = self.model.probability_points(frame)
        t = self.thresholds(features.reset_index(drop=True))
        self.drift.add(frame, p)
        return scored.assign(
            score=p,
            qualified=p >= t,
            confidence=metrics.confidence(p, t, self.policy.scoring.confidence),
            reasons=reasons(self.model, frame, points, self.policy.routing.top_reasons),
            scorer=self.name,
            scorer_version=self.version,
            model_version=self.version,
        )


class DriftTally:
    """Counts of this run's scores and top features in the training bins, for PSI at the end of the run."""

    def __init__(self, model: LeadModel) -> None:
        self.model, self.ref = model, model.doc.get("drift") or {}
        self.counts: dict[str, np.ndarray] = {}
        self.leads = 0

    def add(self, frame: pd.DataFrame, p: np.ndarray) -> None:
        from leadgate.model import encoding

        self.leads += len(p)
        spec = self.model.spec
        nums = [s["name"] for s in spec["numeric"]]
        cats = [s["name"] for s in spec["categorical"]]
        numeric = codes = None
        for name, ref in self.ref.items():
            if name == "score":
                shares = metrics.proportions(p, ref["edges"])
            elif ref.get("kind") == "numeric":
                numeric = encoding.numbers(frame, spec) if numeric is None else numeric
                shares = metrics.proportions(numeric[:, nums.index(name)], ref["edges"])
            else:
                codes = encoding.category_codes(frame, spec) if codes is None else codes
                shares = metrics.proportions(codes[:, cats.index(name)].astype(float), None, ref["levels"])
            self.counts[name] = self.counts.get(name, 0) + np.asarray(shares) * len(p)

    def psi(self) -> dict[str, float]:
        return {
            name: metrics.psi(self.ref[name]["shares"], (c / max(1, c.sum())).tolist())
            for name, c in self.counts.items()
        }
