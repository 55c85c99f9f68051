"""Imported lead lists through dbt, scoring, the gate and routing; marts.lead_scores by key; forget."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leadgate.config import LeadgateSettings
from leadgate.ingest import ingest_paths
from leadgate.ingest.lead_lists import import_lead_list
from leadgate.pipeline import steps
from leadgate.policy import load_policy
from leadgate.routing.gate import validate_batch
from leadgate.routing.rules import route_leads
from leadgate.scoring.baseline import BaselineScorer, leads_to_score
from leadgate.store import db
from leadgate.store.forget import forget_person
from leadgate.transform.dbt import run_dbt

FIXTURES = Path(__file__).parent / "fixtures"
MAPPING = {
    "email": "Work Email",
    "last_name": "Surname",
    "company": "Org",
    "company_size": "Employees",
    "job_title": "Job",
}


def _q(settings, sql, params=None):
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> LeadgateSettings:
    """One tiny pipeline: alice's two events, the CRM export imported, dbt built, scored, gated, routed."""
    tmp = tmp_path_factory.mktemp("lead-lists")
    (tmp / "inbox").mkdir()
    settings = LeadgateSettings(db=tmp / "leadgate.duckdb", inbox=tmp / "inbox", lock_timeout=2.0, _env_file=None)
    shutil.copyfile(FIXTURES / "events.csv", settings.inbox / "events.csv")
    ingest_paths(settings, [settings.inbox])
    with db.connect(settings) as con:
        import_lead_list(con, FIXTURES / "crm_export.csv", "External ID", MAPPING)
    run_dbt(settings)
    policy = load_policy(settings.policy)
    run_id = steps.new_run_id()
    steps.start_run(settings, run_id, kind="run", policy=policy)
    steps.decide_step(settings, policy, run_id)
    return settings


def test_list_leads_are_scored_and_found_by_the_key_people_have(built):
    rows = _q(
        built,
        "select external_key, email, score, confidence, state, scorer, scored_at is not null"
        " from marts.lead_scores where external_key = ?",
        ["CRM-2"],
    )
    assert len(rows) == 1
    key, email, score, confidence, state, scorer, scored = rows[0]
    assert (key, email, scorer, scored) == ("CRM-2", None, "baseline", True)  # no email, still scored
    assert 0 <= score <= 1 and 0 <= confidence <= 1 and state in ("nurture", "needs_review", "qualified", "rejected")
    keyed = dict(_q(built, "select email, external_key from marts.lead_scores"))
    assert keyed == {"alice@acme.com": "CRM-1", None: "CRM-2", "carol@carol.io": "CRM-3"}
    assert _q(built, "select count(*) from lifecycle.lead_states") == [(3,)]


def test_events_win_for_engagement_and_the_list_fills_the_missing_firmographics(built):
    rows = _q(
        built,
        "select first_name, last_name, company, company_size, job_title, seniority, event_count,"
        " demo_requests, sources from marts.lead_features where email = 'alice@acme.com'",
    )
    # Events named her 'Ally' and carried no surname, company or size: the list filled those.
    assert rows == [("Ally", "Archer", "Acme", "51-200", "VP Sales", "vp", 2, 1, "form,list,web")]
    listed = _q(
        built,
        "select event_count, consent_status, sources, first_touch_at is not null"
        " from marts.lead_features where email is null",
    )
    assert listed == [(0, "unknown", "list", True)]


def test_custom_attributes_are_exposed_to_analysts(built):
    rows = _q(
        built,
        "select a.name, a.kind, a.value_num, a.value_text from marts.lead_attributes a"
        " join marts.lead_scores s using (lead_id) where s.external_key = 'CRM-1' order by 1",
    )
    assert rows == [
        ("Annual Budget", "numeric", 12000.0, "12000"),
        ("Lead Rating", "categorical", None, "Hot"),
        ("Notes", "categorical", None, "met at booth;\nwants demo"),
    ]


