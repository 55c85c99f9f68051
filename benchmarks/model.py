"""Model training and scoring on synthetic leads: training time (selection + calibration), scoring rows/s, metrics.

For each size, leads shaped like marts.lead_features are drawn with outcomes from the documented
propensity (leadgate/sample/outcomes.py); 80% train (family chosen by 5-fold CV log loss, calibration
chosen out of fold, refit, then the importance and drift reference `model train` records), 20% are
held out for the metrics. Scoring is the pipeline's ModelScorer (baseline parts for the rules, calibrated
probability, confidence, worded reasons, the drift tally) on every lead; big batches use both cores
(leaves found in row blocks on two threads beside the baseline parts; reasons beside the range rule).
`scoring_leads_per_s` is the first scoring of the batch (the model's leaf tables built in it);
`warm_scoring_leads_per_s` the best of two more, as a process that scores run after run sees it.
Prints one JSON line per size. Targets on 2 cores: 10,000 leads train in < 30 s; scoring >= 100,000 leads/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DO_NOT_TRACK", "1")

from leadgate.config import DEFAULT_POLICY  # noqa: E402
from leadgate.model import metrics  # noqa: E402
from leadgate.model.artifact import LeadModel  # noqa: E402
from leadgate.model.scorer import ModelScorer, reasons  # noqa: E402
from leadgate.model.snapshots import snapshot_features  # noqa: E402
from leadgate.model.train import add_run_references, fit_model  # noqa: E402
from leadgate.policy import load_policy  # noqa: E402
from leadgate.sample.outcomes import draw_outcomes, propensity, synthetic_lead_features  # noqa: E402
from leadgate.shared import compute  # noqa: E402

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(n: int, seed: int, family: str | None = None) -> dict:
    policy = load_policy(DEFAULT_POLICY)
    leads = synthetic_lead_features(n, seed=seed, now=NOW)
    p_true = propensity(leads, NOW)
    y = draw_outcomes(p_true, seed).astype(int)
    frame = snapshot_features(leads, NOW)
    test = np.random.default_rng((seed, 2)).random(n) < 0.2  # its own stream (the features use default_rng(seed))
    t0 = time.perf_counter()
    train_frame = frame[~test].reset_index(drop=True)
    doc, booster, scores = fit_model(train_frame, y[~test], family)
    model = LeadModel(doc, booster)
    add_run_references(doc, model, train_frame)  # as `leadgate model train` does: each scoring tallies drift
    train_s = time.perf_counter() - t0
    p = model.predict(frame[test].reset_index(drop=True))
    scorer = ModelScorer(model, "bench", policy)
    t1, c1 = time.perf_counter(), time.process_time()
    scored = scorer.score(leads, NOW)
    score_s, score_cpu = (
        time.perf_counter() - t1,
        time.process_time() - c1,
    )  # wall time is the rate; CPU time (every thread's) says how busy the cores were, and is steadier
    # the same batch twice more: a process scoring run after run has the model's tables built and its code warm
    warm_s = min(_timed(lambda: scorer.score(leads, NOW)) for _ in range(2))
    # the model's own part: snapshot view, calibrated probability, contributions and worded reasons
    t2 = time.perf_counter()
    view = snapshot_features(leads, NOW)
    _, _, points = model.probability_points(view)
    reasons(model, view, points, policy.routing.top_reasons)
    model_s = time.perf_counter() - t2
    return {
        "leads": n,
        "train_rows": int((~test).sum()),
        "family": doc["family"],
        "calibration": doc["calibration"]["kind"],
        "cv_log_loss": {k: round(v, 4) for k, v in scores["cv_log_loss"].items()},
        "train_seconds": round(train_s, 2),
        "score_seconds": round(score_s, 3),
        "scoring_leads_per_s": round(len(scored) / score_s),
        "model_part_leads_per_s": round(n / model_s),
        "warm_scoring_leads_per_s": round(n / warm_s),
        "heldout": {
            "roc_auc": round(metrics.auc(y[test], p), 4),
            "propensity_auc": round(metrics.auc(y[test], p_true[test]), 4),
            "brier": round(metrics.brier(y[test], p), 4),
            "ece": round(metrics.ece(y[test], p), 4),
        },
        "score_cpu_seconds": round(score_cpu, 3),
        "cores": compute.cores(),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--family", choices=["logistic", "lightgbm"], help="score with this family (default: the one CV chooses)"
    )
    args = parser.parse_args()
    for n in args.leads:
        print(json.dumps(run(n, args.seed, args.family)), flush=True)


if __name__ == "__main__":
    main()
