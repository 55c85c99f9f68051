"""The registry on a real database and decide step: which version decides, which only records; files checked on load."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.config import LeadgateSettings
from leadgate.model import registry
from leadgate.model.artifact import MODEL_FILE, ModelFileError, load_model
from leadgate.pipeline import steps
from leadgate.policy import load_policy
from leadgate.sample.outcomes import synthetic_lead_features
from leadgate.store import db
from tests.fixtures.model.outcomes import import_drawn_outcomes, put_leads

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
LEADS = 200


def _policy():
    policy = load_policy(LeadgateSettings(_env_file=None).policy)
    return policy.model_copy(update={"gate": policy.gate.model_copy(update={"max_failed_share": 1.0})})


def _scorers(settings, run_id):
    with db.connect(settings) as con:
        return dict(
            con.execute(
                "select coalesce(model_version, scorer), count(*) from scoring.scores where run_id = ? group by 1",
                [run_id],
            ).fetchall()
        )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A database with LEADS scored leads, their outcomes, and two trained versions (the CLI trains the first)."""
    root = tmp_path_factory.mktemp("registry")
    (root / "inbox").mkdir()
    settings = LeadgateSettings(db=root / "lg.duckdb", inbox=root / "inbox", as_of=NOW, lock_timeout=5, _env_file=None)
    leads = synthetic_lead_features(LEADS, seed=21, now=NOW)
    put_leads(settings, leads)
    steps.decide_step(settings, _policy(), "run-1")
    import_drawn_outcomes(settings, leads, 21, NOW, root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEADGATE_DB", str(settings.db_path))
        result = CliRunner().invoke(app, ["model", "train"])
        assert result.exit_code == 0, result.output
        first = [line.removeprefix("version: ") for line in result.output.splitlines() if line.startswith("version: ")]
        assert len(first) == 1
    from leadgate.model.train import train

    with db.connect(settings) as con:
        second = train(con, _policy(), settings.db_path, time_split=True, now=datetime.now(UTC) + timedelta(seconds=5))
    return settings, first[0], second["version"]


def test_promote_shadow_and_rollback_change_which_version_decides_and_which_only_records(trained):
    settings, a, b = trained
    policy = _policy()
    with db.connect(settings) as con:
        registry.promote(con, a, "test")
    steps.decide_step(settings, policy, "run-a", rescore_all=True)
    assert _scorers(settings, "run-a") == {a: LEADS}
    with db.connect(settings) as con:
        decided = con.execute(
            "select count(*) from lifecycle.lead_states s join scoring.scores c on c.lead_id = s.lead_id"
            " and c.run_id = 'run-a' where s.score_id = c.score_id"
        ).fetchone()[0]
        registry.set_shadow(con, b, "test")
    assert decided == LEADS  # routing used the champion's probability

    report = steps.decide_step(settings, policy, "run-b", rescore_all=True)
    assert _scorers(settings, "run-b") == {a: LEADS}  # the shadow never becomes a score routing reads
    with db.connect(settings) as con:
        shadow = con.execute(
            "select count(*), count(distinct lead_id) from scoring.shadow_scores"
            " where run_id = 'run-b' and model_version = ?",
            [b],
        ).fetchone()
        mismatch = con.execute(
            "select count(*) from scoring.shadow_scores h join lifecycle.lead_states s using (lead_id)"
            " where h.run_id = 'run-b' and h.champion_state <> s.state"
        ).fetchone()[0]
    assert shadow == (LEADS, LEADS) and mismatch == 0
    assert report.model["champion"] == a and report.model["shadow"] == b and report.model["drift"]["psi"]

    from leadgate.model.compare import compare

    with db.connect(settings) as con:
        cmp = compare(con, b, policy)
        registry.promote(con, b, "test")  # the shadow takes over ...
        assert registry.alias(con, registry.SHADOW) is None
        assert registry.rollback(con, "test") == (b, a)  # ... and one command gives the decision back
    assert cmp["shadow_leads"] == LEADS and 0 <= cmp["state_agreement"] <= 1 and cmp["champion"] == a
    steps.decide_step(settings, policy, "run-d", rescore_all=True)
    assert _scorers(settings, "run-d") == {a: LEADS}
    with db.connect(settings) as con:
        assert registry.rollback(con, "test") == (a, None)
    steps.decide_step(settings, policy, "run-e", rescore_all=True)
    assert _scorers(settings, "run-e") == {"baseline": LEADS}


def test_a_model_file_altered_on_disk_is_refused(trained, tmp_path):
    settings, a, _ = trained
    with db.connect(settings) as con:
        rec = registry.get(con, a)
    copy = tmp_path / "copy"
    shutil.copytree(rec["model_dir"], copy)
    load_model(copy, rec["files"], a)  # an exact copy loads
    doc = (copy / MODEL_FILE).read_text()
    (copy / MODEL_FILE).write_text(doc.replace('"calibration": {', '"calibration": {"x_": 1, ', 1))
    with pytest.raises(ModelFileError, match="does not match the checksum.*refusing to load"):
        load_model(copy, rec["files"], a)
    with db.connect(settings) as con:
        con.execute("update scoring.model_versions set model_dir = ? where version = ?", [str(copy), a])
        registry.promote(con, a, "test")
    try:
        with pytest.raises(ModelFileError, match="leadgate model rollback"):
            steps.decide_step(settings, _policy(), "run-x", rescore_all=True)
    finally:
        with db.connect(settings) as con:
            con.execute("update scoring.model_versions set model_dir = ? where version = ?", [rec["model_dir"], a])
            registry.rollback(con, "test")


def test_thresholds_keep_review_within_budget_and_only_write_a_candidate_policy(trained, tmp_path, monkeypatch):
    settings, a, _ = trained
    live = settings.policy.read_text()
    monkeypatch.setenv("LEADGATE_DB", str(settings.db_path))
    out = tmp_path / "candidate.yaml"
    result = CliRunner().invoke(app, ["model", "thresholds", a, "--review-budget", "0.15", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "proposed (review within 15%)" in result.output and "accuracy" in result.output
    candidate = load_policy(out)
    assert settings.policy.read_text() == live  # the live policy is never changed
    changed = set(out.read_text().splitlines()) - set(live.splitlines())
    assert {line.split(":")[0].strip() for line in changed} <= {
        "version",
        "qualify_threshold",
        "auto_confidence",
        "check_confidence",
    }
    from leadgate.model.thresholds import _outcome

    with db.connect(settings) as con:
        held = registry.heldout(con, a)
    import numpy as np

    share, _ = _outcome(
        *(np.asarray(held[k], float) for k in ("p", "y", "completeness")),
        candidate,
        candidate.scoring.qualify_threshold,
        candidate.routing.auto_confidence,
        candidate.routing.check_confidence,
    )
    assert share <= 0.15
    # per tier: every tier is reported, and the candidate sets each tier's threshold (tiers override the global keys)
    assert all(f"tier {t.name} (" in result.output for t in candidate.routing.tiers)
    assert "whole review share with the tiers:" in result.output
    assert all(t.qualify_threshold is not None for t in candidate.routing.tiers)


def test_the_report_is_one_self_contained_html_file(trained, tmp_path, monkeypatch):
    settings, a, _ = trained
    monkeypatch.setenv("LEADGATE_DB", str(settings.db_path))
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["model", "report", a, "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    for title in (
        "ROC curve",
        "Reliability",
        "Feature importance",
        "Score distribution by outcome",
        "Threshold trade-off",
    ):
        assert title in page
    assert page.count("<svg") == 5
    assert "src=" not in page and "href=" not in page and "<script" not in page
