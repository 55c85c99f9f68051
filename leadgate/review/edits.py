"""Reviewers' corrections of a lead's fields: validated, recorded beside the original value, read as overrides.

The mart is rebuilt by dbt from raw events on every run, so a correction lives in `review.lead_edits`
and is laid over the features wherever they are read for a decision: the scorer's frame
(`leads_to_score`), the approval's CRM-field check and the CRM payload. The latest edit of a field wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from leadgate.review.errors import ReviewError
from leadgate.store.sql import relation_exists

EDITABLE_FIELDS = ("company_size", "company", "job_title", "country")
MAX_TEXT = 200
_SIZE = re.compile(r"^\s*(\d{1,7})\s*(?:(\+)|-\s*(\d{1,7}))?\s*$")
# The same order and words as dbt's `seniority` macro (dbt_project/macros/leadgate_helpers.sql).
_SENIORITY = (
    ("individual", r"\b(assistant|intern|trainee|working student)\b"),
    ("vp", r"\b(vp|svp|evp|avp|vice[ -]president)\b"),
    (
        "c_level",
        r"\b(chief|ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|cdo|founder|co-founder|cofounder|owner|president"
        r"|managing director|geschäftsführer)\b",
    ),
    ("director", r"\b(director|head)\b"),
    ("manager", r"\b(manager|team lead|leader|supervisor)\b"),
)


def seniority_of(job_title: str | None) -> str:
    """The seniority dbt derives from a job title."""
    if job_title is None:
        return "unknown"
    text = job_title.lower()
    for level, pattern in _SENIORITY:
        if re.search(pattern, text):
            return level
    return "individual"


def size_bounds(size: str) -> tuple[int, int | None]:
    """(min, max) of a company size as ingest reads it: '250', '51-200', '10000+' (max None when open)."""
    m = _SIZE.match(size)
    if not m:
        raise ReviewError(f"company size {size!r} is not a number, a range like 51-200 or an open size like 10000+")
    low = int(m.group(1))
    if m.group(2):
        return low, None
    high = int(m.group(3)) if m.group(3) else low
    if low < 1 or high < low:
        raise ReviewError(f"company size {size!r} is not a valid range (low end first, at least 1)")
    return low, high


def normalise_edit(field: str, value: Any) -> str:
    """The edited value as it is stored, or a one-line ReviewError naming the field and what is wrong."""
    if field not in EDITABLE_FIELDS:
        raise ReviewError(f"field {field!r} cannot be edited: use one of {', '.join(EDITABLE_FIELDS)}")
    text = " ".join(str(value if value is not None else "").split())
    if not text:
        raise ReviewError(f"an edit of {field} needs a value")
    if len(text) > MAX_TEXT:
        raise ReviewError(f"an edit of {field} is longer than {MAX_TEXT} characters")
    if field == "company_size":
        low, high = size_bounds(text)
        return f"{low}+" if high is None else (str(low) if high == low else f"{low}-{high}")
    if field == "country":
        if not re.fullmatch(r"[A-Za-z]{2}", text):
            raise ReviewError(f"country {text!r} must be a two-letter ISO 3166 code such as DE or US")
        return text.upper()
    return text


def parse_edits(pairs: Mapping[str, Any] | None) -> dict[str, str]:
    """Validated edits {field: value}; the first bad one raises."""
    return {f: normalise_edit(f, v) for f, v in (pairs or {}).items()}


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    return relation_exists(con, "review", "lead_edits")


def latest_edits(con: duckdb.DuckDBPyConnection, lead_ids: list[str] | None = None) -> dict[str, dict[str, str]]:
    """lead_id -> {field: latest edited value} (all leads with edits when lead_ids is None)."""
    if not _has_table(con):
        return {}
    rows = con.execute(
        "select lead_id, field, arg_max(edited, edit_id) from review.lead_edits"
        " where ?::varchar[] is null or list_contains(?::varchar[], lead_id) group by lead_id, field",
        [lead_ids, lead_ids],
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for lead_id, field, value in rows:
        found.setdefault(lead_id, {})[field] = value
    return found


def apply_to_row(row: dict[str, Any], edits: Mapping[str, str]) -> dict[str, Any]:
    """A lead_features row (dict) with edits laid over it and the columns derived from them."""
    out = dict(row)
    for field, value in edits.items():
        out[field] = value
        if field == "company_size":
            out["company_size_min"], out["company_size_max"] = size_bounds(value)
        elif field == "job_title":
            out["seniority"] = seniority_of(value)
    return out


def overlay_edits(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (lead_features columns) with every lead's latest edits applied; the same frame when none apply."""
    if frame.empty or "lead_id" not in frame.columns:
        return frame
    edits = latest_edits(con)
    hit = frame["lead_id"].isin(list(edits))
    if not hit.any():
        return frame
    out = frame.copy()
    for index in out.index[hit.to_numpy()]:
        row = apply_to_row(out.loc[index].to_dict(), edits[out.at[index, "lead_id"]])
        for column, value in row.items():
            if column in out.columns:
                if column in ("company_size_min", "company_size_max") and out[column].dtype != object:
                    value = float("nan") if value is None else value
                out.at[index, column] = value
    return out


def record_edits(
    con: duckdb.DuckDBPyConnection,
    lead_id: str,
    item_id: int,
    edits: Mapping[str, str],
    original: Mapping[str, Any],
    reviewer: str,
    decision_uuid: str | None,
    at: datetime,
) -> int:
    """One review.lead_edits row per changed field (inside the caller's transaction); returns how many."""
    n = 0
    for field, value in edits.items():
        before = original.get(field)
        before = None if before is None or (isinstance(before, float) and before != before) else str(before)
        con.execute(
            "insert into review.lead_edits (lead_id, item_id, field, original, edited, reviewer, decision_uuid, edited_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            [lead_id, item_id, field, before, value, reviewer, decision_uuid, at],
        )
        n += 1
    return n


def edits_of(con: duckdb.DuckDBPyConnection, lead_id: str) -> list[dict[str, Any]]:
    """Every recorded edit of a lead, oldest first (field, original, edited, reviewer, edited_at)."""
    if not _has_table(con):
        return []
    cur = con.execute(
        "select field, original, edited, reviewer, edited_at, item_id from review.lead_edits"
        " where lead_id = ? order by edit_id",
        [lead_id],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]
