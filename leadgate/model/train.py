"""`leadgate model train`: fit on every lead with an outcome (features as of the decision), register a version."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from leadgate.model import attributes, encoding, metrics, registry
from leadgate.model.artifact import LeadModel, save_model
from leadgate.model.estimators import choose_calibration, fit_logistic, fit_trees, select_family
from leadgate.model.snapshots import features_frame, protected_columns, training_rows, untrained_outcomes
from leadgate.model.unknowns import field_values
from leadgate.shared import compute

TEST_SHARE = 0.2
MIN_ROWS, MIN_PER_CLASS = 50, 10
DRIFT_FEATURES = 5


class TrainingError(ValueError):
    """Not enough usable outcomes to train and evaluate honestly."""


def fingerprint(rows: pd.DataFrame) -> str:
    """SHA-256 of the training rows: lead, label, cut-off, snapshot and its features."""
    h = hashlib.sha256()
    cols = rows[["lead_id", "converted", "cutoff", "score_id", "features"]].astype(object)
    # a list record has no score id: empty, as pandas would not turn a missing value into text
    for values in cols.where(cols.notna(), "").itertuples(index=False):
        h.update("\x1f".join(map(str, values)).encode("utf-8") + b"\x1e")
    return h.hexdigest()


def split(rows: pd.DataFrame, y: np.ndarray, time_split: bool) -> tuple[np.ndarray, np.ndarray]:
    """Train / test positions: the latest closes held out (time split), or a stratified random share."""
    n = len(rows)
    if time_split:
        order = np.argsort(pd.to_datetime(rows["cutoff"], utc=True).to_numpy(), kind="stable")
        cut = round(n * (1 - TEST_SHARE))
        return np.sort(order[:cut]), np.sort(order[cut:])
    rng = np.random.default_rng(0)
    test = []
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        test.extend(rng.choice(idx, round(len(idx) * TEST_SHARE), replace=False).tolist())
    test_mask = np.zeros(n, dtype=bool)
    test_mask[test] = True
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def fit_model(frame: pd.DataFrame, y: np.ndarray, family: str | None = None) -> tuple[dict, object, dict]:
    """Choose the family by CV log loss (or take `family`), calibrate out of fold, refit; returns (doc, booster, scores)."""
    with compute.one_blas_thread():  # as LightGBM, on one thread: no spinning workers (leadgate/shared/compute.py)
        return _fit_model(frame, y, family)


def _fit_model(frame: pd.DataFrame, y: np.ndarray, family: str | None) -> tuple[dict, object, dict]:
    spec = encoding.build_spec(frame)
    if not spec["numeric"] and not spec["categorical"]:
        raise TrainingError("no usable feature: every column is constant, empty or an identifier")
    sel = select_family(frame, y, spec, family)
    cal, cal_scores = choose_calibration(sel.oof, y)
    # the values each fit field took: what an unknown one could be when the model values its range
    doc = {"family": sel.family, "spec": spec, "calibration": cal, "field_values": field_values(frame)}
    booster = None
    if sel.family == "lightgbm":
        booster = fit_trees(encoding.tree_matrix(frame, spec), y, len(spec["categorical"]), sel.rounds)
    else:
        doc["linear"] = fit_logistic(encoding.linear_matrix(frame, spec), y)
    scores = {"cv_log_loss": sel.log_loss, "calibration_brier_oof": cal_scores, "rounds": sel.rounds}
    return doc, booster, scores


def drift_reference(model: LeadModel, frame: pd.DataFrame, p: np.ndarray, importance: dict[str, float]) -> dict:
    """Training distributions of the score and of the top features, for PSI on each run."""
    ref = {"score": {"edges": [i / 10 for i in range(1, 10)]}}
    ref["score"]["shares"] = metrics.proportions(p, ref["score"]["edges"])
    top = sorted(importance, key=importance.get, reverse=True)[:DRIFT_FEATURES]
    numeric = encoding.numbers(frame, model.spec)
    codes = encoding.category_codes(frame, model.spec)
    for name in top:
        nums = [s["name"] for s in model.spec["numeric"]]
        if name in nums:
            x = numeric[:, nums.index(name)]
            edges = metrics.bin_edges(x)
            ref[name] = {"kind": "numeric", "edges": edges, "shares": metrics.proportions(x, edges)}
        else:
            j = [s["name"] for s in model.spec["categorical"]].index(name)
            levels = len(model.spec["categorical"][j]["values"])
            ref[name] = {
                "kind": "categorical",
                "levels": levels,
                "shares": metrics.proportions(codes[:, j].astype(float), None, levels),
            }
    return ref


def add_run_references(doc: dict, model: LeadModel, frame: pd.DataFrame) -> None:
    """Into `doc`: the features' importance and the drift reference (what each run's PSI compares with), from training rows."""
    _, _, points = model.probability_points(frame)
    importance = dict(zip(model.names, np.abs(points).mean(axis=0).round(5).tolist()))
    doc["importance"] = importance
    doc["drift"] = drift_reference(model, frame, model.predict(frame), importance)


def tier_features(frame: pd.DataFrame) -> dict:
    """What a policy's tiers match on, per held-out lead (named account, company size), so thresholds go per tier."""
    n = len(frame)
    size = (
        pd.to_numeric(frame["company_size_min"], errors="coerce")
        if "company_size_min" in frame
        else pd.Series([np.nan] * n)
    )
    target = (
        pd.to_numeric(frame["is_target_account"], errors="coerce")
        if "is_target_account" in frame
        else pd.Series([0] * n)
    )
    return {
        "target": [bool(v) for v in target.fillna(0).tolist()],
        "size_min": [None if not np.isfinite(v) else float(v) for v in size.astype(float).tolist()],
    }


