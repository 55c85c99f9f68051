"""Review alerts against a local webhook receiver: Slack and Teams shapes, once per run, SLA once per item, failures."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from leadgate.config import AlertSettings
from leadgate.policy import load_policy
from leadgate.review.alerts import AlertConfigError, detect_format, send_review_alerts, webhook_from
from leadgate.shared.redaction import redact
from leadgate.store import db
from tests.emulators.fixtures import tls_ca  # noqa: F401 - fixture
from tests.emulators.webhook import WebhookReceiver, hooks, receiver  # noqa: F401 - fixtures

RUN = "20261202T000000Z-test0001"


def _webhook(url: str, fmt: str = "auto", **kw):
    return webhook_from(AlertSettings(alert_webhook_url=SecretStr(url), alert_format=fmt, _env_file=None, **kw))


def _queue(settings, *, new: int, overdue: int, reasons=("low_confidence", "missing_company")) -> None:
    """A run that queued `new` pending items, and `overdue` older pending items long past their SLA."""
    now = datetime.now(UTC)
    with db.connect(settings) as con:
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, status) values (?, 'pipeline', ?, 'running')",
            [RUN, now - timedelta(minutes=5)],
        )
        for n in range(overdue):
            con.execute(
                "insert into review.items (lead_id, reason_codes, status, created_at) values (?, ?, 'pending', ?)",
                [f"ld_old{n:013d}", ["target_account"], now - timedelta(days=10)],
            )
        for n in range(new):
            con.execute(
                "insert into review.items (lead_id, reason_codes, status, created_at) values (?, ?, 'pending', ?)",
                [f"ld_new{n:013d}", [reasons[n % len(reasons)]], now - timedelta(minutes=1)],
            )


def test_format_from_the_host_and_no_http_downgrade():
    assert detect_format("hooks.slack.com") == "slack"
    assert detect_format("acme.webhook.office.com") == "teams"
    assert detect_format("prod-12.westeurope.logic.azure.com") == "teams"
    assert detect_format("default1234.56.environment.api.powerplatform.com") == "teams"
    assert detect_format("hooks.slack.com.evil.example") is None
    assert _webhook("https://hooks.slack.com/services/T1/B1/xyzxyzxyzxyz").format == "slack"
    assert _webhook("http://127.0.0.1:9/slack/x", "slack").format == "slack"
    assert _webhook("http://[::1]:9/x", "teams").format == "teams"
    for bad in (
        "http://hooks.slack.com/services/T1/B1/xyzxyzxyzxyz",
        "ftp://hooks.slack.com/x",
        "hooks.slack.com/x",
        "http://127.0.0.1.evil.example/x",
    ):
        with pytest.raises(AlertConfigError) as err:
            _webhook(bad, "slack")
        assert "xyzxyz" not in str(err.value)
    with pytest.raises(AlertConfigError, match="LEADGATE_ALERT_FORMAT"):
        _webhook("https://alerts.example.com/hook")
    assert webhook_from(AlertSettings(_env_file=None)) is None


def test_the_webhook_url_is_a_secret():
    hook = _webhook("https://hooks.slack.com/services/T0AAA/B0BBB/Zsecretsecretsecret1")
    assert "secretsecret" not in repr(hook)
    assert "secretsecret" not in redact("POST /services/T0AAA/B0BBB/Zsecretsecretsecret1 failed")


def test_slack_one_message_per_run(settings, hooks, caplog):
    _queue(settings, new=3, overdue=2)
    policy = load_policy(settings.policy)
    hook = _webhook(hooks.slack_url, "slack")
    with caplog.at_level(logging.INFO, logger="leadgate.alerts"):
        outcome = send_review_alerts(settings, hook, policy, run_id=RUN)
    assert outcome.status == "delivered" and outcome.http_status == 200
    (message,) = hooks.messages("slack")
    assert "3 new review items" in message["text"] and "2 items past the SLA" in message["text"]
    assert message["blocks"][0]["type"] == "header"
    body = message["blocks"][1]["text"]["text"]
    assert "low confidence (2)" in body and "missing company (1)" in body and "Overdue now: 2 pending items" in body
    assert message["blocks"][2]["elements"][0]["url"] == "http://127.0.0.1:8080/"
    assert "@example" not in str(message)  # counts and reasons only
    # the same run checking again, and a later check: nothing new to say, nothing sent
    assert send_review_alerts(settings, hook, policy, run_id=RUN).status == "nothing_to_send"
    assert send_review_alerts(settings, hook, policy).status == "nothing_to_send"
    assert len(hooks.messages("slack")) == 1
    with db.connect(settings) as con:
        assert con.execute("select count(*) from review.sla_alerts").fetchone()[0] == 2
        assert con.execute("select kind, delivered, http_status, new_items from review.alerts").fetchall() == [
            ("run", True, 200, 3)
        ]


def test_teams_adaptive_card_and_sla_once_per_item(settings, hooks):
    _queue(settings, new=0, overdue=1)
    policy = load_policy(settings.policy)
    hook = _webhook(hooks.teams_url, "teams", review_url="https://review.example.com/queue")
    assert send_review_alerts(settings, hook, policy).status == "delivered"
    (message,) = hooks.messages("teams")
    card = message["attachments"][0]
    assert message["type"] == "message" and card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "1 item past the SLA" in card["content"]["body"][0]["text"]
    assert card["content"]["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Open the review queue",
        "url": "https://review.example.com/queue",
    }
    assert send_review_alerts(settings, hook, policy).status == "nothing_to_send"  # already announced
    with db.connect(settings) as con:  # a second item passes its SLA: only that one is announced
        con.execute(
            "insert into review.items (lead_id, reason_codes, status, created_at) values"
            " ('ld_late0000000001', ['low_confidence'], 'pending', ?)",
            [datetime.now(UTC) - timedelta(days=9)],
        )
    assert send_review_alerts(settings, hook, policy).newly_overdue == 1
    assert len(hooks.messages("teams")) == 2
    assert "1 item past the SLA" in hooks.messages("teams")[1]["attachments"][0]["content"]["body"][0]["text"]


def test_a_failing_receiver_is_logged_with_its_status_and_retried_later(settings, hooks, caplog):
    _queue(settings, new=2, overdue=1)
    policy = load_policy(settings.policy)
    hook = _webhook(hooks.slack_url, "slack")
    hooks.fail("slack", 500)
    with caplog.at_level(logging.WARNING, logger="leadgate.alerts"):
        outcome = send_review_alerts(settings, hook, policy, run_id=RUN)
    assert outcome.status == "failed" and outcome.http_status == 500
    assert "HTTP status 500" in caplog.text and "abcdefghijkl" not in caplog.text  # the status, never the URL
    with db.connect(settings) as con:
        assert con.execute("select delivered, http_status from review.alerts").fetchall() == [(False, 500)]
        assert con.execute("select count(*) from review.sla_alerts").fetchone()[0] == 0  # released
    retry = send_review_alerts(settings, hook, policy, run_id=RUN)  # the receiver is back
    assert retry.status == "delivered" and retry.new_items == 2 and retry.newly_overdue == 1
    assert len(hooks.messages("slack")) == 2


def test_timeouts_are_bounded_and_an_unreachable_host_never_raises(settings, hooks):
    _queue(settings, new=1, overdue=0)
    policy = load_policy(settings.policy)
    hooks.slow("slack", 3.0)
    started = datetime.now(UTC)
    slow = send_review_alerts(settings, _webhook(hooks.slack_url, "slack", alert_timeout=0.5), policy, run_id=RUN)
    assert slow.status == "failed" and "within 0.5 s" in slow.error
    assert (datetime.now(UTC) - started).total_seconds() < 2.5
    gone = send_review_alerts(settings, _webhook("http://127.0.0.1:9/slack/x", "slack"), policy, run_id=RUN)
    assert gone.status == "failed" and gone.http_status is None and "127.0.0.1:9/slack" not in (gone.error or "")


def test_https_receiver_with_a_private_ca(settings, tls_ca):
    _queue(settings, new=1, overdue=0)
    with WebhookReceiver(ssl_context=tls_ca) as secure:
        assert secure.url.startswith("https://")
        outcome = send_review_alerts(
            settings, _webhook(secure.slack_url, "slack"), load_policy(settings.policy), run_id=RUN
        )
        assert outcome.status == "delivered"
        assert "1 new review item" in secure.messages("slack")[0]["text"]


def test_settings_that_cannot_work_turn_alerts_off_with_one_line(monkeypatch):
    from leadgate.review.alerts import webhook_from_environment

    said: list[str] = []
    monkeypatch.setenv("LEADGATE_ALERT_WEBHOOK_URL", "http://hooks.slack.com/services/T9/B9/plainhttpsecret")
    assert webhook_from_environment(said.append) is None
    monkeypatch.setenv("LEADGATE_ALERT_WEBHOOK_URL", "https://hooks.slack.com/services/T9/B9/httpssecret99")
    monkeypatch.setenv("LEADGATE_ALERT_TIMEOUT", "0")
    assert webhook_from_environment(said.append) is None
    monkeypatch.setenv("LEADGATE_ALERT_TIMEOUT", "3")
    hook = webhook_from_environment(said.append)
    assert hook is not None and (hook.format, hook.timeout) == ("slack", 3.0)
    assert len(said) == 2 and all(line.startswith("review alerts are off: ") for line in said)
    assert "https://" in said[0] and "LEADGATE_ALERT_TIMEOUT" in said[1]
    assert not any("secret" in line for line in said)
