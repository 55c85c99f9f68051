"""Scoring with a registered model: calibrated probability, confidence from the range rule over its unknowns, reasons."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pandas as pd

from leadgate.model import attributes, metrics
from leadgate.model.artifact import LeadModel
from leadgate.model.snapshots import AGE_SUFFIX, snapshot_features
from leadgate.policy import Policy
from leadgate.routing.ranges import RANGE_COLUMNS, range_columns
from leadgate.scoring.baseline import ENGAGEMENT_COLUMNS, SCORE_COLUMNS, BaselineScorer
from leadgate.shared import compute

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


def _top_order(points: np.ndarray, k: int) -> np.ndarray:
    """Per row, the columns of the k largest |points|, ties by column (a stable sort of -|points|, cut at k)."""
    size = np.abs(points)
    if k >= points.shape[1] or np.isnan(size).any():
        return np.argsort(-size, axis=1, kind="stable")[:, :k]
    # k passes of argmax (first of equals) instead of sorting every row: k is a handful, features are more
    rows = np.arange(len(size))
    order = np.empty((len(size), k), dtype=np.intp)
    for slot in range(k):
        order[:, slot] = size.argmax(axis=1)
        size[rows, order[:, slot]] = -np.inf
    return order


def reasons(model: LeadModel, frame: pd.DataFrame, points: np.ndarray, top: int) -> list[list[dict]]:
    """Top contributions per lead in probability points, worded from the lead's own values."""
    names = model.names
    numeric = {s["name"] for s in model.spec["numeric"]}
    binary = {s["name"] for s in model.spec["numeric"] if s.get("binary")}
    k = min(top, len(names))
    order = _top_order(points, k)
    picked = np.round(np.take_along_axis(points, order, axis=1) * 100, 1)  # score points (probability x 100)
    # Only the picked (lead, feature) cells are worded: each feature's values among them are factorised,
    # so a text id stands for one (feature, value as printed) and is worded once.
    values: list = []  # per text id: (feature, value)
    picked_text = np.empty(order.shape, dtype=np.int64)
    # the picked cells grouped by feature in one stable sort (each group in row order, as np.nonzero gives)
    flat = order.ravel().astype(np.int32 if len(names) > 2**15 else np.int16)
    by_feature = np.argsort(flat, kind="stable")  # small integers: a radix sort
    features, starts = np.unique(flat[by_feature], return_index=True)
    for j, cells in zip(features.tolist(), np.split(by_feature, starts[1:])):
        rows, slots = np.divmod(cells, order.shape[1])
        name = names[j]
        if name not in frame:
            column = np.full(len(rows), None, dtype=object)
        elif name in numeric:  # as printed: whole days, 3 significant digits, so equal texts share an id
            x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[rows]
            column = np.round(x) if name.endswith(AGE_SUFFIX) else _significant(x)
        else:
            column = frame[name].to_numpy(dtype=object)[rows]
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        picked_text[rows, slots] = np.where(codes < 0, len(values) + len(uniques), codes + len(values))
        values.extend((j, u) for u in uniques.tolist())
        values.append((j, None))
    words = [_word(name, name in numeric, name in binary) for name in names]
    tenths = np.round(picked * 10).astype(np.int64)
    inverse, combos = pd.factorize((picked_text * 100_000 + (tenths + 50_000)).ravel())  # hashing: no sort needed
    # one reason per distinct (text, points), shared by every lead that has it (reasons are read, never changed);
    # each text worded once however many point values it comes with, each tenth of a point shown once
    text_ids, combo_tenths = np.divmod(combos, 100_000)
    used, text_at = np.unique(text_ids, return_inverse=True)
    feature_of = np.array([names[values[i][0]] for i in used.tolist()], dtype=object)
    text_of = np.array([words[values[i][0]](values[i][1]) for i in used.tolist()], dtype=object)
    tenth, tenth_at = np.unique(combo_tenths, return_inverse=True)
    number_of = np.array([(t - 50_000) / 10 for t in tenth.tolist()] + [None], dtype=object)[:-1]
    shown_of = np.array([f": {(t - 50_000) / 1000:+.2f}" for t in tenth.tolist()], dtype=object)
    made = np.empty(len(combos), dtype=object)
    made[:] = [
        {"feature": f, "points": pt, "detail": d}
        for f, pt, d in zip(
            feature_of[text_at].tolist(), number_of[tenth_at].tolist(), (text_of[text_at] + shown_of[tenth_at]).tolist()
        )
    ]
    out = made[inverse.reshape(picked.shape)].tolist()
    # below half a point a reason would read "+0.00"; sorted by size, so the kept reasons are a prefix
    kept = (np.abs(picked) >= 0.5).sum(axis=1)
    for i in np.flatnonzero(kept < k).tolist():
        out[i] = out[i][: kept[i]]
    return out


