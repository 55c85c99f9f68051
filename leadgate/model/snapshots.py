"""The feature vector each lead was scored with, and training rows taken as of each outcome's close."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from leadgate.model import attributes
from leadgate.shared.lead_fields import IDENTIFYING_FIELDS

# Identities, personal data and free text never enter a snapshot (and so never a model).
EXCLUDED = frozenset(
    {"lead_id", *IDENTIFYING_FIELDS, "account_id", "target_account_name", "latest_message", "feature_hash"}
)
AGE_SUFFIX = "_age_days"


def snapshot_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(column, DuckDB type) of marts.lead_features that a snapshot keeps."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'lead_features' order by ordinal_position"
    ).fetchall()
    return [(c, t) for c, t in rows if c not in EXCLUDED]


def _expr(column: str, dtype: str) -> tuple[str, str]:
    name = '"' + column.replace('"', '""') + '"'
    if dtype.startswith("TIMESTAMP") or dtype == "DATE":
        # an instant becomes its age at scoring time: the model never sees calendar dates
        return column + AGE_SUFFIX, f"round(date_diff('second', f.{name}::timestamptz, b.scored_at) / 86400.0, 3)"
    if dtype == "BOOLEAN":
        return column, f"f.{name}::int"
    if dtype.endswith("[]"):
        return column, f"array_to_string(list_sort(f.{name}), ',')"
    return column, f"f.{name}"


def record_feature_snapshots(con: duckdb.DuckDBPyConnection, batch: str) -> None:
    """Snapshot marts.lead_features for the scores in the registered relation `batch` (same lead and feature hash)."""
    columns = snapshot_columns(con)
    if not columns:
        return
    pairs = [_expr(c, t) for c, t in columns]
    struct = ", ".join(f"'{alias.replace(chr(39), chr(39) * 2)}': {expr}" for alias, expr in pairs)
    last_touch = "f.last_touch_at::timestamptz" if any(c == "last_touch_at" for c, _ in columns) else "null"
    # Column names come from information_schema (quoted above); values are never spliced in.
    con.execute(
        f"""
        insert into scoring.feature_snapshots (score_id, lead_id, scored_at, feature_hash, last_touch_at, completeness, features)
        select b.score_id, b.lead_id, b.scored_at, b.feature_hash, {last_touch}, b.completeness, to_json({{{struct}}})
        -- an LLM score row shares its run's snapshot with the baseline row of the same lead
        from (select * from {batch} where scorer <> 'llm' qualify row_number() over (partition by lead_id order by score_id) = 1) b
        join marts.lead_features f on f.lead_id = b.lead_id and f.feature_hash = b.feature_hash
        """
    )


def snapshot_features(frame: pd.DataFrame, now) -> pd.DataFrame:
    """The snapshot's view of lead_features rows scored at `now`, computed in memory (the same rules as the SQL)."""
    out = {}
    stamp = pd.Timestamp(now).tz_convert("UTC")
    for col in frame.columns:
        if col in EXCLUDED:
            continue
        series = frame[col]
        if col == attributes.COLUMN:
            out |= attributes.expand(series).to_dict("series")
        elif pd.api.types.is_datetime64_any_dtype(series):
            ts = pd.to_datetime(series, utc=True)
            out[col + AGE_SUFFIX] = ((stamp - ts).dt.total_seconds() / 86400.0).round(3)
        elif pd.api.types.is_bool_dtype(series):
            out[col] = series.astype(float)
        elif series.dtype == object:
            first = series.dropna().iloc[0] if series.notna().any() else None
            if isinstance(first, (bool, np.bool_)):  # a boolean column with nulls
                out[col] = pd.to_numeric(series.map(lambda v: None if v is None else float(v)), errors="coerce")
            elif isinstance(first, (list, tuple, np.ndarray)):
                out[col] = series.map(lambda v: ",".join(sorted(map(str, v))) if v is not None else None)
            else:
                out[col] = series
        else:
            out[col] = series
    return pd.DataFrame(out, index=frame.index)


def features_frame(features_json: pd.Series) -> pd.DataFrame:
    """Snapshot JSON texts as a frame: numbers stay numeric, text is categorical, null is missing."""
    frame = pd.DataFrame.from_records([json.loads(t) for t in features_json.tolist()], index=features_json.index)
    if attributes.COLUMN in frame:
        frame = frame.drop(columns=attributes.COLUMN).join(attributes.expand(frame[attributes.COLUMN]))
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            converted = pd.to_numeric(frame[col], errors="coerce")
            # a column of numbers that arrived as text (JSON from a list import) is numeric
            if converted.notna().sum() == frame[col].notna().sum() and frame[col].notna().any():
                frame[col] = converted
    return frame


