"""Any tabular features into model inputs: numeric vs categorical by dtype, missing values kept, as plain JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd

OTHER, MISSING = "__other__", "__missing__"
MIN_COUNT = 5  # a category seen fewer times in training is "other"
MAX_LEVELS = 60  # beyond this the rarest levels are "other" too
ID_LIKE_SHARE = 0.5  # a text column with more distinct values than this share of rows is an identifier


def build_spec(frame: pd.DataFrame) -> dict:
    """Learn the encoding from training rows: medians, scales and log flags for numbers, vocabularies for text."""
    numeric, categorical, dropped = [], [], []
    n = len(frame)
    for col in frame.columns:
        series = frame[col]
        if series.notna().sum() == 0 or series.nunique(dropna=False) <= 1:
            dropped.append(col)
            continue
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            x = pd.to_numeric(series, errors="coerce").astype(float)
            finite = x[np.isfinite(x)]
            # counts and durations are heavy-tailed: a non-negative column with a long tail is logged
            log = bool(len(finite) and finite.min() >= 0 and finite.quantile(0.99) > 10)
            t = np.log1p(finite) if log else finite
            numeric.append(
                {
                    "name": col,
                    "median": float(t.median()),
                    "mean": float(t.mean()),
                    "scale": float(t.std()) or 1.0,
                    "log": log,
                    "missing": bool(x.isna().any()),
                    "binary": bool(set(finite.unique().tolist()) <= {0.0, 1.0}),
                }
            )
        else:
            text = series.astype("string").str.strip()
            counts = text.value_counts()
            if len(counts) > max(MAX_LEVELS, ID_LIKE_SHARE * n):
                dropped.append(col)
                continue
            levels = [str(v) for v, c in counts.items() if c >= MIN_COUNT][:MAX_LEVELS]
            categorical.append({"name": col, "values": [*levels, OTHER, MISSING]})
    return {"numeric": numeric, "categorical": categorical, "dropped": dropped}


def numbers(frame: pd.DataFrame, spec: dict, out: np.ndarray | None = None) -> np.ndarray:
    """Transformed (log where flagged) numbers; NaN where missing or the column is absent (into `out`)."""
    out = np.empty((len(frame), len(spec["numeric"]))) if out is None else out
    for j, s in enumerate(spec["numeric"]):
        if s["name"] not in frame:
            out[:, j] = np.nan
        else:
            x = pd.to_numeric(frame[s["name"]], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            x = np.where(np.isfinite(x), x, np.nan)
            out[:, j] = np.log1p(np.clip(x, 0, None)) if s["log"] else x
    return out


def category_codes(frame: pd.DataFrame, spec: dict, out: np.ndarray | None = None) -> np.ndarray:
    """Integer code per categorical column: its vocabulary index, `other` for unseen values, `missing` for blanks.

    Into `out` if given (any numeric dtype: the trees read the codes as floats)."""
    out = np.empty((len(frame), len(spec["categorical"])), dtype=np.int32) if out is None else out
    for j, s in enumerate(spec["categorical"]):
        values = s["values"]
        other, missing = len(values) - 2, len(values) - 1
        if s["name"] not in frame:
            out[:, j] = missing
            continue
        # map each distinct value once (hash-factorised), not every row
        codes, uniques = pd.factorize(frame[s["name"]], use_na_sentinel=True)
        index = {v: i for i, v in enumerate(values[:-2])}
        mapped = [missing if not str(u).strip() else index.get(str(u).strip(), other) for u in uniques.tolist()]
        out[:, j] = np.asarray(mapped + [missing], dtype=np.int32)[codes]
    return out


def tree_matrix(frame: pd.DataFrame, spec: dict) -> np.ndarray:
    """Numbers as they are (NaN = missing) followed by category codes, for LightGBM (one matrix, filled in place)."""
    n = len(spec["numeric"])
    out = np.empty((len(frame), n + len(spec["categorical"])))
    numbers(frame, spec, out[:, :n])
    category_codes(frame, spec, out[:, n:])
    return out


def tree_blocks(x: np.ndarray, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """A `tree_matrix` back as (numbers, category codes as floats): views, no copies."""
    n = len(spec["numeric"])
    return x[:, :n], x[:, n:]


def linear_numeric(frame: pd.DataFrame, spec: dict) -> np.ndarray:
    """Scaled numbers (missing = median) each followed by its missing indicator where training had missing values."""
    x = numbers(frame, spec)
    parts = []
    for j, s in enumerate(spec["numeric"]):
        col = x[:, j]
        miss = np.isnan(col)
        parts.append(np.clip((np.where(miss, s["median"], col) - s["mean"]) / s["scale"], -5, 5))
        if s["missing"]:
            parts.append(miss.astype(float))
    return np.column_stack(parts) if parts else np.zeros((len(frame), 0))


def linear_matrix(frame: pd.DataFrame, spec: dict) -> np.ndarray:
    """Scaled numbers and one-hot categories, for fitting the logistic model."""
    codes = category_codes(frame, spec)
    parts = [linear_numeric(frame, spec)]
    for j, s in enumerate(spec["categorical"]):
        onehot = np.zeros((len(frame), len(s["values"])))
        onehot[np.arange(len(frame)), codes[:, j]] = 1.0
        parts.append(onehot)
    return np.hstack(parts)


def linear_groups(spec: dict) -> list[int]:
    """For each linear column, the index of the feature it belongs to (numbers first, then categories)."""
    groups = []
    for j, s in enumerate(spec["numeric"]):
        groups += [j, j] if s["missing"] else [j]
    base = len(spec["numeric"])
    for j, s in enumerate(spec["categorical"]):
        groups += [base + j] * len(s["values"])
    return groups


def feature_names(spec: dict) -> list[str]:
    return [s["name"] for s in spec["numeric"]] + [s["name"] for s in spec["categorical"]]
