"""Features as of the decision: snapshots written with each score, and no event after an outcome's close in training."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from leadgate.model.snapshots import training_rows
from leadgate.model.train import TrainingError, train
from leadgate.scoring.baseline import BaselineScorer, leads_to_score, record_scores
from leadgate.store import db
from tests.fixtures.scoring.frames import NOW, create_marts, test_policy

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _snapshot(con, score_id, lead, scored_at, last_touch, pricing):
    con.execute(
        "insert into scoring.feature_snapshots values (?, ?, ?, 'h', ?, 1.0, ?::json)",
        [score_id, lead, scored_at, last_touch, json.dumps({"pricing_views": pricing, "seniority": "vp"})],
    )


def test_each_score_keeps_the_features_it_was_scored_with_without_personal_data(settings):
    with db.connect(settings) as con:
        create_marts(con)
        features = leads_to_score(con)
        record_scores(con, BaselineScorer(test_policy()).score(features, NOW), "run-1", test_policy())
        snaps = con.execute(
            "select s.lead_id, s.score_id, s.features from scoring.feature_snapshots s"
            " join scoring.scores c using (score_id) where c.lead_id = s.lead_id"
        ).fetchall()
    assert len(snaps) == len(features) == len({lead for lead, _, _ in snaps})
    doc = json.loads({lead: f for lead, _, f in snaps}["ld_hot_vp"])
    assert doc["pricing_views"] == 3 and doc["seniority"] == "vp"
    assert doc["last_touch_at_age_days"] == 1.0  # an instant is stored as its age at scoring time
    text = " ".join(f for _, _, f in snaps)
    for personal in ("dana.reyes@northwind.io", "Reyes", "VP Operations", "Northwind Traders", "demo for 40 seats"):
        assert personal not in text


def test_a_feature_from_after_the_outcome_date_never_enters_training(settings):
    closed = T0 + timedelta(days=10)
    with db.connect(settings) as con:
        _snapshot(con, 1, "ld_a", T0, T0, pricing=0)  # the decision
        _snapshot(con, 2, "ld_a", closed + timedelta(days=1), closed, pricing=50)  # scored after the close
        _snapshot(
            con, 3, "ld_a", closed - timedelta(hours=1), closed + timedelta(hours=5), pricing=40
        )  # events after it
        _snapshot(con, 4, "ld_b", closed + timedelta(days=2), closed + timedelta(days=2), pricing=9)  # only after
        con.execute(
            "insert into scoring.outcomes values ('ld_a', null, true, ?, ?, 'oi', 2),"
            " ('ld_b', null, false, ?, ?, 'oi', 3)",
            [closed, closed + timedelta(days=30)] * 2,
        )
        rows = training_rows(con)
    assert rows["lead_id"].tolist() == ["ld_a"]  # ld_b has no snapshot from before its close
    assert rows["score_id"].tolist() == [1]
    assert json.loads(rows["features"][0])["pricing_views"] == 0


def test_forget_erases_the_persons_outcome_snapshots_and_rejected_rows(settings, tmp_path):
    from leadgate.model.outcomes import import_outcomes
    from leadgate.store.forget import forget_person

    csv_file = tmp_path / "won.csv"
    csv_file.write_text("email,won\ndana.reyes@northwind.io,yes\nDana.Reyes@northwind.io,no\nsam.ortiz@pebble.co,no\n")
    with db.connect(settings) as con:
        create_marts(con)
        record_scores(con, BaselineScorer(test_policy()).score(leads_to_score(con), NOW), "run-1", test_policy())
        report = import_outcomes(con, csv_file, key="email", outcome="won")
    assert (report.recorded, report.rejected) == (2, 1)  # dana twice with two outcomes: the second is rejected
    forget_person(settings, "dana.reyes@northwind.io")
    with db.connect(settings) as con:
        left = {
            t: con.execute(f"select count(*) from scoring.{t} where lead_id = 'ld_hot_vp'").fetchone()[0]
            for t in ("outcomes", "feature_snapshots")
        }
        rejects = con.execute("select count(*) from scoring.outcome_rejects").fetchone()[0]
        others = con.execute("select count(*) from scoring.outcomes").fetchone()[0]
    assert left == {"outcomes": 0, "feature_snapshots": 0} and rejects == 0 and others == 1


def test_training_that_finds_no_usable_row_says_which_outcomes_lack_one_and_why(settings):
    closed = T0 + timedelta(days=10)
    with db.connect(settings) as con:
        _snapshot(con, 1, "ld_a", T0, T0, pricing=0)  # usable: scored before its close
        _snapshot(con, 2, "ld_b", closed + timedelta(days=2), closed + timedelta(days=1), pricing=9)  # only after
        _snapshot(con, 3, "ld_c", closed + timedelta(days=3), closed, pricing=1)  # only after
        con.execute(
            "insert into scoring.outcomes values ('ld_a', null, true, ?, ?, 'oi', 2), ('ld_b', null, false, ?, ?, 'oi', 3),"
            " ('ld_c', null, true, ?, ?, 'oi', 4), ('ld_d', null, false, ?, ?, 'oi', 5)",  # ld_d: never scored
            [closed, closed + timedelta(days=30)] * 4,
        )
        with pytest.raises(TrainingError) as refused:
            train(con, test_policy(), settings.db)
    message = str(refused.value)
    assert "1 leads, 1 converted" in message
    assert "4 outcomes recorded, 3 with no score or list record from before the close" in message
    assert "1 for leads never scored" in message
    assert "2 for leads scored only after the outcome closed" in message
    assert f"close from {closed:%Y-%m-%d %H:%M} to {closed:%Y-%m-%d %H:%M}" in message
    assert "LEADGATE_AS_OF" in message
