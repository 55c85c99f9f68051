"""Behaviour triggers (policy `routing.triggers`): which ones a lead hit, from its `trigger:<name>` counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadgate.policy import Policy


def trigger_hits(frame: pd.DataFrame, policy: Policy) -> list[tuple[str, ...]]:
    """Per lead, the names of the triggers whose count reached min_count (none when the counts are absent)."""
    hits: dict[int, list[str]] = {}
    for t in policy.routing.triggers:
        column = f"trigger:{t.name}"
        if column not in frame.columns:
            continue
        count = pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy(dtype=float)
        for i in np.nonzero(count >= t.min_count)[0].tolist():
            hits.setdefault(i, []).append(t.name)
    none: tuple[str, ...] = ()
    return [tuple(hits[i]) if i in hits else none for i in range(len(frame))]
