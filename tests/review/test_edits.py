"""Edit, then approve: the correction is recorded beside the original, re-scores the lead, outlives dbt, and is forgotten."""

from __future__ import annotations

import json

import pytest

from leadgate.review.errors import ReviewError
from leadgate.scoring.baseline import BaselineScorer, leads_to_score
from leadgate.store import db
from leadgate.store.forget import forget_person
from leadgate.sync.outbox import refresh_outbox
from tests.fixtures.services import builders
from tests.review.conftest import BOB, DAN, one, state_of


def test_edit_then_approve_records_the_original_rescores_and_survives_a_dbt_rebuild(seeded):
    settings, service, ids, items = seeded
    dan = ids[DAN]
    with db.read_connection(settings) as con:
        before = BaselineScorer(service.policy).score(
            con.execute("select * from marts.lead_features where lead_id = ?", [dan]).df(), settings.scoring_time()
        )
    decision = service.approve(items[dan], "dana", edits={"job_title": " VP  of Operations ", "company_size": "5000"})
    assert decision.lead_state == "qualified" and state_of(settings, dan) == "qualified"
    assert sorted(
        one(settings, "select field, original, edited, reviewer from review.lead_edits where lead_id = ?", [dan])
    ) == [("company_size", "51-200", "5000", "dana"), ("job_title", "Analyst", "VP of Operations", "dana")]
    score, reasons = one(
        settings, "select score, reasons from scoring.scores where lead_id = ? order by score_id desc limit 1", [dan]
    )[0]
    details = [r["detail"] for r in json.loads(reasons)]
    assert score > before["score"].iloc[0] + 0.05
    assert any(d.startswith("VP-level title") for d in details) and any(
        "company size 5000 employees" in d for d in details
    )
    audit = one(settings, "select score, details->>'edited_fields' from audit.decisions where kind = 'review'")
    assert audit[0][0] == pytest.approx(score) and json.loads(audit[0][1]) == ["company_size", "job_title"]
    assert {(e["field"], e["original"], e["edited"]) for e in service.get(items[dan])["edits"]} == {
        ("company_size", "51-200", "5000"),
        ("job_title", "Analyst", "VP of Operations"),
    }

    with db.connect(settings) as con:
        builders.build_marts(con)  # dbt rebuilds the mart from raw events
        frame = leads_to_score(con, rescore_all=True).set_index("lead_id")
        refresh_outbox(con, "none", service.policy)
        payload = json.loads(con.execute("select payload from sync.outbox where lead_id = ?", [dan]).fetchone()[0])
    row = frame.loc[dan]
    assert (row["job_title"], row["seniority"], row["company_size"], row["company_size_min"]) == (
        "VP of Operations",
        "vp",
        "5000",
        5000,
    )
    assert frame.loc[ids[BOB], "job_title"] == "Director of IT"  # other leads as dbt built them
    assert payload["job_title"] == "VP of Operations" and payload["company_size"] == "5000"


def test_the_approval_rechecks_crm_fields_with_the_edited_values(seeded):
    settings, service, ids, items = seeded
    bob = items[ids[BOB]]
    with pytest.raises(ReviewError, match=f"cannot approve review item {bob}: missing last_name$"):
        service.approve(bob, "dana", edits={"company": "Globex"})
    assert one(settings, "select count(*) from review.lead_edits")[0][0] == 0  # a refused approval records no edit
    for edits, message in (
        ({"company_size": "lots"}, "company size 'lots' is not a number"),
        ({"country": "Germany"}, "two-letter ISO 3166 code"),
        ({"email": "x@y.z"}, "field 'email' cannot be edited"),
        ({"company": "  "}, "an edit of company needs a value"),
    ):
        with pytest.raises(ReviewError, match=message):
            service.approve(bob, "dana", edits=edits)
    assert state_of(settings, ids[BOB]) == "needs_review"


def test_forget_erases_the_edits(seeded):
    settings, service, ids, items = seeded
    service.approve(items[ids[DAN]], "dana", edits={"company": "Umbrella Retail GmbH"})
    assert one(settings, "select count(*) from review.lead_edits")[0][0] == 1
    forget_person(settings, DAN, rewrite=False)  # the rows; rewriting the file is forget's own test
    assert one(settings, "select count(*) from review.lead_edits")[0][0] == 0
    assert one(settings, "select count(*) from review.decision_log where lead_id = ?", [ids[DAN]])[0][0] == 0
