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
    policy = base.model_copy(
        update={"model": base.model.model_copy(update={"retrain_after_outcomes": 3, "max_age_days": 30})}
    )
    rec = {"version": "m1", "created_at": TRAINED}
    with db.connect(settings) as con:
        assert retrain_due(con, rec, policy, now=TRAINED + timedelta(days=5)) == []
        con.execute(
            "insert into scoring.drift values ('r1', 'm1', ?, 'score', 0.5, true, 10)", [TRAINED + timedelta(days=1)]
        )
        con.execute(
            "insert into scoring.drift values ('r2', 'm1', ?, 'score', 0.01, false, 10)", [TRAINED + timedelta(days=2)]
        )
        assert retrain_due(con, rec, policy, now=TRAINED + timedelta(days=5)) == []  # only the last run counts
        con.execute(
            "insert into scoring.drift values ('r3', 'm1', ?, 'pricing_views', 0.4, true, 10)",
            [TRAINED + timedelta(days=3)],
        )
        for i, at in enumerate(
            [
                TRAINED - timedelta(days=1),
                TRAINED + timedelta(days=1),
                TRAINED + timedelta(days=2),
                TRAINED + timedelta(days=3),
            ]
        ):
            con.execute("insert into scoring.outcomes values (?, null, true, null, ?, 'imp', ?)", [f"l{i}", at, i])
        due = retrain_due(con, rec, policy, now=TRAINED + timedelta(days=40))
    assert len(due) == 3
    assert due[0].startswith("drift on the last run: pricing_views PSI 0.40")
    assert due[1].startswith("3 new outcomes since training")
    assert due[2].startswith("trained 40 days ago")


def test_model_list_and_show_say_a_retrain_is_due(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from leadgate.cli.app import app
    from leadgate.model import registry

    settings = LeadgateSettings(db=tmp_path / "lg.duckdb", lock_timeout=2.0, _env_file=None)
    with db.connect(settings) as con:
        old = datetime.now(UTC) - timedelta(days=120)
        registry.register(
            con,
            {
                "version": "m1",
                "created_at": old,
                "family": "logistic",
                "calibration": "sigmoid",
                "fingerprint": "f",
                "model_dir": str(tmp_path),
                "files": {},
                "metrics": {"heldout": {"roc_auc": 0.7, "ece": 0.02}},
                "training": {"rows": 10},
            },
        )
        con.execute("insert into scoring.model_aliases values ('champion', 'm1', ?, 'test')", [old])
    monkeypatch.setenv("LEADGATE_DB", str(settings.db_path))
    listed = CliRunner().invoke(app, ["model", "list"])
    assert listed.exit_code == 0, listed.output
    assert "retrain due for m1: trained" in listed.output and "days ago (policy: at most 90" in listed.output
    shown = CliRunner().invoke(app, ["model", "show", "m1"])
    assert shown.exit_code == 0 and any("trained" in r for r in json.loads(shown.output)["retrain_due"])
