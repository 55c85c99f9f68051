"""Where people overrode the machine: the input to reviewing what the prompt, policy or model should learn.

An override is a decided review item whose human decision goes against the machine's leaning: the
`qualified` flag of the score the item was opened on (as `review_metrics` counts it) — approved what
the machine would not have synced, or rejected what it would have. Grouped by the reason the item
was queued for, its tier, and the policy and model (scorer) version; exported as CSV that a
spreadsheet cannot execute.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

import duckdb

from leadgate.store.sql import dict_rows

APPROVED_OVER = "approved_over_machine"  # machine: not qualified; person: approved
REJECTED_OVER = "rejected_over_machine"  # machine: qualified; person: rejected
GROUP_KEYS = ("kind", "reason_code", "tier", "policy_version", "model_version")
CSV_COLUMNS = (
    "item_id",
    "lead_id",
    "kind",
    "reason_codes",
    "reject_reason",
    "tier",
    "policy_version",
    "model_version",
    "score",
    "confidence",
    "reviewer",
    "decided_at",
    "note",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

OVERRIDES_SQL = """
select i.item_id, i.lead_id,
       case when i.status = 'approved' then 'approved_over_machine' else 'rejected_over_machine' end as kind,
       i.reason_codes, i.reject_reason, i.tier, i.policy_version,
       coalesce(s.model_version, s.scorer || ' ' || s.scorer_version) as model_version,
       i.score, i.confidence, i.reviewer, i.decided_at, i.note
from review.items i left join scoring.scores s on s.score_id = i.score_id
where i.decided_at is not null
  and ((i.status = 'approved' and coalesce(s.qualified, i.score >= cast(? as double)) = false)
    or (i.status = 'rejected' and coalesce(s.qualified, i.score >= cast(? as double)) = true))
  and (?::timestamptz is null or i.decided_at >= ?::timestamptz)
order by i.decided_at desc, i.item_id desc
"""


def list_overrides(
    con: duckdb.DuckDBPyConnection, *, threshold: float | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Every override, newest first (the machine's leaning without a score flag: score >= threshold)."""
    return dict_rows(con, OVERRIDES_SQL, [threshold, threshold, since, since])


def group_overrides(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counts per (kind, reason code, tier, policy version, model version); an item counts once per reason code."""
    counts: Counter[tuple] = Counter()
    for row in rows:
        for code in row.get("reason_codes") or [None]:
            counts[(row["kind"], code, row.get("tier"), row.get("policy_version"), row.get("model_version"))] += 1
    return [
        dict(zip(GROUP_KEYS, key), count=n)
        for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], [str(k) for k in kv[0]]))
    ]


def neutralise_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet reads as text, never a formula (leading = + - @ tab CR get a quote)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.lstrip(" \u00a0")[:1] in _FORMULA_START or text[:1] in _FORMULA_START else text


def overrides_csv(rows: list[dict[str, Any]]) -> str:
    """The overrides as CSV (one row per item), every text cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([neutralise_cell(row.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()
