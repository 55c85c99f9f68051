"""Drift of the deciding model in what a user sees: the run summary, one webhook message per episode, the metrics."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.cli.render_summary import render_text
from leadgate.config import AlertSettings, LeadgateSettings
from leadgate.model import registry
from leadgate.model.snapshots import snapshot_features
from leadgate.pipeline import steps
from leadgate.pipeline.report import render_markdown
from leadgate.policy import load_policy
from leadgate.review.alerts import webhook_from
from leadgate.review.drift_alerts import WORSE_FACTOR, send_drift_alert, why_send
from leadgate.review.metrics import metrics_report
from leadgate.sample.outcomes import synthetic_lead_features
from leadgate.store import db
from tests.emulators.webhook import WebhookReceiver, hooks, receiver  # noqa: F401 - fixtures
from tests.fixtures.model.outcomes import import_drawn_outcomes, put_leads

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
LEADS = 400


def _policy():
    policy = load_policy(LeadgateSettings(_env_file=None).policy)
    return policy.model_copy(update={"gate": policy.gate.model_copy(update={"max_failed_share": 1.0})})


@pytest.fixture(scope="module")
def trained_db(tmp_path_factory):
    """A database whose champion was trained on LEADS leads with outcomes; (db file, version, leads, a drift feature)."""
    root = tmp_path_factory.mktemp("drift")
    settings = LeadgateSettings(db=root / "lg.duckdb", inbox=root, as_of=NOW, lock_timeout=5, _env_file=None)
    leads = synthetic_lead_features(LEADS, seed=31, now=NOW)
    put_leads(settings, leads)
    steps.decide_step(settings, _policy(), "run-0")
    import_drawn_outcomes(settings, leads, 31, NOW, root)
    from leadgate.model.train import train

    with db.connect(settings) as con:
        version = train(con, _policy(), settings.db_path, now=datetime.now(UTC))["version"]
        registry.promote(con, version, "test")
        reference = registry.load(con, version).doc["drift"]
    # a count the model watches for drift, as a column of the leads with many values (scaling it moves its PSI)
    numeric = [n for n, r in reference.items() if r.get("kind") == "numeric" and n in leads.columns]
    watched = max(numeric, key=lambda n: leads[n].nunique())
    return settings.db_path, version, leads, watched


@pytest.fixture
def drifting(trained_db, tmp_path):
    """A copy of the trained database for one test (the model files are shared, read only)."""
    path, version, leads, watched = trained_db
    shutil.copy(path, tmp_path / "lg.duckdb")
    settings = LeadgateSettings(db=tmp_path / "lg.duckdb", inbox=tmp_path, as_of=NOW, lock_timeout=5, _env_file=None)
    return settings, version, leads, watched


def _run(settings, leads, run_id: str, hook, policy=None) -> dict:
    """One run as the flow does it: score and route every lead, send the drift alert; the summary it returns."""
    put_leads(settings, leads)
    decided = steps.to_plain(steps.decide_step(settings, policy or _policy(), run_id, rescore_all=True))
    drift = decided["model"]["drift"]
    alert = send_drift_alert(settings, hook, drift, run_id=run_id) if drift["drifted"] else None
    return {"run_id": run_id, "decide": decided, "drift_alert": steps.to_plain(alert), "sync_mode": "shadow"}


def _scaled(leads, column: str, factor: float):
    return leads.assign(**{column: (leads[column] * factor).round()})


def _slack(hooks):
    return webhook_from(
        AlertSettings(alert_webhook_url=SecretStr(hooks.slack_url), alert_format="slack", _env_file=None)
    )


def test_drift_is_in_the_run_summary_and_one_message_per_episode(drifting, hooks):
    settings, version, leads, watched = drifting
    hook = _slack(hooks)
    first = _run(settings, _scaled(leads, watched, 1.3), "run-d1", hook)
    text = render_text(first)
    assert "NEEDS ATTENTION" in text and f"!! model {version} drifted from its training data" in text
    psi = first["decide"]["model"]["drift"]["psi"][watched]
    assert psi > 0.2 and f"{watched} PSI {psi:.2f}" in text and "policy model.drift_psi 0.2" in text
    assert "consider `leadgate model train`" in text and "leadgate model compare" in text
    assert "drift alert sent to the alert webhook" in text
    assert f"{watched} PSI {psi:.2f} (see needs attention)" in text  # the model section's one line
    assert f"model {version} drifted" in render_markdown(first)  # the Prefect artifact says the same

    second = _run(settings, _scaled(leads, watched, 1.3), "run-d2", hook)  # the same drift, one run later
    assert second["drift_alert"]["status"] == "already_sent"
    assert "already announced (run run-d1)" in render_text(second)
    (message,) = hooks.messages("slack")  # two drifting runs, one message
    assert f"model {version} drifted" in message["text"] and f"{watched} PSI {psi:.2f}" in message["text"]
    body = message["blocks"][1]["text"]["text"]
    assert "first drift alert" in body and "leadgate model train" in body and "scored in run run-d1" in body
    assert message["blocks"][2]["elements"][0]["url"] == "http://127.0.0.1:8080/metrics"

    worse = _run(settings, _scaled(leads, watched, 3), "run-d3", hook)
    now_psi = worse["decide"]["model"]["drift"]["psi"][watched]
    assert now_psi >= WORSE_FACTOR * psi and worse["drift_alert"]["status"] == "delivered"
    assert len(hooks.messages("slack")) == 2
    again = hooks.messages("slack")[1]["blocks"][1]["text"]["text"]
    assert f"{watched} was {psi:.2f}, now {now_psi:.2f}" in again

    calm = _run(settings, leads, "run-c", hook)  # like the training data again: the episode ends
    assert calm["drift_alert"] is None and "drifted" not in render_text(calm)
    back = _run(settings, _scaled(leads, watched, 3), "run-d4", hook)
    assert back["drift_alert"]["why"] == "after_calm" and len(hooks.messages("slack")) == 3
    with db.connect(settings) as con:
        sent = con.execute("select run_id, why, delivered from review.drift_alerts order by alert_id").fetchall()
    assert sent == [("run-d1", "first", True), ("run-d3", "worse", True), ("run-d4", "after_calm", True)]


def test_leads_like_the_training_data_give_no_drift_row_and_no_message(drifting, hooks):
    settings, version, leads, _ = drifting
    summary = _run(settings, leads, "run-same", _slack(hooks))
    drift = summary["decide"]["model"]["drift"]
    assert drift["drifted"] == [] and max(drift["psi"].values()) < 0.2
    text = render_text(summary)
    assert "drifted" not in text and "leadgate model train" not in text
    assert "drifted from its training data" not in text
    model_lines = [line for line in text.splitlines() if line.strip().startswith(("champion", "drift "))]
    assert model_lines[0].split() == ["champion", version]
    assert model_lines[1].split()[:2] == ["drift", "none"]  # one quiet line, no alert
    assert hooks.messages("slack") == []


def test_a_failed_send_is_retried_on_the_next_drifting_run(drifting, hooks):
    settings, _, leads, watched = drifting
    hook = _slack(hooks)
    hooks.fail("slack", 500)
    failed = _run(settings, _scaled(leads, watched, 1.3), "run-f1", hook)
    assert failed["drift_alert"]["status"] == "failed" and failed["drift_alert"]["http_status"] == 500
    assert "drift alert not delivered (HTTP 500" in render_text(failed)
    retried = _run(settings, _scaled(leads, watched, 1.3), "run-f2", hook)
    assert retried["drift_alert"]["why"] == "retry" and retried["drift_alert"]["status"] == "delivered"
    assert len(hooks.messages("slack")) == 2  # the one refused with 500, then the same drift again
    assert "abcdefghijkl" not in json.dumps([failed, retried])  # the webhook's key never reaches the summary


def test_when_a_drift_is_news():
    sent = {"run_id": "r1", "psi": {"score": 0.4}, "delivered": True}
    assert why_send({}, None, False) is None
    assert why_send({"score": 0.3}, None, False) == "first"
    assert why_send({"score": 0.4}, {**sent, "delivered": False}, False) == "retry"
    assert why_send({"score": 0.4}, sent, True) == "after_calm"
    assert why_send({"score": 0.3, "country": 0.25}, sent, False) == "new_feature"
    assert why_send({"score": 0.59}, sent, False) is None  # worse, but not markedly
    assert why_send({"score": 0.61}, sent, False) == "worse"


def test_metrics_show_override_rate_latest_drift_and_retrain_due_per_version(drifting, monkeypatch):
    settings, version, leads, watched = drifting
    scaled = _scaled(leads, watched, 1.3)
    with db.connect(settings) as con:
        p = registry.load(con, version).predict(snapshot_features(scaled, NOW))
    # qualify at the model's median probability, so some of its leads are close calls a reviewer decides
    policy = _policy()
    policy = policy.model_copy(
        update={"model": policy.model.model_copy(update={"qualify_threshold": float(np.median(p))})}
    )
    _run(settings, scaled, "run-m1", None, policy)  # alerts off: drift is still recorded
    with db.connect(settings) as con:  # a reviewer overrides the model on one of its review items
        item_id, qualified = con.execute(
            "select i.item_id, s.qualified from review.items i join scoring.scores s using (score_id)"
            " where s.model_version = ? and i.status = 'pending' order by i.item_id limit 1",
            [version],
        ).fetchone()
        status = "rejected" if qualified else "approved"
        con.execute("update review.items set status = ?, decided_at = now() where item_id = ?", [status, item_id])
    report = metrics_report(settings, days=7)
    (row,) = [m for m in report.models if m["model_version"] == version]
    assert row["alias"] == "champion" and row["decisions"] == 1 and row["override_rate"] == 1.0
    assert list(row["drift"]["drifted"]) == [watched] and row["drift"]["run_id"] == "run-m1"
    assert any(r.startswith(f"drift on the last run: {watched} PSI") for r in row["retrain_due"])

    monkeypatch.setenv("LEADGATE_DB", str(settings.db_path))
    out = CliRunner().invoke(app, ["metrics", "--days", "7"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    at = lines.index(next(x for x in lines if x.startswith("per model version")))
    line = next(x for x in lines[at:] if x.startswith(version))
    assert "(champion)" in line and "100.0%" in line and f"DRIFT {watched}" in line and line.split()[-1] == "due"
    assert any(x.startswith(f"retrain due for {version}: drift on the last run") for x in lines)
    doc = json.loads(CliRunner().invoke(app, ["metrics", "--json", "--days", "7"]).stdout)
    assert [m["override_rate"] for m in doc["models"] if m["model_version"] == version] == [1.0]

    from leadgate.review.reviewers import add_reviewer
    from tests.web.conftest import PASSWORD, make_client, session_for

    add_reviewer(settings, "dana", PASSWORD)
    with make_client(settings) as client:  # the browser's metrics page, from the same report
        session_for(client)
        page = client.get("/metrics").text
    row = next(r for r in page.split("<tr>") if r.startswith(f"<td>{version} (champion)"))
    assert "<td>100%</td>" in row and f"<strong>drift</strong>: {watched}" in row and "<strong>due</strong>" in row


def test_the_pipeline_flow_sends_the_drift_alert_from_the_alert_settings(drifting, hooks, prefect_api, monkeypatch):
    from prefect import flow

    from flows.pipeline import drift_alert

    settings, version, leads, watched = drifting
    drift = _run(settings, _scaled(leads, watched, 1.3), "run-p1", None)["decide"]["model"]["drift"]
    monkeypatch.setenv("LEADGATE_ALERT_WEBHOOK_URL", hooks.slack_url)
    monkeypatch.setenv("LEADGATE_ALERT_FORMAT", "slack")

    @flow
    def two_runs() -> list[dict]:  # the flow's task, as `leadgate run` calls it after the review alert
        return [drift_alert(settings, run_id, drift) for run_id in ("run-p1", "run-p2")]

    first, second = two_runs()
    assert (first["status"], second["status"]) == ("delivered", "already_sent")
    (message,) = hooks.messages("slack")
    assert f"model {version} drifted" in message["text"]
