"""The two model families, chosen by cross-validated log loss, and the calibration chosen out of fold.

Defaults are fixed (no per-data-set tuning): L2 logistic regression with C=1 on scaled numbers and
one-hot categories; LightGBM with native categorical splits, small trees, shrinkage 0.08 and the
number of rounds found by early stopping inside the same cross-validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from leadgate.model import encoding
from leadgate.model.metrics import brier, log_loss

LGB_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.08,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 8,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 20,
    "max_bin": 63,
    "verbose": -1,
    "seed": 0,
    "max_depth": 5,
    # one thread: OpenMP's spinning threads slowed training 15x on a busy 2-core machine
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
}
MAX_ROUNDS, PATIENCE = 600, 40


def folds(y: np.ndarray, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    k = max(2, min(k, int(min(y.sum(), len(y) - y.sum()))))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


# --- families -----------------------------------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray) -> dict:
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    return {
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "column_mean": x.mean(axis=0).tolist(),
    }


def logistic_logit(params: dict, x: np.ndarray) -> np.ndarray:
    return x @ np.asarray(params["coef"]) + params["intercept"]


def fit_trees(x: np.ndarray, y: np.ndarray, n_categorical: int, rounds: int) -> lgb.Booster:
    cats = list(range(x.shape[1] - n_categorical, x.shape[1]))
    data = lgb.Dataset(x, label=y, categorical_feature=cats, free_raw_data=False)
    return lgb.train(LGB_PARAMS, data, num_boost_round=rounds)


@dataclass
class Selection:
    family: str  # logistic | lightgbm
    oof: np.ndarray  # out-of-fold raw log-odds of the chosen family
    log_loss: dict[str, float]  # cross-validated log loss per family
    rounds: int  # LightGBM rounds (mean best iteration over folds)


def select_family(frame: pd.DataFrame, y: np.ndarray, spec: dict, family: str | None = None) -> Selection:
    """Out-of-fold log-odds of both families on the training rows; the lower log loss wins (unless `family` is given)."""
    splits = folds(y)
    xl = encoding.linear_matrix(frame, spec)
    oof_lin = np.zeros(len(y))
    for train, test in splits:
        oof_lin[test] = logistic_logit(fit_logistic(xl[train], y[train]), xl[test])
    xt = encoding.tree_matrix(frame, spec)
    ncat = len(spec["categorical"])
    cats = list(range(xt.shape[1] - ncat, xt.shape[1]))
    data = lgb.Dataset(xt, label=y, categorical_feature=cats, free_raw_data=False)
    cv = lgb.cv(
        LGB_PARAMS,
        data,
        num_boost_round=MAX_ROUNDS,
        folds=splits,
        return_cvbooster=True,
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
    )
    boosters = cv["cvbooster"]
    best = max(1, int(boosters.best_iteration))
    oof_tree = np.zeros(len(y))
    for booster, (_, test) in zip(boosters.boosters, splits):
        oof_tree[test] = booster.predict(xt[test], num_iteration=best, raw_score=True, num_threads=1)
    losses = {"logistic": log_loss(y, sigmoid(oof_lin)), "lightgbm": log_loss(y, sigmoid(oof_tree))}
    family = family or min(losses, key=losses.get)
    return Selection(family, oof_lin if family == "logistic" else oof_tree, losses, round(best * 1.1))


# --- calibration ----------------------------------------------------------------------------


def fit_calibration(kind: str, z: np.ndarray, y: np.ndarray) -> dict:
    if kind == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z, y)
        return {"kind": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(z[:, None], y)
    return {"kind": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def calibrate(cal: dict, z: np.ndarray) -> np.ndarray:
    """Calibrated probability from raw log-odds (isotonic: the fitted steps, interpolated; sigmoid: a*z + b)."""
    if cal["kind"] == "isotonic":
        return np.clip(np.interp(z, cal["x"], cal["y"]), 1e-4, 1 - 1e-4)
    return sigmoid(cal["a"] * z + cal["b"])


def choose_calibration(z_oof: np.ndarray, y: np.ndarray) -> tuple[dict, dict[str, float]]:
    """Isotonic or sigmoid, whichever has the lower Brier score out of fold; the winner refit on every row."""
    scores = {}
    for kind in ("isotonic", "sigmoid"):
        p = np.zeros(len(y))
        for train, test in folds(y, seed=1):
            p[test] = calibrate(fit_calibration(kind, z_oof[train], y[train]), z_oof[test])
        scores[kind] = brier(y, p)
    kind = min(scores, key=scores.get)
    return fit_calibration(kind, z_oof, y), scores
