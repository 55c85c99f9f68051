"""Thresholds per tier from held-out outcomes: per-tier proposals, the whole review share within budget, a candidate policy."""

from __future__ import annotations

import numpy as np

from leadgate.config import LeadgateSettings
from leadgate.model.thresholds import _outcome, write_candidate
from leadgate.model.tier_thresholds import MIN_TIER_LEADS, propose_tiers
from leadgate.policy import load_policy
from leadgate.routing.tiers import tier_bands


def _heldout(n_ent=200, n_smb=300, n_named=5, seed=3):
    """Enterprise leads convert around a high probability cut, SMB leads around a low one; a few named accounts."""
    rng = np.random.default_rng(seed)
    p_ent, p_smb, p_named = rng.uniform(0, 1, n_ent), rng.uniform(0, 0.6, n_smb), rng.uniform(0, 1, n_named)
    y = np.r_[rng.uniform(size=n_ent) < p_ent, rng.uniform(size=n_smb) < p_smb * 1.5, [1, 0, 1, 0, 1][:n_named]]
    return {
        "p": np.r_[p_ent, p_smb, p_named].tolist(),
        "y": y.astype(int).tolist(),
        "completeness": [1.0] * (n_ent + n_smb + n_named),
        "target": [False] * (n_ent + n_smb) + [True] * n_named,
        "size_min": [5000.0] * n_ent + [None] * (n_smb // 2) + [20.0] * (n_smb - n_smb // 2) + [None] * n_named,
    }


def _policy_path():
    return LeadgateSettings(_env_file=None).policy


def test_tiers_with_enough_leads_get_their_own_numbers_and_the_whole_stays_within_budget():
    policy = load_policy(_policy_path())
    held = _heldout()
    out = propose_tiers(held, policy, 0.10)
    tiers = out["tiers"]
    assert tiers["enterprise"]["leads"] == 200 and tiers["enterprise"]["source"] == "tier"
    assert tiers["smb"]["source"] == "tier"
    assert tiers["named_account"]["leads"] == 5 < MIN_TIER_LEADS and tiers["named_account"]["source"] == "global"
    assert (
        tiers["mid_market"]["leads"] == 0
        and tiers["mid_market"]["proposal"]["threshold"] == out["global"]["proposal"]["threshold"]
    )
    # the whole review share, recomputed lead by lead with each tier's numbers and min_margin, is within the budget
    p, y = np.asarray(held["p"]), np.asarray(held["y"], float)
    names = np.array(["enterprise"] * 200 + ["smb"] * 300 + ["named_account"] * 5)
    bands = tier_bands(policy)
    reviewed = 0.0
    for name, e in tiers.items():
        m = names == name
        share, _ = _outcome(
            p[m],
            y[m],
            np.ones(m.sum()),
            policy,
            e["proposal"]["threshold"],
            e["proposal"]["auto_confidence"],
            e["proposal"]["check_confidence"],
            min_margin=bands[name].min_margin,
        )
        reviewed += share * m.sum()
    assert reviewed / len(p) <= 0.10 + 1e-9 and abs(reviewed / len(p) - out["review_share"]) < 1e-9
    # SMB converts at lower probabilities here: its own threshold is lower than enterprise's
    assert tiers["smb"]["proposal"]["threshold"] < tiers["enterprise"]["proposal"]["threshold"]


def test_a_tight_budget_still_holds_for_the_whole():
    policy = load_policy(_policy_path())
    out = propose_tiers(_heldout(seed=9), policy, 0.06)
    assert out["review_share"] <= 0.06 + 1e-9


def test_the_candidate_sets_each_tiers_keys_keeps_comments_and_loads(tmp_path):
    path = _policy_path()
    policy = load_policy(path)
    out = propose_tiers(_heldout(), policy, 0.15)
    dest = write_candidate(
        path,
        out["global"]["proposal"],
        "m1",
        tmp_path / "c.yaml",
        tiers={k: e["proposal"] for k, e in out["tiers"].items()},
    )
    cand = load_policy(dest)
    live_comments = [line for line in path.read_text().splitlines() if line.strip().startswith("#")]
    assert all(c in dest.read_text().splitlines() for c in live_comments)
    for t in cand.routing.tiers:
        e = out["tiers"][t.name]["proposal"]
        assert (t.qualify_threshold, t.auto_confidence, t.check_confidence) == (
            round(e["threshold"], 6),
            round(e["auto_confidence"], 6),
            round(e["check_confidence"], 6),
        )
    assert cand.version.endswith("+thresholds-m1")
    assert [t.min_margin for t in cand.routing.tiers] == [t.min_margin for t in policy.routing.tiers]


def test_a_version_without_tier_features_gets_global_numbers_with_a_note():
    policy = load_policy(_policy_path())
    held = {k: v for k, v in _heldout().items() if k not in ("target", "size_min")}
    out = propose_tiers(held, policy, 0.15)
    assert {e["source"] for e in out["tiers"].values()} == {"global"} and "no tier features" in out["note"]


def test_a_model_threshold_is_used_in_every_tier_when_a_model_decides_only():
    from leadgate.routing.tiers import for_model, model_decided

    policy = load_policy(_policy_path())
    mp = policy.model_copy(update={"model": policy.model.model_copy(update={"qualify_threshold": 0.2})})
    routed = for_model(mp)
    assert {b.threshold for b in tier_bands(routed).values()} == {0.2} and routed.scoring.qualify_threshold == 0.2
    assert for_model(policy) is policy  # null: the tiers' / global thresholds
    import pandas as pd

    assert model_decided(pd.DataFrame({"scorer": ["model", "model"]}))
    assert not model_decided(pd.DataFrame({"scorer": ["baseline", "model"]}))


def test_promote_says_when_the_heldout_outcomes_suggest_another_threshold():
    from leadgate.cli.model_cmds import threshold_note

    policy = load_policy(_policy_path())
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.35, 400)  # a calibrated model of a rare outcome: 0.55 qualifies nobody
    held = {"p": p.tolist(), "y": (rng.uniform(size=400) < p).astype(int).tolist(), "completeness": [1.0] * 400}
    note = threshold_note(held, policy, "m1")
    assert note and "qualifies 0% of held-out leads" in note and "leadgate model thresholds m1" in note
    fitted = policy.model_copy(
        update={
            "model": policy.model.model_copy(
                update={"qualify_threshold": propose_tiers(held, policy, 0.15)["global"]["proposal"]["threshold"]}
            )
        }
    )
    assert threshold_note(held, fitted, "m1") is None
