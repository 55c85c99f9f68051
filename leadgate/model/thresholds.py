"""Thresholds from held-out outcomes: the qualify threshold and confidence bands that keep review within budget."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from leadgate.model import metrics
from leadgate.policy import Policy, load_policy

SHARES = (0.0, 0.05, 0.10, 0.15, 0.20, 0.30, 0.50)


def _outcome(
    p, y, comp, policy: Policy, t: float, auto: float, check: float, min_margin: float | None = None
) -> tuple[float, float]:
    """(review share, accuracy of the automatic decisions) on held-out leads for one setting (bands alone)."""
    if not len(p):
        return 0.0, float("nan")
    conf = metrics.confidence(p, t, policy.scoring.confidence)
    margin = policy.routing.second_check.min_margin if min_margin is None else min_margin
    band_check = (conf >= check - 1e-9) & (conf < auto - 1e-9)
    review = (conf < check - 1e-9) | (band_check & (np.abs(p - t) < margin - 1e-9))
    decided = ~review
    acc = float(((p[decided] >= t) == (y[decided] == 1)).mean()) if decided.any() else float("nan")
    return float(review.mean()), acc


def grid(heldout: dict, policy: Policy, min_margin: float | None = None) -> list[dict]:
    """Every (threshold, auto band, check band) on a coarse grid with its review share and accuracy."""
    p, y, comp = (np.asarray(heldout[k], float) for k in ("p", "y", "completeness"))
    rows = []
    for t in np.round(np.arange(0.10, 0.91, 0.02), 2):
        for auto in np.round(np.arange(0.50, 0.99, 0.04), 2):
            for check in np.round(np.arange(0.20, auto + 1e-9, 0.08), 2):
                share, acc = _outcome(p, y, comp, policy, float(t), float(auto), float(check), min_margin)
                rows.append(
                    {
                        "threshold": float(t),
                        "auto_confidence": float(auto),
                        "check_confidence": float(check),
                        "review_share": share,
                        "accuracy": acc,
                    }
                )
    return rows


def _preference(row: dict) -> tuple:
    """Most accurate first; then less review; then the stricter automatic band."""
    return round(row["accuracy"], 4), -round(row["review_share"], 4), row["auto_confidence"], row["check_confidence"]


def propose(heldout: dict, policy: Policy, budget: float, min_margin: float | None = None) -> dict:
    """The most accurate automatic decisions whose review share stays within `budget`, plus the trade-off table."""
    rows = [r for r in grid(heldout, policy, min_margin) if np.isfinite(r["accuracy"])]
    within = [r for r in rows if r["review_share"] <= budget + 1e-9]
    if not within:
        raise ValueError(f"no setting keeps review within {budget:.0%} on the held-out leads")
    best = max(within, key=_preference)
    table = []
    for share in SHARES:
        ok = [r for r in rows if r["review_share"] <= share + 1e-9]
        if ok:
            top = max(ok, key=_preference)
            table.append({"review_budget": share, **top, "coverage": 1 - top["review_share"]})
    p, y, comp = (np.asarray(heldout[k], float) for k in ("p", "y", "completeness"))
    current_share, current_acc = _outcome(
        p,
        y,
        comp,
        policy,
        policy.scoring.qualify_threshold,
        policy.routing.auto_confidence,
        policy.routing.check_confidence,
        min_margin,
    )
    current = {
        "threshold": policy.scoring.qualify_threshold,
        "auto_confidence": policy.routing.auto_confidence,
        "check_confidence": policy.routing.check_confidence,
        "review_share": current_share,
        "accuracy": current_acc,
    }
    return {"budget": budget, "proposal": best, "current": current, "table": table, "leads": len(p)}


def _set(text: str, section: str, key: str, value: float) -> str:
    """Replace `key:` inside `section:` of the YAML text, keeping every comment and the layout."""
    block = re.search(rf"(?ms)^{section}:\n(.*?)(?=^\S|\Z)", text)
    if block is None:
        raise ValueError(f"the policy file has no '{section}:' section")
    body, n = re.subn(rf"(?m)^(\s+{key}:\s*)[0-9.]+", lambda m: f"{m.group(1)}{value:g}", block.group(1), count=1)
    if not n:
        raise ValueError(f"the policy file has no {section}.{key}")
    return text[: block.start(1)] + body + text[block.end(1) :]


def write_candidate(policy_path: Path, proposal: dict, version: str, out: Path, tiers: dict | None = None) -> Path:
    """A copy of the live policy with the proposed keys changed (and its version marked), for `policy simulate`.

    `tiers` ({tier: proposal}) sets each tier's qualify_threshold and bands too (the tiers override the
    global keys in routing); a set model.qualify_threshold would override them for a model, so it is nulled.
    """
    text = Path(policy_path).read_text(encoding="utf-8")
    text = _set(text, "scoring", "qualify_threshold", proposal["threshold"])
    text = _set(text, "routing", "auto_confidence", proposal["auto_confidence"])
    text = _set(text, "routing", "check_confidence", proposal["check_confidence"])
    for name, tier in (tiers or {}).items():
        text = set_tier_keys(
            text,
            name,
            {
                "qualify_threshold": tier["threshold"],
                "auto_confidence": tier["auto_confidence"],
                "check_confidence": tier["check_confidence"],
            },
        )
    if tiers:
        text = re.sub(
            r"(?m)^(model:\n(?:[ ]+[^\n]*\n|\n)*?[ ]+qualify_threshold:[ ]*)[0-9.]+", r"\1null", text, count=1
        )
    text, _n = re.subn(
        r'(?m)^version:\s*"?([^"\n]*)"?', lambda m: f'version: "{m.group(1)}+thresholds-{version}"', text, count=1
    )
    out = Path(out)
    out.write_text(text, encoding="utf-8")
    load_policy(out)  # the candidate must itself be a valid policy
    return out


def _tier_block(text: str) -> tuple[int, int]:
    """Start and end offsets of routing.tiers' list in the YAML text."""
    routing = re.search(r"(?ms)^routing:\n(.*?)(?=^\S|\Z)", text)
    if routing is None:
        raise ValueError("the policy file has no 'routing:' section")
    tiers = re.search(r"(?ms)^([ ]+)tiers:[^\n]*\n(.*?)(?=^\1\S|^\S|\Z)", text[routing.start(1) : routing.end(1)])
    if tiers is None:
        raise ValueError("the policy file has no routing.tiers list (add the tiers before a per-tier candidate)")
    return routing.start(1) + tiers.start(2), routing.start(1) + tiers.end(2)


def set_tier_keys(text: str, name: str, values: dict[str, float]) -> str:
    """Set `key: value` lines inside the tier item `- name: <name>`, inserting missing keys, comments kept."""
    start, end = _tier_block(text)
    block = text[start:end]
    item = re.search(rf"(?ms)^([ ]*)- name:\s*{re.escape(name)}\b[^\n]*\n(.*?)(?=^\1- |\Z)", block)
    if item is None:
        raise ValueError(f"the policy file's routing.tiers has no tier {name!r} written as '- name: {name}'")
    body = item.group(2)
    indent = item.group(1) + "  "
    for key, value in values.items():
        body, n = re.subn(
            rf"(?m)^([ ]+{key}:[ ]*)[0-9.]+", lambda m, value=value: f"{m.group(1)}{value:g}", body, count=1
        )
        if not n:
            body = f"{indent}{key}: {value:g}\n" + body
    block = block[: item.start(2)] + body + block[item.end(2) :]
    return text[:start] + block + text[end:]