def training_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per lead with an outcome: its latest snapshot scored at or before the outcome's close.

    A snapshot whose latest event (last_touch_at) is after the close is never used either, so no event
    after an outcome's date can enter its row. Without closed_at the time the outcome was recorded bounds it.
    A lead never scored that came from a lead list falls back to its list record imported before the close:
    a list record has no events, so it is what was known of the lead when it was imported.
    """
    rows = con.execute(
        f"""
        with snapshot as (
            select o.lead_id, o.converted, coalesce(o.closed_at, o.recorded_at) as cutoff, o.closed_at,
                   s.score_id, s.scored_at, s.completeness, s.features
            from scoring.outcomes o
            join scoring.feature_snapshots s on s.lead_id = o.lead_id
            where s.scored_at <= coalesce(o.closed_at, o.recorded_at)
              and (s.last_touch_at is null or s.last_touch_at <= coalesce(o.closed_at, o.recorded_at))
            qualify row_number() over (partition by o.lead_id order by s.scored_at desc, s.score_id desc) = 1
        ),
        listed as ({LIST_RECORD_FEATURES})
        select * from snapshot
        union all
        select * from listed where lead_id not in (select lead_id from snapshot)
        order by lead_id
        """
    ).df()
    return rows


def untrained_outcomes(con: duckdb.DuckDBPyConnection, trained: pd.Series) -> str:
    """Why recorded outcomes have no training row (`trained`: the lead ids that have one), for `model train`'s refusal.

    '' when there is nothing to explain (no outcomes, or every one has a row).
    """
    leads = con.execute(
        "select o.lead_id, coalesce(o.closed_at, o.recorded_at) as cutoff,"
        " exists (select 1 from scoring.feature_snapshots s where s.lead_id = o.lead_id) as scored"
        " from scoring.outcomes o"
    ).df()
    missing = leads[~leads["lead_id"].isin(trained)]
    if missing.empty:
        return ""
    late = int(missing["scored"].sum())
    parts = [f"{len(leads)} outcomes recorded, {len(missing)} with no score or list record from before the close"]
    if len(missing) > late:
        parts.append(f"{len(missing) - late} for leads never scored")
    if late:
        closes = pd.to_datetime(missing.loc[missing["scored"], "cutoff"])
        parts.append(
            f"{late} for leads scored only after the outcome closed (a later score could carry later events into "
            f"training; these close from {closes.min():%Y-%m-%d %H:%M} to {closes.max():%Y-%m-%d %H:%M}): to learn "
            "from older outcomes, score their events as of a time before the closes (LEADGATE_AS_OF=<ISO time> leadgate run)"
        )
    return "; ".join(parts)


# The list record's firmographics under the names a snapshot gives them, and its custom attributes as
# one JSON object built like marts.lead_features.custom_attributes (numbers as numbers, the rest as text).
LIST_RECORD_FEATURES = """
    select o.lead_id, o.converted, coalesce(o.closed_at, o.recorded_at) as cutoff, o.closed_at,
           null::bigint as score_id, r.imported_at as scored_at, null::double as completeness,
           to_json({
               'industry': r.industry, 'country': r.country, 'company_size': r.company_size,
               'company_size_min': r.company_size_min, 'company_size_max': r.company_size_max,
               'custom_attributes': (
                   select to_json(map_from_entries(list({
                       'k': a.name,
                       'v': case when a.kind = 'numeric' then to_json(a.value_num) else to_json(a.value_text) end
                   } order by a.name)))
                   from raw.lead_attributes a where a.key_column = r.key_column and a.list_key = r.list_key
               )
           })::varchar as features
    from scoring.outcomes o
    join raw.lead_list_records r on r.lead_id = o.lead_id and r.imported_at <= coalesce(o.closed_at, o.recorded_at)
    qualify row_number() over (partition by o.lead_id order by r.imported_at desc, r.list_key desc) = 1
"""


def protected_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The columns outcome imports named (outcome, its date, the key): never a feature, whatever their values."""
    reasons = {
        "outcome": "the outcome itself (import outcomes --outcome): leakage",
        "closed_at": "the outcome's date (import outcomes --closed-at): known only after the outcome",
        "key": "the key outcomes were imported by (import outcomes --key): an identifier",
    }
    out: dict[str, str] = {}
    for (options,) in con.execute("select options from scoring.outcome_imports order by imported_at").fetchall():
        for option, column in json.loads(options).items():
            if option in reasons and column:
                out.setdefault(column, reasons[option])
    return out


def outcome_coverage(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Outcomes on record, and how many have a usable decision snapshot."""
    total = con.execute("select count(*), coalesce(sum(converted::int), 0) from scoring.outcomes").fetchone()
    usable = len(training_rows(con))
    return {
        "outcomes": int(total[0]),
        "converted": int(total[1]),
        "with_snapshot": usable,
        "without_snapshot": int(total[0]) - usable,
    }
