"""The quality gate: a Great Expectations suite (JSON in expectations/) run on every scored batch.

The suite runs in an ephemeral GX context on the batch as a DataFrame, so no GX project state is
written anywhere. Expectations whose `meta.level` is `row` send the failing leads to review (by
lead id) and count toward `gate.max_failed_share`; `batch` expectations (one row per lead, a lead
id on every row) flag a structural fault and block the whole batch when they fail. The CRM-required
not-null checks follow `policy.crm.required_fields` and apply to qualified leads only (score >=
threshold): a nurtured lead never reaches the CRM, and leads without a last name are common enough
that checking every lead would block every batch. GX is imported on first use only (~6 s).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from leadgate.config import EXPECTATIONS_DIR
from leadgate.policy import Policy
from leadgate.scoring.fields import is_blank
from leadgate.store.sql import registered

RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["lead_id"]}
NOT_NULL = "expect_column_values_to_not_be_null"
QUALIFIED_ONLY = "qualified==True"  # GX pandas row condition: only leads that would go to the CRM


class GateError(ValueError):
    """The suite file or the batch handed to the gate is unusable."""


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str  # type(column), e.g. expect_column_values_to_not_be_null(last_name)
    expectation_type: str
    column: str | None
    level: str  # row | batch
    description: str
    success: bool
    unexpected_count: int
    failing_lead_ids: tuple[str, ...]
    error: str | None = None


@dataclass(frozen=True)
class GateResult:
    batch_id: str
    suite: str
    element_count: int
    expectations: tuple[ExpectationOutcome, ...]
    failed_leads: dict[str, list[str]]  # lead_id -> names of the expectations it failed
    failed_share: float
    blocked: bool
    blocked_reasons: tuple[str, ...] = ()
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    def describe(self, name: str) -> str:
        """The plain-language description of an expectation, for review summaries."""
        for outcome in self.expectations:
            if outcome.name == name:
                return outcome.description
        return name

    def rows(self) -> list[dict[str, Any]]:
        """One quality.validations row per expectation."""
        return [
            {
                "batch_id": self.batch_id,
                "suite": self.suite,
                "expectation": o.name,
                "success": o.success,
                "element_count": self.element_count,
                "unexpected_count": o.unexpected_count,
                "unexpected_lead_ids": json.dumps(list(o.failing_lead_ids)),
                "batch_failed_share": self.failed_share,
                "batch_blocked": self.blocked,
                "validated_at": self.validated_at,
            }
            for o in self.expectations
        ]


def expectation_name(expectation_type: str, column: str | None) -> str:
    return f"{expectation_type}({column})" if column else expectation_type


def suite_path(policy: Policy) -> Path:
    return EXPECTATIONS_DIR / f"{policy.gate.suite}.json"


def load_suite(policy: Policy, path: Path | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The suite's name and expectation configs (type, kwargs, meta), CRM checks per the policy."""
    path = Path(path) if path is not None else suite_path(policy)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateError(f"expectation suite not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise GateError(f"expectation suite {path} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("expectations"), list) or not spec.get("name"):
        raise GateError(f"expectation suite {path} needs a `name` and a list of `expectations`")
    required = list(policy.crm.required_fields)
    configs: list[dict[str, Any]] = []
    for raw in spec["expectations"]:
        meta = dict(raw.get("meta") or {})
        column = (raw.get("kwargs") or {}).get("column")
        # CRM-required checks follow the policy: drop ones it no longer requires.
        if meta.get("crm_required") and column not in required:
            continue
        configs.append({"type": raw["type"], "kwargs": dict(raw.get("kwargs") or {}), "meta": meta})
    covered = {c["kwargs"].get("column") for c in configs if c["type"] == NOT_NULL}
    for column in required:
        if column not in covered:
            configs.append(
                {
                    "type": NOT_NULL,
                    "kwargs": {"column": column, "row_condition": QUALIFIED_ONLY, "condition_parser": "pandas"},
                    "meta": {
                        "level": "row",
                        "crm_required": True,
                        "description": f"a qualified lead lacks the {column.replace('_', ' ')} the CRM requires",
                    },
                }
            )
    for c in configs:
        c["meta"].setdefault("level", "row")
        if c["meta"]["level"] not in ("row", "batch"):
            raise GateError(
                f"expectation suite {path}: meta.level must be 'row' or 'batch', got {c['meta']['level']!r}"
            )
        c["meta"]["name"] = expectation_name(c["type"], c["kwargs"].get("column"))
        c["meta"].setdefault("description", c["meta"]["name"])
    return spec["name"], configs