def train(
    con: duckdb.DuckDBPyConnection, policy, db_path: Path, *, time_split: bool = False, now: datetime | None = None
) -> dict:
    """Train, evaluate on held-out leads, save the files and register the version; returns its record."""
    started = time.perf_counter()
    rows = training_rows(con)
    y = rows["converted"].astype(int).to_numpy()
    if len(rows) < MIN_ROWS or min(y.sum(), len(y) - y.sum()) < MIN_PER_CLASS:
        raise TrainingError(
            f"not enough outcomes with a decision snapshot or a list record to train: {len(rows)} leads, {int(y.sum())} converted "
            f"(need {MIN_ROWS} and {MIN_PER_CLASS} of each kind); "
            + (untrained_outcomes(con, rows["lead_id"]) or "import outcomes with `leadgate import outcomes`")
        )
    frame = features_frame(rows["features"])
    train_idx, test_idx = split(rows, y, time_split)
    # decided on the training rows' values: the outcome, identifiers, emails, free text; then on their
    # labels (never the held-out ones): columns that reproduce the outcome
    excluded = attributes.exclusions(frame.iloc[train_idx], protected_columns(con))
    excluded |= attributes.outcome_copies(frame.iloc[train_idx].drop(columns=list(excluded)), y[train_idx])
    frame = frame.drop(columns=list(excluded))
    if min(y[test_idx].sum(), len(test_idx) - y[test_idx].sum()) < 1:
        raise TrainingError("the held-out part has only one kind of outcome; more outcomes are needed")
    ftrain, ytrain = frame.iloc[train_idx].reset_index(drop=True), y[train_idx]
    doc, booster, scores = fit_model(ftrain, ytrain)
    model = LeadModel(doc, booster)
    ftest = frame.iloc[test_idx].reset_index(drop=True)
    p_test = model.predict(ftest)
    completeness = rows["completeness"].to_numpy(float)
    held = metrics.evaluate(y[test_idx], p_test, completeness[test_idx], policy)
    add_run_references(doc, model, ftrain)
    now = now or datetime.now(UTC)
    fp = fingerprint(rows)
    version = f"m{now:%Y%m%d%H%M%S}-{fp[:6]}"
    taken = {
        v
        for (v,) in con.execute(
            "select version from scoring.model_versions where version like ?", [version + "%"]
        ).fetchall()
    }
    version = next(v for v in [version, *(f"{version}.{i}" for i in range(2, 1000))] if v not in taken)
    doc["version"] = version
    model_dir = registry.models_root(db_path) / version
    heldout = {
        "p": np.round(p_test, 6).tolist(),
        "y": y[test_idx].tolist(),
        "completeness": np.nan_to_num(completeness[test_idx], nan=0.0).round(4).tolist(),
        "roc": metrics.roc_points(y[test_idx], p_test),
        "reliability": metrics.reliability(y[test_idx], p_test),
        **tier_features(ftest),
    }
    files = save_model(model_dir, doc, booster, heldout)
    cutoff = pd.to_datetime(rows["cutoff"], utc=True)
    record = {
        "version": version,
        "created_at": now,
        "family": doc["family"],
        "calibration": doc["calibration"]["kind"],
        "fingerprint": fp,
        "model_dir": str(model_dir),
        "files": files,
        "metrics": {"heldout": held, **scores, "train_seconds": round(time.perf_counter() - started, 2)},
        "training": {
            "rows": len(rows),
            "train_rows": len(train_idx),
            "test_rows": len(test_idx),
            "converted": int(y.sum()),
            "split": "time" if time_split else "random",
            "latest_outcome": str(cutoff.max()),
            "features": model.names,
            "dropped": doc["spec"]["dropped"],
            "excluded": excluded,  # custom attributes that are no feature, with the reason
            # reviewers' approvals and rejections: a weaker label, counted here, never trained or scored on
            "reviewer_labels_not_used": int(con.execute("select count(*) from scoring.reviewer_labels").fetchone()[0]),
        },
    }
    con.execute("begin transaction")
    try:
        registry.register(con, record)
        part = pd.DataFrame(
            {
                "version": version,
                "lead_id": rows["lead_id"],
                "part": np.where(np.isin(np.arange(len(rows)), test_idx), "test", "train"),
            }
        )
        con.register("_split", part)
        con.execute("insert into scoring.model_split select version, lead_id, part from _split")
        con.unregister("_split")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return record
