"""The range rule: what a lead's unknown fit fields could do to its score, in every tier it could fall in.

An unknown field (company size, industry, country, job title, company) earned the points it was
scored with (0 for each in the default policy); its true value would earn one of the policy's fit
points for that field (`scoring.fit`: a size band, a seniority level, the industry or country
points or none, the named-account points or none). The score's range over those values is
`score + fit_share x (fit' - fit)` with `fit' = min(1, fit_points' / max_points)`, the low end
never above the score as scored. An unknown company size also leaves the tier open (and a company
unknown leaves open whether it is a named account), so the range is taken per tier it could fall in,
each against that tier's threshold. The verdict: `qualified` / `nurture` when every such range lies
on one side, else `straddle`; `margin` is the range's distance to the threshold (0 when it
straddles; |score - threshold| with nothing unknown), from which the baseline's confidence comes.

What a true value would do to the score is a `Rescorer`'s business: `PointsRescorer` is the
baseline's formula above; a model re-predicts its own probability (leadgate/model/unknowns.py) and
puts the results in its scored batch (RANGE_COLUMNS), which routing reads instead of the points rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from leadgate.policy import Policy
from leadgate.routing.tiers import (
    per_tier_index,
    size_candidates,
    size_label,
    tier_bands,
    tier_index,
    tier_names,
    tier_of,
)
from leadgate.scoring.fields import SENIORITY_LABELS, is_blank, per_value

FIELDS = ("company_size", "industry", "country", "job_title", "company")
EPS = 1e-9
DECIDES = "qualified vs nurture"


@dataclass(frozen=True)
class Ranges:
    tier: np.ndarray  # the tier on what is known (first match; an unknown size matches no sized tier)
    verdict: np.ndarray  # '' (nothing unknown), qualified, nurture, straddle, unvalued (no fit points to value it)
    margin: np.ndarray  # distance from the range to the threshold of every tier it could fall in; 0 if it straddles
    low: np.ndarray
    high: np.ndarray
    unknowns: list[tuple[dict[str, Any], ...]]  # per lead: {field, low, high, low_with, high_with, decides}
    material: list[tuple[str, ...]]  # per lead: the unknown fields that decide the outcome


# what a scorer with its own range rule (a model) carries in its scored batch, read back by routing
RANGE_COLUMNS = ("range_verdict", "range_margin", "range_low", "range_high", "unknowns", "material_unknowns")


def range_columns(ranges: Ranges) -> dict[str, Any]:
    """The range rule's per-lead results as scored-batch columns (RANGE_COLUMNS)."""
    return dict(
        zip(RANGE_COLUMNS, (ranges.verdict, ranges.margin, ranges.low, ranges.high, ranges.unknowns, ranges.material))
    )