class ModelScorer:
    """A promoted model decides: its calibrated probability is the score (baseline parts kept for the rules)."""

    name = "model"

    def __init__(self, model: LeadModel, version: str, policy: Policy) -> None:
        self.model, self.version, self.model_version = model, version, version
        self.policy = policy
        self.baseline = BaselineScorer(policy)
        self.required_columns = self.baseline.required_columns
        self.drift = DriftTally(model)

    def thresholds(self, features: pd.DataFrame) -> np.ndarray:
        """Per lead: model.qualify_threshold if set, else its tier's threshold (as routing reads it)."""
        from leadgate.routing.tiers import for_model, per_tier_index, tier_index

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
        return per_tier_index(tier_index(target, size, policy), policy)

    def score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        with compute.cyclic_gc_paused(), compute.one_blas_thread():
            return self._score(features, now)

    def _score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        columns = [*SCORE_COLUMNS, "model_version", *RANGE_COLUMNS]
        self.baseline.check(features, now)
        if not len(features):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        leads = features.reset_index(drop=True)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadgate-beside") as pool:
            # fit and engagement (the routing rules read them) beside the trees' leaves and the contributions, then
            # the worded reasons beside the range rule: numpy lets go of the GIL there, while the snapshot and the
            # design, made first, would only take turns with the baseline's pandas work
            frame = snapshot_features(leads, now)
            design = self.model.design(frame)
            baseline = pool.submit(self.baseline.parts, features, now)
            # trees: every lead's leaf in every tree, once, for the contributions and the range rule's re-predictions
            leaves = self.model.leaves(design[0]) if self.model.family == "lightgbm" else None
            contrib, base = self.model.contributions(frame, design, leaves)
            p, _, points = self.model.points_from(contrib, base)
            worded = pool.submit(reasons, self.model, frame, points, self.policy.routing.top_reasons)
            t = self.thresholds(leads)
            self.drift.add(frame, p, design[0] if self.model.family == "lightgbm" else None)
            ranges = self.ranges(leads, design, leaves, base + contrib.sum(axis=1), p, t)
            parts = baseline.result()
            words = worded.result()
        return parts.frame.assign(
            score=p,
            qualified=p >= t,
            confidence=np.clip(ranges["range_margin"] / self.policy.scoring.confidence.margin_scale, 0.0, 1.0),
            reasons=words,
            scorer=self.name,
            scorer_version=self.version,
            model_version=self.version,
            **ranges,
        )[columns]

    def ranges(self, leads: pd.DataFrame, design, leaves, z: np.ndarray, p: np.ndarray, t: np.ndarray) -> dict:
        """The range rule with the model's own probability over the unknowns' values (RANGE_COLUMNS).

        Only leads with an unknown fit field are re-predicted; the others' range is their probability.
        """
        from leadgate.model.unknowns import ModelRescorer
        from leadgate.routing.ranges import RANGE_INPUTS, score_ranges, unknown_masks
        from leadgate.routing.tiers import for_model

        n = len(leads)
        out = {
            "range_verdict": np.full(n, "", dtype=object),
            "range_margin": np.abs(p - t),
            "range_low": p.copy(),
            "range_high": p.copy(),
            "unknowns": [()] * n,
            "material_unknowns": [()] * n,
        }
        masks = unknown_masks(leads)
        any_unknown = np.zeros(n, dtype=bool)
        for m in masks.values():
            any_unknown |= m
        idx = np.flatnonzero(any_unknown)
        if not len(idx):
            return out
        x, base = design
        sub = (x[idx], None if base is None else base[idx])
        policy = for_model(self.policy)
        r = score_ranges(
            leads[[c for c in RANGE_INPUTS if c in leads.columns]].iloc[idx].reset_index(drop=True),
            policy,
            score=p[idx],
            rescorer=lambda held, named: ModelRescorer(
                self.model, sub, None if leaves is None else leaves[idx], z[idx], p[idx], policy, held, named
            ),
            masks={field: m[idx] for field, m in masks.items()},  # row-wise: the unknown leads' own masks
        )
        for name, values in range_columns(r).items():
            if isinstance(out[name], list):
                for i, v in zip(idx.tolist(), values):
                    out[name][i] = v
            else:
                out[name][idx] = values
        return out


class DriftTally:
    """Counts of this run's scores and top features in the training bins, for PSI at the end of the run."""

    def __init__(self, model: LeadModel) -> None:
        self.model, self.ref = model, model.doc.get("drift") or {}
        self.counts: dict[str, np.ndarray] = {}
        self.leads = 0

    def add(self, frame: pd.DataFrame, p: np.ndarray, tree_matrix: np.ndarray | None = None) -> None:
        """`tree_matrix`: the batch's encoding.tree_matrix when the scorer has it (its numbers, then its codes)."""
        from leadgate.model import encoding

        self.leads += len(p)
        # the columns at hand: the scorer's whole tree matrix, else only the tallied features encoded (each
        # column's encoding is its own)
        spec = self.model.spec
        numeric = codes = None
        if tree_matrix is not None:
            numeric, codes = encoding.tree_blocks(tree_matrix, spec)
        else:
            spec = {kind: [s for s in spec[kind] if s["name"] in self.ref] for kind in ("numeric", "categorical")}
        nums = [s["name"] for s in spec["numeric"]]
        cats = [s["name"] for s in spec["categorical"]]
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
