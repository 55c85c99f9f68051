"""Evaluation on held-out leads: discrimination, calibration, decisions at a threshold, bands, and drift (PSI)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

EPS = 1e-6


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |observed rate - mean probability| per equal-width bin, weighted by its leads."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / max(1, len(p)))


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [
        {"bin": b, "mean_p": float(p[idx == b].mean()), "rate": float(y[idx == b].mean()), "n": int((idx == b).sum())}
        for b in range(bins)
        if (idx == b).any()
    ]


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def roc_points(y: np.ndarray, p: np.ndarray, at_most: int = 200) -> list[tuple[float, float]]:
    fpr, tpr, _ = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(at_most, len(fpr))).astype(int))
    return [(round(float(fpr[i]), 4), round(float(tpr[i]), 4)) for i in keep]


def confidence(p: np.ndarray, threshold: float, policy_confidence) -> np.ndarray:
    """The policy's confidence formula on a probability: min(1, distance from the threshold / margin_scale)."""
    return np.clip(np.abs(p - threshold) / policy_confidence.margin_scale, 0, 1)


def bands(p: np.ndarray, conf: np.ndarray, threshold: float, auto: float, check: float, min_margin: float) -> dict:
    """Share of leads per confidence band and the share the bands alone send to review (rules not included)."""
    n = max(1, len(p))
    a = conf >= auto - 1e-9
    c = ~a & (conf >= check - 1e-9)
    r = ~a & ~c
    failed_check = c & (np.abs(p - threshold) < min_margin - 1e-9)
    return {
        "auto": float(a.sum() / n),
        "second_check": float(c.sum() / n),
        "review_band": float(r.sum() / n),
        "review_share": float((r.sum() + failed_check.sum()) / n),
    }


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = p >= threshold
    tp = float((pred & (y == 1)).sum())
    return {
        "threshold": threshold,
        "precision": float(tp / pred.sum()) if pred.sum() else None,
        "recall": float(tp / (y == 1).sum()) if (y == 1).sum() else None,
        "qualified_share": float(pred.mean()),
    }


def evaluate(y: np.ndarray, p: np.ndarray, completeness: np.ndarray, policy) -> dict:
    """Every held-out metric the registry keeps for a version."""
    t = policy.model.qualify_threshold or policy.scoring.qualify_threshold  # the threshold a model decides with
    conf = confidence(p, t, policy.scoring.confidence)
    rp = policy.routing
    return {
        "leads": len(y),
        "converted": int(y.sum()),
        "roc_auc": auc(y, p),
        "brier": brier(y, p),
        "ece": ece(y, p),
        "log_loss": log_loss(y, p),
        **{f"at_{k}": v for k, v in at_threshold(y, p, t).items()},
        "bands": bands(p, conf, t, rp.auto_confidence, rp.check_confidence, rp.second_check.min_margin),
    }


# --- drift --------------------------------------------------------------------------------------


def bin_edges(x: np.ndarray, bins: int = 10) -> list[float]:
    """Inner quantile edges of a reference sample (missing values get a bin of their own)."""
    finite = x[np.isfinite(x)]
    if not len(finite):
        return []
    return sorted({float(v) for v in np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])})


def proportions(x: np.ndarray, edges: list[float] | None, levels: int | None = None) -> list[float]:
    """Share per bin: numeric bins by `edges` plus a missing bin, or one per category code."""
    if levels is not None:
        counts = np.bincount(x.astype(int), minlength=levels)[:levels].astype(float)
    else:
        idx = np.where(
            np.isfinite(x), np.searchsorted(np.asarray(edges), np.nan_to_num(x), side="right"), len(edges) + 1
        )
        counts = np.bincount(idx, minlength=len(edges) + 2).astype(float)
    return (counts / max(1.0, counts.sum())).tolist()


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index: sum (a - e) * ln(a / e) over bins, shares floored at 0.1%."""
    e = np.maximum(np.asarray(expected, float), 1e-3)
    a = np.maximum(np.asarray(actual, float), 1e-3)
    return float(np.sum((a - e) * np.log(a / e)))