def ranges_of(frame: pd.DataFrame, policy: Policy) -> Ranges:
    """The ranges a scorer put in its batch (a model rescored its own unknowns), else the baseline's points rule."""
    if not all(c in frame.columns for c in RANGE_COLUMNS):
        return score_ranges(frame, policy)
    n = len(frame)
    target = (
        frame["is_target_account"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "is_target_account" in frame.columns
        else np.zeros(n, dtype=bool)
    )
    size = (
        pd.to_numeric(frame["company_size_min"], errors="coerce").to_numpy(dtype=float)
        if "company_size_min" in frame.columns
        else np.full(n, np.nan)
    )
    return Ranges(
        tier=tier_of(target, size, policy),
        verdict=frame["range_verdict"].to_numpy(dtype=object),
        margin=frame["range_margin"].to_numpy(dtype=float),
        low=frame["range_low"].to_numpy(dtype=float),
        high=frame["range_high"].to_numpy(dtype=float),
        unknowns=[tuple(u) for u in frame["unknowns"].tolist()],
        material=[tuple(m) for m in frame["material_unknowns"].tolist()],
    )


def unknown_masks(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per fit field (of those the frame carries), True where the lead's value is unknown."""
    out: dict[str, np.ndarray] = {}
    if "company_size_min" in frame.columns:
        out["company_size"] = ~np.isfinite(
            pd.to_numeric(frame["company_size_min"], errors="coerce").to_numpy(dtype=float)
        )
    elif "company_size" in frame.columns:
        out["company_size"] = is_blank(frame["company_size"])
    for name in ("industry", "country"):
        if name in frame.columns:
            out[name] = is_blank(frame[name])
    if "seniority" in frame.columns:
        unknown = per_value(frame["seniority"], lambda v: str(v).strip().lower() == "unknown", False)
        out["job_title"] = is_blank(frame["seniority"]) | unknown.astype(bool)
    elif "job_title" in frame.columns:
        out["job_title"] = is_blank(frame["job_title"])
    if "company" in frame.columns:
        out["company"] = is_blank(frame["company"])
    return out


def _values(policy: Policy) -> dict[str, tuple[float, list[tuple[float, str]]]]:
    """Tier-free fields: (points as scored when unknown, [(points, label)] its true value could earn)."""
    fp = policy.scoring.fit
    seniority = [(p, SENIORITY_LABELS.get(k, f"seniority {k}")) for k, p in fp.seniority.items() if k != "unknown"]
    return {
        "job_title": (fp.seniority.get("unknown", 0.0), seniority or [(0.0, "any title")]),
        "industry": (0.0, [(0.0, "outside the target industries"), (fp.industries.points, "in a target industry")]),
        "country": (0.0, [(0.0, "outside the target countries"), (fp.countries.points, "in a target country")]),
    }


def _may_be_target(frame: pd.DataFrame, masks: dict[str, np.ndarray], target: np.ndarray) -> np.ndarray:
    """An unknown company may be a named account only when its domain is unknown too (accounts match by domain)."""
    open_ = masks.get("company", np.zeros(len(frame), dtype=bool)) & ~target
    if "company_domain" in frame.columns:
        open_ &= is_blank(frame["company_domain"])
    return open_


def _size_points(size: np.ndarray, policy: Policy) -> np.ndarray:
    bands = sorted(policy.scoring.fit.company_size, key=lambda b: b.min, reverse=True)
    return np.select([np.nan_to_num(size, nan=-1.0) >= b.min for b in bands], [b.points for b in bands], default=0.0)


class Rescorer(Protocol):
    """A scorer's score if unknown fit fields took the values they could have: what the range rule asks of it."""

    score: np.ndarray  # as scored
    valued: np.ndarray  # rows it can value (others are `unvalued`)

    def world(
        self, valid: np.ndarray, size: tuple[float, float | None] | None, named: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) where `valid`: an unknown size in `size`'s band (None: as scored), an unknown company a
        named account (`named`), every other unknown field (job title, industry, country) over its values."""
        ...

    def span(self, field: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """A tier-free field alone, where unknown: (low score, high score, low label, high label)."""
        ...

    def sized(self, size: tuple[float, float | None]) -> np.ndarray:
        """The score with an unknown size in `size`'s band, the rest as scored."""
        ...

    def named(self) -> np.ndarray:
        """The score as a named account where the company may be one, the rest as scored."""
        ...


class PointsRescorer:
    """The baseline's rescoring: fit points the true values would earn (`scoring.fit`), through its formula."""

    def __init__(self, policy: Policy, masks, may_be_target, score, fit, fit_points) -> None:
        self.policy, self.masks, self.may_be_target = policy, masks, may_be_target
        self.score, self.fit, self.fit_points = score, fit, fit_points
        self.valued = np.isfinite(fit_points) & np.isfinite(fit) & np.isfinite(score)
        self.values = _values(policy)
        n = len(score)
        # tier-free unknowns add a fixed span of points to every world
        self.lo_pts, self.hi_pts = np.zeros(n), np.zeros(n)
        for name, (scored_as, options) in self.values.items():
            if name in masks:
                points = [p for p, _ in options]
                self.lo_pts += np.where(masks[name], min(min(points), scored_as) - scored_as, 0.0)
                self.hi_pts += np.where(masks[name], max(points) - scored_as, 0.0)

    def _rescore(self, points: np.ndarray) -> np.ndarray:
        sp = self.policy.scoring
        return np.clip(self.score + sp.fit_share * (np.minimum(1.0, points / sp.fit.max_points) - self.fit), 0.0, 1.0)

    def world(self, valid, size, named):
        n = len(self.score)
        extra = np.zeros(n) if size is None else _size_points(np.full(n, size[0]), self.policy)  # unknown: 0
        extra = extra + (self.policy.scoring.fit.target_account if named else 0.0)
        low = np.minimum(self.score, self._rescore(self.fit_points + extra + self.lo_pts))
        return low, self._rescore(self.fit_points + extra + self.hi_pts)

    def span(self, field):
        scored_as, options = self.values[field]
        (lo_p, lo_label), (hi_p, hi_label) = min(options, key=lambda o: o[0]), max(options, key=lambda o: o[0])
        n = len(self.score)
        lo_s, hi_s = (
            self._rescore(self.fit_points + lo_p - scored_as),
            self._rescore(self.fit_points + hi_p - scored_as),
        )
        return lo_s, hi_s, [lo_label] * n, [hi_label] * n

    def sized(self, size):
        return self._rescore(self.fit_points + _size_points(np.full(len(self.score), size[0]), self.policy))

    def named(self):
        return self._rescore(self.fit_points + self.policy.scoring.fit.target_account * self.may_be_target)


# the frame columns score_ranges reads when it is given the masks, the score and a rescorer (a caller may pass only these)
RANGE_INPUTS = ("is_target_account", "company_size_min", "company_domain")


def score_ranges(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    score: np.ndarray | None = None,
    fit: np.ndarray | None = None,
    fit_points: np.ndarray | None = None,
    rescorer=None,
    masks: dict[str, np.ndarray] | None = None,
) -> Ranges:
    """The range rule for every row of `frame` (features with score, fit, fit_points; arrays override columns).

    `rescorer(masks, may_be_target)` makes the Rescorer of another scorer (a model); by default the baseline's points.
    `masks`: unknown_masks(frame), when the caller has them already.
    """
    n = len(frame)
    bands = tier_bands(policy)

    def numeric(name: str, given: np.ndarray | None) -> np.ndarray:
        if given is not None:
            return np.asarray(given, dtype=float)
        if name not in frame.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)

    target = (
        frame["is_target_account"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "is_target_account" in frame.columns
        else np.zeros(n, dtype=bool)
    )
    size = numeric("company_size_min", None)
    tier_at = tier_index(target, size, policy)  # positions, compared as integers below
    tier, thr = tier_names(policy)[tier_at], per_tier_index(tier_at, policy)
    masks = unknown_masks(frame) if masks is None else masks
    any_unknown = np.zeros(n, dtype=bool)
    for m in masks.values():
        any_unknown |= m
    may_be_target = _may_be_target(frame, masks, target)
    if rescorer is None:
        fit, fit_points = numeric("fit", fit), numeric("fit_points", fit_points)
        rs: Rescorer = PointsRescorer(policy, masks, may_be_target, numeric("score", score), fit, fit_points)
    else:
        rs = rescorer(masks, may_be_target)
    score, valued = rs.score, rs.valued

    # size and named account make the worlds (each may move the tier); the other unknowns span inside each
    size_unknown = masks.get("company_size", np.zeros(n, dtype=bool))
    sizes = [None, *size_candidates(policy)]
    worlds = []  # (valid, tier, low, high)
    for size_opt in sizes:
        valid_s = np.ones(n, dtype=bool) if size_opt is None else size_unknown
        size_w = size if size_opt is None else np.full(n, size_opt[0])
        for target_opt in (False, True):
            valid = valid_s & (may_be_target if target_opt else True)
            if not valid.any():
                continue
            target_w = target | (may_be_target if target_opt else False)
            low_w, high_w = rs.world(valid, size_opt, target_opt)
            worlds.append((valid, tier_index(target_w, size_w, policy), low_w, high_w))

    verdict = np.full(n, "", dtype=object)
    margin = np.abs(score - thr)
    low, high = score.copy(), score.copy()
    sides_q = np.ones(n, dtype=bool)
    sides_n = np.ones(n, dtype=bool)
    best = np.full(n, np.inf)
    for at, band in enumerate(bands.values()):  # in policy order, as tier_index numbers them
        lo_t, hi_t = np.full(n, np.inf), np.full(n, -np.inf)
        for valid, tier_w, low_w, high_w in worlds:
            hit = valid & (tier_w == at)
            lo_t = np.where(hit, np.minimum(lo_t, low_w), lo_t)
            hi_t = np.where(hit, np.maximum(hi_t, high_w), hi_t)
        feasible = np.isfinite(lo_t)
        q = lo_t >= band.threshold - EPS
        nu = hi_t < band.threshold - EPS
        sides_q &= ~feasible | q
        sides_n &= ~feasible | nu
        dist = np.where(q, lo_t - band.threshold, np.where(nu, band.threshold - hi_t, 0.0))
        best = np.where(feasible, np.minimum(best, dist), best)
        low = np.where(feasible, np.minimum(low, lo_t), low)
        high = np.where(feasible, np.maximum(high, hi_t), high)
    ranged = any_unknown & valued
    verdict[ranged] = np.where(sides_q, "qualified", np.where(sides_n, "nurture", "straddle"))[ranged]
    verdict[any_unknown & ~valued] = "unvalued"
    margin = np.where(ranged, np.clip(best, 0.0, None), margin)
    low, high = np.where(ranged, low, score), np.where(ranged, high, score)
    unknowns, material = _field_details(masks, any_unknown, verdict, rs, target, may_be_target, size, thr, policy)
    return Ranges(tier=tier, verdict=verdict, margin=margin, low=low, high=high, unknowns=unknowns, material=material)


def _field_details(
    masks, any_unknown, verdict, rs: Rescorer, target, may_be_target, size, thr, policy
) -> tuple[list[tuple[dict[str, Any], ...]], list[tuple[str, ...]]]:
    """Per unknown field, alone (the others as scored): the score's range and whether it decides the outcome."""
    score = rs.score
    n = len(score)
    per_field: dict[str, tuple[np.ndarray, np.ndarray, list[str], list[str], np.ndarray]] = {}
    for name in ("job_title", "industry", "country"):
        if name not in masks:
            continue
        lo_s, hi_s, lo_label, hi_label = rs.span(name)
        decides = (np.minimum(score, lo_s) < thr - EPS) & (hi_s >= thr - EPS)
        per_field[name] = (lo_s, hi_s, lo_label, hi_label, decides)
    # size and named account: each value may move the tier, so compare each with its own tier's threshold
    for name, options in (
        ("company_size", [(s, False) for s in size_candidates(policy)]),
        ("company", [(None, True)]),
    ):
        if name not in masks:
            continue
        cand_scores, cand_q, labels = [], [], []
        for size_opt, target_opt in options:
            size_w = size if size_opt is None else np.full(n, size_opt[0])
            target_w = target | may_be_target if target_opt else target
            s = rs.named() if target_opt else rs.sized(size_opt)
            cand_scores.append(s)
            cand_q.append(s >= per_tier_index(tier_index(target_w, size_w, policy), policy) - EPS)
            labels.append(size_label(*size_opt) if size_opt is not None else "a named target account")
        as_scored_q = score >= thr - EPS
        if name == "company":
            cand_scores.insert(0, score)
            cand_q.insert(0, as_scored_q)
            labels.insert(0, "if not a named target account")
        stack, qstack = np.column_stack(cand_scores), np.column_stack(cand_q)
        lo_i, hi_i = stack.argmin(axis=1), stack.argmax(axis=1)
        decides = qstack.any(axis=1) & ~qstack.all(axis=1)
        if name == "company_size":
            decides |= qstack.any(axis=1) & ~as_scored_q  # scored without a size it would not qualify
        rows = np.arange(n)
        per_field[name] = (
            stack[rows, lo_i],
            stack[rows, hi_i],
            [labels[i] for i in lo_i],
            [labels[i] for i in hi_i],
            decides,
        )
    fields = [f for f in FIELDS if f in masks]
    unknown = np.column_stack([masks[f] for f in fields]) if fields else np.zeros((n, 0), dtype=bool)
    unknown &= any_unknown[:, None]
    valued = unknown & (verdict != "unvalued")[:, None]
    straddle = (verdict == "straddle")[:, None]
    # what each unknown field decides: alone, or (when none does alone) only together with the others
    alone = valued & straddle & np.column_stack([per_field[f][4] for f in fields] or [unknown])
    together = valued & straddle & ~alone.any(axis=1, keepdims=True)
    decides = np.where(alone, 1, np.where(together, 2, 0))
    # material: the unknowns that decide (every unknown when the lead could not be valued)
    material_mask = np.where(valued.any(axis=1, keepdims=True), decides > 0, unknown)
    unknowns = [()] * n
    material: list[tuple[str, ...]] = [()] * n
    for pattern, rows in _patterns(material_mask):
        named = tuple(f for j, f in enumerate(fields) if pattern >> j & 1)  # one tuple shared by the pattern's rows
        for i in rows.tolist():
            material[i] = named
    items = [_field_items(f, per_field[f], valued[:, j], decides[:, j]) for j, f in enumerate(fields)]
    for pattern, rows in _patterns(valued):
        picked = [items[j][rows] for j in range(len(fields)) if pattern >> j & 1]
        for i, item in zip(rows.tolist(), zip(*picked)):
            unknowns[i] = item
    return unknowns, material


DECIDES_TEXT = ("nothing", DECIDES, DECIDES + " (with the other unknowns)")


def _patterns(mask: np.ndarray):
    """(bit pattern of the True columns, rows) for each pattern some row has, the empty one left out."""
    bits = mask.astype(np.int64) @ (1 << np.arange(mask.shape[1], dtype=np.int64)) if mask.size else np.zeros(0)
    for pattern in np.unique(bits).tolist():
        if pattern:
            yield pattern, np.flatnonzero(bits == pattern)


def _round2(x: np.ndarray) -> np.ndarray:
    """`round(v, 2)` of every value, as Python rounds (to the nearest hundredth of the exact value), in numpy.

    rint(100 v) / 100 is the same number except where 100 v falls next to a half (or v is huge), where
    the product's own rounding could tip it: those few go through Python's round.
    """
    scaled = x * 100.0
    out = np.rint(scaled) / 100.0
    with np.errstate(invalid="ignore"):
        near = (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6) | (np.abs(x) > 1e6)
    out[near] = [round(v, 2) for v in x[near].tolist()]
    return out


def _field_items(field: str, span, rows_mask: np.ndarray, decides: np.ndarray) -> np.ndarray:
    """Per row (an object array; filled where `rows_mask`), the field's item: range, the values at its ends, what it decides.

    Equal items are one dict, made once (they are read, never changed).
    """
    lo_s, hi_s, lo_l, hi_l, _ = span
    out = np.empty(len(rows_mask), dtype=object)
    rows = np.flatnonzero(rows_mask)
    if not len(rows):
        return out
    keys, parts = None, []  # parts: per column, its distinct values and each row's code
    for column in (
        _round2(lo_s[rows]),
        _round2(hi_s[rows]),
        np.asarray(lo_l, dtype=object)[rows],
        np.asarray(hi_l, dtype=object)[rows],
    ):
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        parts.append((np.array(uniques.tolist() + [None], dtype=object)[:-1], codes))  # plain Python values
        keys = codes if keys is None else pd.factorize(keys * (len(uniques) + 1) + codes)[0]
    d = decides[rows]
    keys = pd.factorize(keys * 3 + d)[0]
    _, first = np.unique(keys, return_index=True)  # the first row with each item (keys are 0..items-1)
    (lo_u, lo_c), (hi_u, hi_c), (lol_u, lol_c), (hil_u, hil_c) = parts
    made = np.empty(len(first), dtype=object)
    for k, r in enumerate(first.tolist()):
        made[k] = {
            "field": field,
            "low": lo_u[lo_c[r]],
            "high": hi_u[hi_c[r]],
            "low_with": lol_u[lol_c[r]],
            "high_with": hil_u[hil_c[r]],
            "decides": DECIDES_TEXT[d[r]],
        }
    out[rows] = made[keys]
    return out


FIELD_NAMES = {
    "company_size": "company size",
    "industry": "industry",
    "country": "country",
    "job_title": "job title",
    "company": "company",
}


def unknown_phrase(u: dict[str, Any]) -> str:
    """'company size unknown: the score is 0.41 with 1–10 employees and 0.63 with 1,000+ employees; it decides qualified vs nurture'."""
    name = FIELD_NAMES.get(u["field"], u["field"])
    if u.get("low_with") is None:
        return f"{name} unknown"
    text = f"{name} unknown: the score is {u['low']:.2f} {_with(u['low_with'])} and {u['high']:.2f} {_with(u['high_with'])}"
    return text + (f"; it decides {u['decides']}" if u["decides"] != "nothing" else "; it cannot change the decision")


def _with(label: str) -> str:
    if label.endswith("employees"):
        return f"with {label}"
    if label.startswith(("in ", "outside ", "if ")):
        return label
    if label.startswith("a named"):
        return f"as {label}"
    return f"with {'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"
