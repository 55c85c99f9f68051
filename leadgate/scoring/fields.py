"""Column helpers and labels shared by the scorers, the range rule and routing (below all of them: no cycles)."""

from __future__ import annotations

import numpy as np
import pandas as pd

# How a seniority level reads in a reviewer's reasons.
SENIORITY_LABELS = {
    "c_level": "C-level title",
    "vp": "VP-level title",
    "director": "director-level title",
    "manager": "manager-level title",
    "individual": "individual-contributor title",
    "unknown": "seniority unknown",
}


def per_value(series: pd.Series, fn, missing):
    """Apply `fn` to each distinct value (hash-factorised) instead of to every row."""
    codes, mapped = per_value_codes(series, fn, missing)
    return mapped[codes]


def per_value_codes(series: pd.Series, fn, missing) -> tuple[np.ndarray, np.ndarray]:
    """(each row's code, `fn` of each distinct value): `mapped[codes]` is per_value's result, code -1 `missing`."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in np.asarray(uniques, dtype=object).tolist()] + [missing], dtype=object)
    return codes, mapped  # code -1 (missing) picks the trailing `missing`


def is_blank(series: pd.Series) -> np.ndarray:
    """True where a value is missing or an empty/whitespace string."""
    if isinstance(series.dtype, pd.StringDtype):  # only str or missing: one pass, no hashing of (often unique) texts
        # a byte per value, 1 where something is left once stripped: built in C, read as booleans; first over
        # the values as they are (no copy, no missing-value scan), and only when one is missing with it read as ""
        try:
            kept = bytes(map(bool, map(str.strip, series.to_numpy(dtype=object).tolist())))
        except TypeError:
            kept = bytes(map(bool, map(str.strip, series.to_numpy(dtype=object, na_value="").tolist())))
        return np.frombuffer(kept, dtype=bool) == 0
    return per_value(series, lambda v: isinstance(v, str) and not v.strip(), True).astype(bool)
