"""A retrain is due on drift on the last run, on enough new outcomes since training, or on a version's age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadgate.config import LeadgateSettings
from leadgate.model.retrain import retrain_due
from leadgate.policy import load_policy
from leadgate.store import db

TRAINED = datetime(2026, 11, 1, tzinfo=UTC)


def test_drift_new_outcomes_and_age_each_make_a_retrain_due(tmp_path):
    settings = LeadgateSettings(db=tmp_path / "lg.duckdb", lock_timeout=2.0, _env_file=None)
    base = load_policy(settings.policy)
    policy = base.model_copy(update={"model": base.model.model_copy(update={"retrain_after_outcomes": 3, "max_age_days": 30})})
    rec = {"version": "m1", "created_at": TRAINED}
    with db.connect(settings) as con:
        assert retrain_due(con, rec, policy, now=TRAINED + timedelta(days=5)) == []
        con.execute("insert into scoring.drift values ('r1', 'm1', ?, 'score', 0.5, true, 10)", [TRAINED + timedelta(days=1)])
        con.execute("insert into scoring.drift values ('r2', 'm1', ?, 'score', 0.01, false, 10)", [TRAINED + timedelta(days=2)])
        assert retrain_due(con, rec, policy, now=TRAINED + timedelta(days=5)) == []    # only the last run counts
        con.execute("insert into scoring.drift values ('r3', 'm1', ?, 'pricing_views', 0.4, true, 10)", [TRAINED + timedelta(days=3)])
        for i, at in enumerate([TRAINED - timedelta(days=1), TRAINED + timedelta(days=1), TRAINED + timedelta(days=2),
                                TRAINED + timedelta(days=3)]):
            con.execute("insert into scoring.outcomes values (?, null, true, null, ?, 'imp', ?)", [f"l{i}", at, i])
        due = retrain_due(con, rec, policy, now=TRAINED + timedelta(days=40))
    assert len(due) == 3
    assert due[0].startswith("drift on the last run: pricing_views PSI 0.40")
    assert due[1].startswith("3 new outcomes since training")
    assert due[2].startswith("trained 40 days ago")
