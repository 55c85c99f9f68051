"""Review alerts: one message per run to a Slack or Microsoft Teams incoming webhook, and one per item past its SLA.

What leaves: counts, reason codes and a link to the queue (never a lead's name, email or text). Every
attempt is a row in `review.alerts`; an SLA-overdue item is claimed in `review.sla_alerts` before the send
(so it is announced once) and released when the send fails (so the next check tries again). An alert
that cannot be sent is logged with the HTTP status and never fails the run.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from connectors.alerts.webhook import Delivery, post_json
from leadgate.config import AlertSettings, LeadgateSettings
from leadgate.review.metrics import overdue_items
from leadgate.review.sla import sla_hours
from leadgate.shared.neutral_text import one_line
from leadgate.shared.redaction import redact, register_secret

log = logging.getLogger("leadgate.alerts")

SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
# Teams: legacy connectors (*.webhook.office.com) and Workflows (Power Automate / Logic Apps) URLs
TEAMS_HOSTS = (
    "webhook.office.com",
    "logic.azure.com",
    "powerautomate.com",
    "powerplatform.com",
    "flow.microsoft.com",
    "outlook.office.com",
)
LOOPBACK_NAMES = ("localhost",)
TOP_REASONS = 5


class AlertConfigError(ValueError):
    """The alert settings cannot work; the message names the variable, never the webhook URL."""


@dataclass(frozen=True)
class Webhook:
    """Where and how to post (built from AlertSettings at the edge)."""

    url: str
    format: str  # slack | teams
    host: str
    timeout: float
    review_url: str

    def __repr__(self) -> str:  # the URL is the secret: never in a repr, a log or a traceback
        return f"Webhook(format={self.format!r}, host={self.host!r})"


@dataclass
class AlertOutcome:
    """What one alert check did: `off`, `nothing_to_send`, `delivered` or `failed`."""

    status: str
    new_items: int = 0
    overdue: int = 0
    newly_overdue: int = 0
    http_status: int | None = None
    error: str | None = None
    top_reasons: list[tuple[str, int]] = field(default_factory=list)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_is(host: str, names: tuple[str, ...]) -> bool:
    return any(host == n or host.endswith("." + n) for n in names)


def detect_format(host: str) -> str | None:
    """slack / teams from the webhook's host, None when the host says neither."""
    if _host_is(host, SLACK_HOSTS):
        return "slack"
    if _host_is(host, TEAMS_HOSTS):
        return "teams"
    return None


def _checked_url(value: str, variable: str) -> tuple[str, str]:
    """(url, host) when https, or http to a loopback address; anything else is refused (no plain-http downgrade)."""
    try:
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        raise AlertConfigError(f"{variable} is not a URL; the value is not shown") from None
    if not host or parts.scheme not in ("https", "http"):
        raise AlertConfigError(f"{variable} must be an https:// URL; the value is not shown")
    if parts.scheme == "http" and not _is_loopback(host):
        raise AlertConfigError(f"{variable} must use https:// (plain http only to 127.0.0.1, localhost or ::1)")
    return value.strip(), host


def webhook_from(settings: AlertSettings) -> Webhook | None:
    """The webhook the settings describe, None when alerts are off; AlertConfigError when they cannot work."""
    if settings.alert_webhook_url is None:
        return None
    variable = "LEADGATE_ALERT_WEBHOOK_URL"
    url, host = _checked_url(settings.alert_webhook_url.get_secret_value(), variable)
    parts = urlsplit(url)
    register_secret(parts.path + (f"?{parts.query}" if parts.query else ""), variable)  # the key is in the path
    if parts.query:
        register_secret(parts.query, variable)
    kind = settings.alert_format if settings.alert_format != "auto" else detect_format(host)
    if kind is None:
        raise AlertConfigError(
            f"{variable}: cannot tell Slack from Teams by the host {host}: "
            "set LEADGATE_ALERT_FORMAT=slack or LEADGATE_ALERT_FORMAT=teams"
        )
    review_url = settings.review_url.strip()
    if urlsplit(review_url).scheme not in ("http", "https") or not urlsplit(review_url).hostname:
        raise AlertConfigError(f"LEADGATE_REVIEW_URL must be an http(s) URL of the review queue, got {review_url!r}")
    return Webhook(url=url, format=kind, host=host, timeout=settings.alert_timeout, review_url=review_url)


def webhook_from_environment(warn: Callable[[str], Any] = log.warning) -> Webhook | None:
    """Read LEADGATE_ALERT_* at the edge; a setting that cannot work is one warning line and no alerts."""
    from pydantic import ValidationError

    try:
        return webhook_from(AlertSettings())
    except AlertConfigError as exc:
        warn(f"review alerts are off: {exc}")
    except ValidationError as exc:
        problems = "; ".join(f"LEADGATE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        warn(f"review alerts are off: invalid setting {problems}")
    return None


# ---------------------------------------------------------------------- the message


def _plain(code: str) -> str:
    return one_line(str(code)).replace("_", " ")


def message_lines(outcome: AlertOutcome, sla_hours: float) -> tuple[str, list[str]]:
    """(headline, detail lines) in plain words; the same for Slack and Teams."""
    parts = []
    if outcome.new_items:
        parts.append(f"{outcome.new_items} new review item{'s' if outcome.new_items != 1 else ''}")
    if outcome.newly_overdue:
        parts.append(f"{outcome.newly_overdue} item{'s' if outcome.newly_overdue != 1 else ''} past the SLA")
    headline = "leadgate: " + (" and ".join(parts) or "review queue")
    lines = []
    if outcome.top_reasons:
        lines.append("Top reasons: " + ", ".join(f"{_plain(code)} ({n})" for code, n in outcome.top_reasons))
    lines.append(
        f"Overdue now: {outcome.overdue} pending item{'s' if outcome.overdue != 1 else ''} past the "
        f"{sla_hours:g} business-hour SLA" + (f" ({outcome.newly_overdue} newly)" if outcome.newly_overdue else "")
    )
    return headline, lines


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(
    headline: str, lines: list[str], review_url: str, button: str = "Open the review queue"
) -> dict[str, Any]:
    """An incoming-webhook message: `text` (notifications, fallback) and Block Kit `blocks`."""
    label = button.removeprefix("Open the ")
    return {
        "text": " ".join(f"{x}." for x in [headline, *lines]) + f" {label[:1].upper()}{label[1:]}: {review_url}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(_slack_escape(x) for x in lines)}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": button},
                        "url": review_url,
                    }
                ],
            },
        ],
    }


