"""The range rule for a model: its own probability over the values an unknown fit field could take.

At training, the values each fit field took among known leads are recorded with the model
(`field_values`: the most frequent joint values of the field's columns, e.g. company size with its
min and max). A lead with an unknown field is re-predicted with each of them, only those leads, one
field at a time, all candidates of a field in one prediction. An unknown size is valued in each of
the policy's size bands at the most frequent training value inside it (a band the training data never
had keeps the score as scored). Within a size / named-account world the tier-free fields (job title,
industry, country) add their log-odds moves: exact for the linear model, an approximation for trees.
The range always holds the probability as scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadgate.model.artifact import LeadModel
from leadgate.model.encoding import MISSING, OTHER
from leadgate.model.estimators import calibrate
from leadgate.scoring.fields import SENIORITY_LABELS

# the model columns that hold each fit field of the range rule
FIELD_COLUMNS = {
    "company_size": ("company_size", "company_size_min", "company_size_max"),
    "industry": ("industry",),
    "country": ("country",),
    "job_title": ("seniority",),
    "company": ("is_target_account",),
}
MAX_VALUES = 25


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def field_values(frame: pd.DataFrame) -> dict[str, list[dict]]:
    """Per fit field, its most frequent joint values among training rows where it is known (JSON-ready)."""
    out: dict[str, list[dict]] = {}
    for field, columns in FIELD_COLUMNS.items():
        cols = [c for c in columns if c in frame.columns]
        if not cols or field == "company":
            continue
        known = frame[cols].dropna()
        if field == "job_title":
            known = known[known["seniority"].astype(str).str.strip().str.lower() != "unknown"]
        counts = known.astype(object).value_counts(sort=True).head(MAX_VALUES)
        out[field] = [dict(zip(cols, map(_plain, key if isinstance(key, tuple) else (key,)))) for key in counts.index]
    return out


def _label(field: str, value: dict) -> str:
    if field == "job_title":
        v = str(value["seniority"]).strip().lower()
        return SENIORITY_LABELS.get(v, f"seniority {v}")
    return f"in {str(next(iter(value.values()))).strip()[:40]}"


class ModelRescorer:
    """The Rescorer of a scored batch (leadgate/routing/ranges.py) for a LeadModel: re-predicts only unknown leads."""

    def __init__(self, model: LeadModel, design, leaves, z, p, policy, masks, may_be_target) -> None:
        from leadgate.routing.tiers import size_candidates

        self.model, (self.x, self.base), self.z = model, design, z
        self.score, self.valued = p, np.isfinite(p)
        self.masks, self.may_be_target = masks, may_be_target
        self.index = {name: j for j, name in enumerate(model.names)}
        recorded = model.doc.get("field_values")
        if recorded is None:  # a model trained before values were recorded: its categorical levels
            recorded = {
                f: [{cols[0]: v} for v in s["values"] if v not in (OTHER, MISSING, "unknown")][:MAX_VALUES]
                for f, cols in FIELD_COLUMNS.items()
                for s in model.spec["categorical"]
                if len(cols) == 1 and s["name"] == cols[0] and f != "company"
            }
        self.recorded = recorded
        self.bands = {}  # size band -> the training value standing for it
        for lo, hi in size_candidates(policy):
            inside = [
                v for v in recorded.get("company_size", [])
                if v.get("company_size_min") is not None and v["company_size_min"] >= lo
                and (hi is None or v["company_size_min"] < hi)
            ]  # fmt: skip
            self.bands[(lo, hi)] = inside[0] if inside else None
        self._dz: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._spans: dict[str, tuple] = {}
        self._sized: dict = {}
        self._leaves, self._z0 = leaves, None  # trees: the leads' own leaf in every tree (pred_leaf)
        self._worlds: dict = {}

    def _moves(self, rows: np.ndarray, values: list[dict]) -> np.ndarray:
        """Log-odds change of `rows` (len(rows) x len(values)) with each value set (trees: leadgate/model/trees.py)."""
        cols = [self.index[c] for c in (values[0] if values else ()) if c in self.index]
        if not len(rows) or not cols:
            return np.zeros((len(rows), len(values)))
        cand, _ = self.model.design(pd.DataFrame(values))
        x = self.x[rows]
        if self.base is not None:  # linear: a feature's column is its contribution, so the move is a difference
            return cand[:, cols].sum(axis=1)[None, :] - x[:, cols].sum(axis=1)[:, None]
        forest = self.model.forest
        if self._z0 is None:  # the log-odds the leads' own leaves add up to: the baseline of every move
            if self._leaves is None:
                self._leaves = self.model.leaves(self.x)
            self._z0 = forest.raw(self._leaves)
        return self.model.raw_with(x, self._leaves[rows], cols, cand[:, cols]) - self._z0[rows][:, None]

    def _calibrated(self, z: np.ndarray) -> np.ndarray:
        return calibrate(self.model.doc["calibration"], z)

    def span(self, field):
        if field not in self._spans:
            n = len(self.score)
            rows = np.flatnonzero(self.masks.get(field, np.zeros(n, dtype=bool)))
            values = self.recorded.get(field, [])
            dz = self._moves(rows, values)
            lo, hi = self.score.copy(), self.score.copy()
            lo_label, hi_label = [""] * n, [""] * n
            lo_dz, hi_dz = np.zeros(n), np.zeros(n)
            if dz.size:
                i_lo, i_hi = dz.argmin(axis=1), dz.argmax(axis=1)
                at = np.arange(len(rows))
                lo[rows] = self._calibrated(self.z[rows] + dz[at, i_lo])
                hi[rows] = self._calibrated(self.z[rows] + dz[at, i_hi])
                lo_dz[rows], hi_dz[rows] = np.minimum(0.0, dz[at, i_lo]), np.maximum(0.0, dz[at, i_hi])
                labels = [_label(field, v) for v in values]
                for r, a, b in zip(rows.tolist(), i_lo.tolist(), i_hi.tolist()):
                    lo_label[r], hi_label[r] = labels[a], labels[b]
            self._spans[field], self._dz[field] = (lo, hi, lo_label, hi_label), (lo_dz, hi_dz)
        return self._spans[field]

    def _world_z(self, rows: np.ndarray, size, named: bool) -> np.ndarray:
        """Log-odds of `rows` with the size set to its band's value and/or the company a named account."""
        if (size, named) not in self._worlds:  # every world of this `named`, each holding every lead it can, at once
            n = len(self.score)
            held = self.masks.get("company_size", np.zeros(n, dtype=bool))
            target = {"is_target_account": 1.0} if named else {}
            if named:
                held = held & self.may_be_target
                self._put_worlds(self.may_be_target, {(None, True): target})
            else:
                self._worlds[(None, False)] = self.z.copy()
            self._put_worlds(held, {(band, named): (value or {}) | target for band, value in self.bands.items()})
        return self._worlds[(size, named)][rows]

    def _put_worlds(self, held: np.ndarray, values: dict) -> None:
        """Per world (key: its value), the log-odds of the leads `held` with the value set; one re-prediction per set of columns."""
        at = np.flatnonzero(held)
        by_columns: dict[tuple, list] = {}
        for key, value in values.items():
            by_columns.setdefault(tuple(value), []).append(key)
        for columns, keys in by_columns.items():
            moves = self._moves(at, [values[k] for k in keys]) if columns and len(at) else None
            for j, key in enumerate(keys):
                z = self.z.copy()
                if moves is not None:
                    z[at] += moves[:, j]
                self._worlds[key] = z

    def world(self, valid, size, named):
        lo_dz, hi_dz = np.zeros(len(self.score)), np.zeros(len(self.score))
        for field in ("job_title", "industry", "country"):
            if field in self.masks:
                self.span(field)
                lo_dz, hi_dz = lo_dz + self._dz[field][0], hi_dz + self._dz[field][1]
        low, high = self.score.copy(), self.score.copy()
        rows = np.flatnonzero(valid & (lo_dz < 0) | valid & (hi_dz > 0) | valid & (size is not None or named))
        if len(rows):
            z = self._world_z(rows, size, named)
            low[rows] = np.minimum(self.score[rows], self._calibrated(z + lo_dz[rows]))
            high[rows] = np.maximum(self.score[rows], self._calibrated(z + hi_dz[rows]))
        return low, high

    def sized(self, size):
        if size not in self._sized:
            out = self.score.copy()
            rows = np.flatnonzero(self.masks.get("company_size", np.zeros(len(out), dtype=bool)))
            if len(rows) and self.bands.get(size) is not None:
                out[rows] = self._calibrated(self._world_z(rows, size, False))
            self._sized[size] = out
        return self._sized[size]

    def named(self):
        out = self.score.copy()
        rows = np.flatnonzero(self.may_be_target)
        if len(rows) and "is_target_account" in self.index:
            out[rows] = self._calibrated(self._world_z(rows, None, True))
        return out
