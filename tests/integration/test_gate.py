"""The quality gate with real Great Expectations on scored DataFrames."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leadgate.config import REPO_DIR
from leadgate.routing.gate import GateError, load_suite, record_validations, validate_batch
from leadgate.routing.rules import route_leads
from leadgate.scoring.baseline import BaselineScorer
from leadgate.store import db
from tests.fixtures.scoring.frames import NOW, lead_features, test_policy

REGEX = "expect_column_values_to_match_regex(email)"
LAST_NAME = "expect_column_values_to_not_be_null(last_name)"
COMPANY = "expect_column_values_to_not_be_null(company)"
EMAIL = "expect_column_values_to_not_be_null(email)"
UNIQUE = "expect_column_values_to_be_unique(lead_id)"
SCORE_RANGE = "expect_column_values_to_be_between(score)"
BAD_LEADS = {"ld_bad_email", "ld_no_last", "ld_no_company"}
QUALIFIED = 0.8  # a score above the 0.55 threshold: the lead would go to the CRM


@pytest.fixture(scope="module")
def policy():
    return test_policy()


@pytest.fixture(scope="module")
def scored_batch(policy) -> pd.DataFrame:
    """The fixture leads scored and joined with their features, as the pipeline hands them to the gate."""
    features = lead_features()
    scored = BaselineScorer(policy).score(features, NOW)
    return features.drop(columns=["feature_hash"]).merge(scored, on="lead_id")


@pytest.fixture(scope="module")
def clean_batch(scored_batch) -> pd.DataFrame:
    """40 leads that pass every check (clean fixture rows under new lead ids)."""
    clean = scored_batch[~scored_batch["lead_id"].isin(BAD_LEADS)]
    copies = [clean.assign(lead_id=clean["lead_id"] + f"_{n}", email=f"n{n}." + clean["email"]) for n in range(4)]
    return pd.concat(copies, ignore_index=True).iloc[:40]


@pytest.fixture(scope="module")
def fixture_gate(scored_batch, policy):
    return validate_batch(scored_batch, policy, batch_id="run1-b1")  # imports GX once for the module


def test_bad_email_and_missing_fields_fail_the_right_leads(fixture_gate):
    assert fixture_gate.failed_leads == {"ld_bad_email": [REGEX], "ld_no_last": [LAST_NAME]}
    by_name = {o.name: o for o in fixture_gate.expectations}
    assert by_name[REGEX].failing_lead_ids == ("ld_bad_email",) and not by_name[REGEX].success
    assert by_name[LAST_NAME].unexpected_count == 1
    assert by_name[EMAIL].success and by_name[UNIQUE].success
    # ld_no_company has no company but scores far below the threshold: it never goes to the CRM
    assert by_name[COMPANY].success


def test_more_than_the_allowed_share_failing_blocks_the_batch(fixture_gate, scored_batch):
    assert fixture_gate.element_count == len(scored_batch) == 13
    assert fixture_gate.failed_share == pytest.approx(2 / 13)
    assert fixture_gate.blocked
    assert "limit 5.0%" in fixture_gate.blocked_reasons[0]


def test_a_share_at_the_limit_passes_and_above_blocks(clean_batch, scored_batch, policy):
    bad = scored_batch[scored_batch["lead_id"].isin(["ld_bad_email", "ld_no_last"])]
    at_limit = validate_batch(pd.concat([clean_batch.iloc[:38], bad]), policy, batch_id="b-at-limit")
    assert at_limit.failed_share == pytest.approx(0.05) and not at_limit.blocked
    assert set(at_limit.failed_leads) == {"ld_bad_email", "ld_no_last"}
    no_company = clean_batch.iloc[38:39].assign(company=None, score=QUALIFIED)
    above = validate_batch(pd.concat([clean_batch.iloc[:37], bad, no_company]), policy, batch_id="b-above")
    assert above.failed_share == pytest.approx(3 / 40) and above.blocked


def test_clean_batch_passes(clean_batch, policy):
    result = validate_batch(clean_batch, policy, batch_id="b-clean")
    assert result.failed_leads == {} and not result.blocked
    assert all(o.success for o in result.expectations)


def test_blank_text_and_null_email_fail_not_null_not_the_regex(clean_batch, policy):
    batch = clean_batch.copy()
    batch.loc[0, ["last_name", "score"]] = ["   ", QUALIFIED]
    batch.loc[1, ["email", "score"]] = [None, QUALIFIED]  # only a lead bound for the CRM needs an email
    result = validate_batch(batch, policy, batch_id="b-blank")
    lead0, lead1 = batch.loc[0, "lead_id"], batch.loc[1, "lead_id"]
    assert result.failed_leads == {lead0: [LAST_NAME], lead1: [EMAIL]}  # GX skips nulls in the regex check


def test_missing_crm_fields_only_fail_leads_that_would_go_to_the_crm(clean_batch, policy):
    batch = clean_batch.copy()
    batch.loc[0, ["last_name", "company", "score"]] = [None, None, 0.2]
    batch.loc[1, ["last_name", "company", "score"]] = [None, None, QUALIFIED]
    result = validate_batch(batch, policy, batch_id="b-crm")
    assert result.failed_leads == {batch.loc[1, "lead_id"]: [LAST_NAME, COMPANY]}


def test_duplicate_lead_blocks_the_batch_even_when_few_rows_fail(clean_batch, policy):
    batch = pd.concat([clean_batch, clean_batch.iloc[:1]], ignore_index=True)
    result = validate_batch(batch, policy, batch_id="b-dup")
    assert result.blocked and result.failed_share < policy.gate.max_failed_share
    assert result.failed_leads == {clean_batch.loc[0, "lead_id"]: [UNIQUE]}
    assert any(UNIQUE in r for r in result.blocked_reasons)


def test_score_out_of_range_fails_the_lead(clean_batch, policy):
    batch = clean_batch.copy()
    batch.loc[3, "score"] = 1.4
    result = validate_batch(batch, policy, batch_id="b-range")
    assert result.failed_leads == {batch.loc[3, "lead_id"]: [SCORE_RANGE]}


def test_empty_batch_is_not_validated_and_not_blocked(scored_batch, policy):
    result = validate_batch(scored_batch.iloc[:0], policy, batch_id="b-empty")
    assert (result.element_count, result.expectations, result.blocked, result.rows()) == (0, (), False, [])


def test_crm_checks_follow_the_policy(policy):
    data = policy.model_dump()
    data["crm"]["required_fields"] = ["email", "last_name", "phone"]
    names = {c["meta"]["name"] for c in load_suite(type(policy).model_validate(data))[1]}
    assert "expect_column_values_to_not_be_null(phone)" in names
    assert COMPANY not in names and LAST_NAME in names


def test_batch_without_a_checked_column_is_a_clear_error(clean_batch, policy):
    with pytest.raises(GateError, match="last_name"):
        validate_batch(clean_batch.drop(columns=["last_name"]), policy, batch_id="b-cols")


def test_routing_uses_the_gate_verdict(fixture_gate, scored_batch, policy):
    routed = {d.lead_id: d for d in route_leads(scored_batch, fixture_gate, policy)}
    assert routed["ld_bad_email"].reason_codes[0] == f"gate:{REGEX}"
    assert routed["ld_bad_email"].summary.startswith("Failed the data check: the email address is malformed;")
    assert {d.state for lead, d in routed.items() if lead not in BAD_LEADS} == {"pending"}


def test_validations_are_recorded(fixture_gate, settings):
    with db.connect(settings) as con:
        assert record_validations(con, fixture_gate, "run1") == len(fixture_gate.expectations)
        rows = con.execute(
            "select expectation, success, element_count, unexpected_count, unexpected_lead_ids, batch_failed_share,"
            " batch_blocked, run_id, batch_id, suite from quality.validations order by expectation"
        ).fetchall()
    by_name = {r[0]: r for r in rows}
    assert len(rows) == 10
    assert by_name[REGEX][1:4] == (False, 13, 1)
    assert json.loads(by_name[REGEX][4]) == ["ld_bad_email"]
    assert by_name[EMAIL][1] is True and json.loads(by_name[EMAIL][4]) == []
    assert [r[5] for r in rows] == pytest.approx([2 / 13] * 10)
    assert {r[6:] for r in rows} == {(True, "run1", "run1-b1", "scored_leads")}


def test_no_gx_project_state_is_written(fixture_gate):
    for where in (REPO_DIR, REPO_DIR / "expectations", Path.cwd()):
        assert not (where / "gx").exists() and not (where / "great_expectations").exists(), where
    assert all(p.suffix == ".json" for p in (REPO_DIR / "expectations").iterdir())