def test_custom_attributes_reach_the_features_a_lead_is_scored_and_snapshotted_with(built):
    carol = {"Annual Budget": 7.5, "Lead Rating": "Cold"}  # her Notes were 'none': missing, never stored
    rows = _q(built, "select custom_attributes from marts.lead_features where email = 'carol@carol.io'")
    assert json.loads(rows[0][0]) == carol
    snaps = _q(
        built,
        "select s.features from scoring.feature_snapshots s join raw.lead_list_records r using (lead_id)"
        " where r.list_key = 'CRM-3'",
    )
    assert snaps and all(json.loads(f)["custom_attributes"] == carol for (f,) in snaps)
    # every attribute of CRM-2 was a placeholder ('N/A', 'Select', '-'): no object, and its hash is the plain one
    assert _q(
        built,
        "select f.custom_attributes from marts.lead_features f join raw.lead_list_records r using (lead_id)"
        " where r.list_key = 'CRM-2'",
    ) == [(None,)]


def test_a_lead_without_email_never_goes_to_a_crm_that_requires_one(built):
    policy = load_policy(built.policy)
    assert "email" in policy.crm.required_fields
    with db.connect(built) as con:
        features = leads_to_score(con, rescore_all=True)
    scored = BaselineScorer(policy).score(features, built.scoring_time())
    batch = features.drop(columns=[c for c in scored.columns if c in features.columns and c != "lead_id"]).merge(
        scored, on="lead_id"
    )
    # Make both list leads certain, consenting, complete qualifiers: only the email tells them apart.
    for key in ("CRM-2", "CRM-3"):
        row = batch["lead_id"] == _q(built, "select lead_id from raw.lead_list_records where list_key = ?", [key])[0][0]
        batch.loc[row, ["score", "confidence", "consent_status", "has_consent"]] = [0.97, 0.99, "granted", True]
    no_email = _q(built, "select lead_id from raw.lead_list_records where list_key = 'CRM-2'")[0][0]
    carol = _q(built, "select lead_id from raw.lead_list_records where list_key = 'CRM-3'")[0][0]
    # In a batch of three one failure is over the share that blocks a batch; a real list is larger.
    policy = policy.model_copy(update={"gate": policy.gate.model_copy(update={"max_failed_share": 0.5})})
    gate = validate_batch(batch, policy, batch_id="ll")
    assert gate.failed_leads == {no_email: ["expect_column_values_to_not_be_null(email)"]} and not gate.blocked
    decisions = {d.lead_id: d for d in route_leads(batch, gate, policy)}
    assert decisions[carol].state == "qualified"
    assert decisions[no_email].state == "needs_review"  # reviewed, never synced
    assert decisions[no_email].reason_codes[0] == "gate:expect_column_values_to_not_be_null(email)"


def test_forget_erases_the_persons_list_rows_and_they_never_come_back(built, tmp_path):
    lead_id = _q(built, "select lead_id from raw.lead_list_records where list_key = 'CRM-1'")[0][0]
    report = forget_person(built, "ALICE@acme.com", rewrite=False)
    assert report.tables["raw.lead_list_records"] == 1 and report.tables["raw.lead_attributes"] == 3
    for table in ("raw.lead_list_records", "raw.lead_attributes", "marts.lead_features", "marts.lead_attributes"):
        assert _q(built, f"select count(*) from {table} where lead_id = ?", [lead_id]) == [(0,)], table
    assert _q(built, "select count(*) from marts.lead_scores where external_key = 'CRM-1'") == [(0,)]
    again = tmp_path / "again.csv"
    again.write_text("External ID,Work Email,Stage\nCRM-1,alice@acme.com,Hot\nCRM-11,zoe@zoe.io,Cold\n")
    with db.connect(built) as con:
        result = import_lead_list(con, again, "External ID", {"email": "Work Email"})
    assert (result.accepted, result.erased) == (1, 1)
    assert _q(built, "select count(*) from raw.lead_list_records where email = 'alice@acme.com'") == [(0,)]
