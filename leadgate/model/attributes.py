"""Custom attributes of imported leads as model features: one `attr:<column>` column each, and the ones left out.

An imported list keeps every unmapped column as a custom attribute (`leadgate import leads`); the mart
and the feature snapshots carry them as one JSON object per lead (`custom_attributes`). Here that object
becomes columns: numbers stay numbers, anything else is a category. A column is left out, with a reason
a person can read, when it is the outcome or its date (leakage), an identifier, email addresses, free
text, always missing or the same on every lead. Those rules read only the columns' values; one more reads
the training leads' labels: a column that reproduces the outcome (a CRM status exported beside it, a
revenue filled only for won deals) is a copy or a consequence of it, never known when a lead is scored.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

PREFIX = "attr:"
COLUMN = "custom_attributes"  # the JSON column of marts.lead_features and the key in a snapshot
MIN_LEADS = 20  # fewer present values say too little about a column's shape to call it an identifier
FREE_TEXT_SHARE = 0.5  # more distinct texts than this share of the leads: nothing repeats enough to learn
FREE_TEXT_WORDS = 3  # a typical value of at least this many words is prose, not a category
EMAIL_SHARE = 0.5
COPY_SHARE = 0.995  # a column that tells the outcome for this share of the training leads is a copy of it
COPY_MIN_PER_CLASS = 10  # fewer converted (or not) leads cannot tell a copy from a strong feature
COPY_MIN_PER_VALUE = 50  # on average per category: rarer ones would "tell" the outcome by being rare
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def is_attribute(column: str) -> bool:
    return column.startswith(PREFIX)


def label(column: str) -> str:
    """The attribute's column name as the imported file spelled it."""
    return column.removeprefix(PREFIX)


def _object(value) -> dict:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, dict):
        return value
    parsed = json.loads(value) if isinstance(value, str) and value.strip() else {}
    return parsed if isinstance(parsed, dict) else {}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _text(v) -> str:
    return f"{v:g}" if _is_number(v) else str(v).strip()


def expand(objects: pd.Series) -> pd.DataFrame:
    """JSON objects (text or dicts; null means none) as `attr:<name>` columns: all-number columns as floats, else text."""
    docs = [_object(v) for v in objects.tolist()]
    names = sorted({k for d in docs for k in d})
    out = {}
    for name in names:
        values = [d.get(name) for d in docs]
        present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
        if present and all(_is_number(v) for v in present):
            out[PREFIX + name] = pd.Series([float(v) if _is_number(v) else math.nan for v in values], dtype=float)
        else:
            # one import typed the column numeric, another categorical: the column is categorical
            texts = [None if v is None or (isinstance(v, str) and not v.strip()) else _text(v) for v in values]
            out[PREFIX + name] = pd.Series(texts, dtype=object)
    frame = pd.DataFrame(out)
    frame.index = objects.index
    return frame


def shape_reason(values: pd.Series) -> str | None:
    """Why a column's values make it no feature (identifier, emails, free text, empty, constant); None to keep it."""
    present = values.dropna()
    numeric = pd.api.types.is_numeric_dtype(present)
    if not numeric:
        present = present.astype(str).str.strip()
        present = present[present != ""]
    n, distinct = len(present), int(present.nunique())
    if n == 0:
        return "always missing"
    if distinct == 1:
        return "the same value on every lead"
    if numeric:
        whole = bool(((present % 1) == 0).all())
        if whole and distinct == n and n >= MIN_LEADS:
            return "identifier: a different whole number on every lead"
        return None
    if present.map(lambda t: bool(_EMAIL.fullmatch(t))).mean() >= EMAIL_SHARE:
        return "email addresses: personal data, never a feature"
    if n >= MIN_LEADS and distinct > FREE_TEXT_SHARE * n:
        if present.str.split().str.len().median() >= FREE_TEXT_WORDS:
            return f"free text: {distinct} different values in {n} leads"
        if distinct == n:
            return "identifier: a different value on every lead"
        return f"too many different values to learn from: {distinct} in {n} leads"
    return None


def exclusions(frame: pd.DataFrame, protected: dict[str, str]) -> dict[str, str]:
    """For each `attr:` column that must not be a feature, why: a protected name (outcome, its date) first, then shape.

    `protected` maps a file's column name (compared ignoring case and spaces at the ends) to the reason.
    """
    folded = {name.strip().casefold(): reason for name, reason in protected.items()}
    out = {}
    for column in frame.columns:
        if not is_attribute(column):
            continue
        reason = folded.get(label(column).strip().casefold()) or shape_reason(frame[column])
        if reason:
            out[column] = reason
    return out


def outcome_copies(frame: pd.DataFrame, y: np.ndarray) -> dict[str, str]:
    """For each `attr:` column that reproduces the outcome `y` on the training leads, why it is left out.

    A category (missing counts as one) copies the outcome when each value stands for one outcome on at
    least COPY_SHARE of the leads; a number when its order (missing first or last) separates them that well.
    """
    y = np.asarray(y, dtype=int)
    n, positives = len(y), int(y.sum())
    if min(positives, n - positives) < COPY_MIN_PER_CLASS:
        return {}
    out = {}
    for column in [c for c in frame.columns if is_attribute(c)]:
        values = frame[column].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(values):
            x = values.to_numpy(dtype=float)
            if not np.isfinite(x).any():
                continue
            lo, hi = np.nanmin(x) - 1, np.nanmax(x) + 1
            tells = max(max(a, 1 - a) for a in (roc_auc_score(y, np.nan_to_num(x, nan=v)) for v in (lo, hi)))
        else:
            keys = values.astype("string").str.strip().fillna("").to_numpy(dtype=object)
            counts = pd.crosstab(keys, y)
            if len(counts) > n / COPY_MIN_PER_VALUE:
                continue
            tells = float(counts.max(axis=1).sum()) / n
        if tells >= COPY_SHARE:
            out[column] = (
                f"tells the outcome for {tells:.1%} of the training leads: a copy or a consequence of it (leakage)"
            )
    return out


def word(column: str, numeric: bool):
    """How a reason names the lead's value: 'Lead Source = Referral', 'TotalVisits = 5', 'City unknown'."""
    name = label(column)

    def worded(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
            return f"{name} unknown"
        return f"{name} = {float(v):g}" if numeric else f"{name} = {str(v).strip()[:40]}"

    return worded