def _batch_frame(frame: pd.DataFrame, configs: list[dict[str, Any]], threshold: float) -> pd.DataFrame:
    """Only the columns the suite reads, blank strings as missing, and `qualified` (score >= threshold)."""
    columns = list(
        dict.fromkeys(["lead_id", "score", *(c["kwargs"]["column"] for c in configs if "column" in c["kwargs"])])
    )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GateError(f"the scored batch lacks columns the gate checks: {', '.join(missing)}")
    data = frame[columns].reset_index(drop=True).copy()
    for column in columns:
        series = data[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            data[column] = series.astype(object).where(~is_blank(series), None)
    # Same rule as routing; a plain bool so GX's row condition never meets a missing value.
    data["qualified"] = (pd.to_numeric(data["score"], errors="coerce") >= threshold).fillna(False).astype(bool)
    return data


def _run_gx(data: pd.DataFrame, suite_name: str, configs: list[dict[str, Any]], batch_id: str):
    import great_expectations as gx  # slow (~2 s): only when a batch is validated, cached by Python after
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    # "Created temporary directory ... for ephemeral docs site" is noise in run logs (GX sets this one
    # module's logger to INFO itself).
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("leadgate")
    asset = source.add_dataframe_asset(f"scored_leads_{batch_id}")
    batch = asset.add_batch_definition_whole_dataframe("whole_batch").get_batch(batch_parameters={"dataframe": data})
    suite = ExpectationSuite(name=suite_name, expectations=[ExpectationConfiguration(**c) for c in configs])
    return batch.validate(suite, result_format=RESULT_FORMAT)


def _lead_ids(index_list: list[dict[str, Any]] | None) -> tuple[str, ...]:
    ids = (row.get("lead_id") for row in index_list or [])
    return tuple(dict.fromkeys(i for i in ids if isinstance(i, str)))


def validate_batch(frame: pd.DataFrame, policy: Policy, *, batch_id: str, suite: Path | None = None) -> GateResult:
    """Run the suite on a scored batch (one row per lead) and decide whether the batch is blocked."""
    suite_name, configs = load_suite(policy, suite)
    if frame.empty:
        return GateResult(batch_id, suite_name, 0, (), {}, 0.0, False)
    started = time.perf_counter()
    from leadgate.routing.tiers import for_model, model_decided

    threshold = (for_model(policy) if model_decided(frame) else policy).scoring.qualify_threshold
    data = _batch_frame(frame, configs, threshold)
    validation = _run_gx(data, suite_name, configs, batch_id)
    by_name = {c["meta"]["name"]: c for c in configs}
    outcomes: list[ExpectationOutcome] = []
    for result in validation.results:
        meta = result.expectation_config.meta or {}
        config = by_name.get(meta.get("name"))
        if config is None:
            continue
        info = result.exception_info or {}
        error = info.get("exception_message") if info.get("raised_exception") else None
        details = result.result or {}
        outcomes.append(
            ExpectationOutcome(
                name=meta["name"],
                expectation_type=config["type"],
                column=config["kwargs"].get("column"),
                # An expectation that could not run says nothing about single rows: hold the batch.
                level="batch" if error else meta["level"],
                description=meta["description"],
                success=bool(result.success) and error is None,
                unexpected_count=int(details.get("unexpected_count") or 0),
                failing_lead_ids=_lead_ids(details.get("unexpected_index_list")),
                error=error,
            )
        )
    outcomes.sort(key=lambda o: [c["meta"]["name"] for c in configs].index(o.name))
    failed: dict[str, list[str]] = {}
    for outcome in outcomes:
        for lead_id in outcome.failing_lead_ids:
            failed.setdefault(lead_id, []).append(outcome.name)
    share = len(failed) / len(data)
    reasons = [f"{o.name} failed: {o.error or o.description}" for o in outcomes if o.level == "batch" and not o.success]
    if share > policy.gate.max_failed_share:
        reasons.append(f"{share:.1%} of the batch failed a check (limit {policy.gate.max_failed_share:.1%})")
    return GateResult(
        batch_id=batch_id,
        suite=suite_name,
        element_count=len(data),
        expectations=tuple(outcomes),
        failed_leads=failed,
        failed_share=share,
        blocked=bool(reasons),
        blocked_reasons=tuple(reasons),
        seconds=time.perf_counter() - started,
    )


def record_validations(con: duckdb.DuckDBPyConnection, result: GateResult, run_id: str | None) -> int:
    """Append one quality.validations row per expectation of `result`."""
    rows = result.rows()
    if not rows:
        return 0
    with registered(con, _validations=pd.DataFrame(rows)):
        con.execute(
            """
            insert into quality.validations (run_id, batch_id, suite, expectation, success, element_count,
                unexpected_count, unexpected_lead_ids, batch_failed_share, batch_blocked, validated_at)
            select ?, batch_id, suite, expectation, success, element_count, unexpected_count,
                   unexpected_lead_ids::json, batch_failed_share, batch_blocked, validated_at
            from _validations
            """,
            [run_id],
        )
    return len(rows)
