"""Thresholds per qualification tier from held-out outcomes, with the whole review share kept within the budget."""

from __future__ import annotations

import numpy as np

from leadgate.model import thresholds as th
from leadgate.policy import Policy
from leadgate.routing.tiers import tier_bands, tier_of

MIN_TIER_LEADS = 30  # fewer held-out leads of a tier (or one kind of outcome only): the global numbers apply
KEYS = ("threshold", "auto_confidence", "check_confidence")


def heldout_tiers(heldout: dict, policy: Policy) -> np.ndarray | None:
    """The tier of every held-out lead under `policy` (None: the version predates stored tier features)."""
    if "size_min" not in heldout or "target" not in heldout:
        return None
    size = np.array([np.nan if v is None else v for v in heldout["size_min"]], dtype=float)
    return tier_of(np.asarray(heldout["target"], dtype=bool), size, policy)


def _subset(heldout: dict, mask: np.ndarray) -> dict:
    return {k: np.asarray(heldout[k], float)[mask] for k in ("p", "y", "completeness")}


def propose_tiers(heldout: dict, policy: Policy, budget: float) -> dict:
    """The global proposal, then one per tier with enough held-out leads; tiers fall back until review fits the budget."""
    glob = th.propose(heldout, policy, budget)
    tiers = heldout_tiers(heldout, policy)
    bands = tier_bands(policy)
    n = len(heldout["p"])
    out = {"global": glob, "tiers": {}, "budget": budget, "leads": n, "note": None}
    if tiers is None:
        out["note"] = "this version's held-out file has no tier features (trained before tiers): global numbers only"
    for name, band in bands.items():
        mask = tiers == name if tiers is not None else np.zeros(n, dtype=bool)
        sub = _subset(heldout, mask)
        entry = {
            "leads": int(mask.sum()),
            "source": "global",
            "proposal": None,
            "table": [],
            "min_margin": band.min_margin,
        }
        if mask.sum() >= MIN_TIER_LEADS and 0 < sub["y"].sum() < mask.sum():
            try:
                res = th.propose(sub, policy, budget, min_margin=band.min_margin)
                entry |= {"source": "tier", "proposal": res["proposal"], "table": res["table"]}
            except ValueError:
                pass
        if entry["proposal"] is None:
            share, acc = th._outcome(
                sub["p"],
                sub["y"],
                sub["completeness"],
                policy,
                glob["proposal"]["threshold"],
                glob["proposal"]["auto_confidence"],
                glob["proposal"]["check_confidence"],
                min_margin=band.min_margin,
            )
            entry["proposal"] = {**{k: glob["proposal"][k] for k in KEYS}, "review_share": share, "accuracy": acc}
        out["tiers"][name] = entry
    _fit_budget(out, heldout, tiers, policy)
    return out


def _total(out: dict) -> float:
    n = max(1, out["leads"])
    return sum(e["leads"] * e["proposal"]["review_share"] for e in out["tiers"].values()) / n


def _fit_budget(out: dict, heldout: dict, tiers, policy: Policy) -> None:
    """Each tier within budget does not make the whole within it: revert the tiers that gain least to the global numbers."""
    g = out["global"]["proposal"]
    while _total(out) > out["budget"] + 1e-9:
        own = [(name, e) for name, e in out["tiers"].items() if e["source"] == "tier"]
        if not own:
            break
        name, e = min(own, key=lambda kv: kv[1]["proposal"]["accuracy"])
        sub = _subset(heldout, tiers == name)
        share, acc = th._outcome(
            sub["p"],
            sub["y"],
            sub["completeness"],
            policy,
            g["threshold"],
            g["auto_confidence"],
            g["check_confidence"],
            min_margin=e["min_margin"],
        )
        e |= {
            "source": "global (budget)",
            "proposal": {**{k: g[k] for k in KEYS}, "review_share": share, "accuracy": acc},
        }
    if _total(out) > out["budget"] + 1e-9:
        # the tiers' own min_margin makes the global setting review more than on the whole: say so, never hide it
        out["note"] = (
            out["note"] or ""
        ) + f" the tiers' min_margin keeps review at {_total(out):.1%}, above the budget"
    out["review_share"] = _total(out)
    decided = sum(e["leads"] * (1 - e["proposal"]["review_share"]) for e in out["tiers"].values())
    right = sum(
        e["leads"] * (1 - e["proposal"]["review_share"]) * e["proposal"]["accuracy"]
        for e in out["tiers"].values()
        if e["leads"] and np.isfinite(e["proposal"]["accuracy"])
    )
    out["accuracy"] = right / decided if decided else float("nan")