def teams_payload(
    headline: str, lines: list[str], review_url: str, button: str = "Open the review queue"
) -> dict[str, Any]:
    """An Adaptive Card in the `attachments` envelope (Teams Workflows webhooks, and legacy connectors)."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": headline, "weight": "Bolder", "size": "Medium", "wrap": True}
                    ]
                    + [{"type": "TextBlock", "text": line, "wrap": True} for line in lines],
                    "actions": [{"type": "Action.OpenUrl", "title": button, "url": review_url}],
                },
            }
        ],
    }


def post_webhook(webhook: Webhook, payload: dict[str, Any]) -> Delivery:
    """POST the payload through the webhook connector; never follows a redirect, never raises."""
    return post_json(webhook.url, webhook.host, webhook.timeout, payload)


# ---------------------------------------------------------------------- the check


def _utcnow() -> datetime:
    return datetime.now(UTC)


def send_review_alerts(
    settings: LeadgateSettings,
    webhook: Webhook | None,
    policy: Any,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> AlertOutcome:
    """One message for what `run_id` queued and the items newly past their SLA; never raises."""
    out = logger or log
    if webhook is None:
        return AlertOutcome("off")
    try:
        return _send(settings, webhook, policy, run_id=run_id, now=now or _utcnow(), out=out)
    except Exception as exc:
        message = one_line(redact(f"{type(exc).__name__}: {exc}"))
        out.warning("review alert not sent: %s", message)
        return AlertOutcome("failed", error=message)


def check_sla_alerts(
    settings: LeadgateSettings, webhook: Webhook | None, policy: Any, *, now: datetime | None = None
) -> AlertOutcome:
    """The SLA half alone (for the web server or a scheduler): items newly past their SLA, once each."""
    return send_review_alerts(settings, webhook, policy, now=now)


def _send(
    settings: LeadgateSettings, webhook: Webhook, policy: Any, *, run_id: str | None, now: datetime, out: Any
) -> AlertOutcome:
    from leadgate.store import db

    hours = sla_hours(policy)
    with db.connect(settings) as con:
        codes: list[str] = []
        if run_id is not None:
            started = con.execute("select started_at from meta.runs where run_id = ?", [run_id]).fetchone()
            told = con.execute(
                "select count(*) from review.alerts where run_id = ? and kind = 'run' and delivered", [run_id]
            ).fetchone()[0]
            if started is not None and not told:  # one message per run, even if the check runs again
                rows = con.execute(
                    "select reason_codes from review.items where status = 'pending' and created_at >= ?", [started[0]]
                ).fetchall()
                codes = [c for (cs,) in rows for c in (cs or [])]
                new_items = len(rows)
            else:
                new_items = 0
        else:
            new_items = 0
        overdue = overdue_items(con, policy, now=now)
        claimed = {r[0] for r in con.execute("select item_id from review.sla_alerts").fetchall()}
        fresh = [i["item_id"] for i in overdue if i["item_id"] not in claimed]
        outcome = AlertOutcome(
            "nothing_to_send",
            new_items=new_items,
            overdue=len(overdue),
            newly_overdue=len(fresh),
            top_reasons=Counter(codes).most_common(TOP_REASONS),
        )
        if not new_items and not fresh:
            return outcome
        alert_id = con.execute(
            "insert into review.alerts (run_id, kind, sent_at, format, new_items, overdue_items, newly_overdue, delivered)"
            " values (?, ?, ?, ?, ?, ?, ?, false) returning alert_id",
            [run_id, "run" if run_id else "sla", now, webhook.format, new_items, len(overdue), len(fresh)],
        ).fetchone()[0]
        if fresh:  # claimed before the send: two checks at once never announce an item twice
            con.executemany(
                "insert into review.sla_alerts (item_id, alert_id, alerted_at) values (?, ?, ?)",
                [[item_id, alert_id, now] for item_id in fresh],
            )
    headline, lines = message_lines(outcome, hours)
    build = slack_payload if webhook.format == "slack" else teams_payload
    delivery = post_webhook(webhook, build(headline, lines, webhook.review_url))
    with db.connect(settings) as con:
        con.execute(
            "update review.alerts set delivered = ?, http_status = ?, error = ? where alert_id = ?",
            [delivery.delivered, delivery.http_status, delivery.error, alert_id],
        )
        if not delivery.delivered:  # released: the next check announces them again
            con.execute("delete from review.sla_alerts where alert_id = ?", [alert_id])
    outcome.http_status, outcome.error = delivery.http_status, delivery.error
    if delivery.delivered:
        outcome.status = "delivered"
        out.info("review alert sent to %s (%s): %s", webhook.host, webhook.format, headline)
    else:
        outcome.status = "failed"
        out.warning(
            "review alert not delivered (HTTP status %s): %s; the run goes on",
            delivery.http_status if delivery.http_status is not None else "none",
            delivery.error,
        )
    return outcome
