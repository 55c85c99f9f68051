"""Drift alerts: one Slack/Teams message per drift episode of the deciding model, through the review alert webhook.

A run whose champion drifted (PSI above the policy's `model.drift_psi`, measured by leadgate/model/run.py)
is news when nothing was announced for that version yet, when the last attempt was not delivered, when a
run in between was calm (a new episode), when a feature drifts that the last message did not name, or when
a feature's PSI reached WORSE_FACTOR times what was announced. Anything else is the same episode and stays
quiet: an operator who was told once is not told again on every run. Every attempt is a row in
`review.drift_alerts`. What leaves: the model version, feature names and PSI values, never lead data.
An alert that cannot be sent is logged and never fails the run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from leadgate.config import LeadgateSettings
from leadgate.review.alerts import Webhook, post_webhook, slack_payload, teams_payload
from leadgate.shared.neutral_text import one_line
from leadgate.shared.redaction import redact
from leadgate.store.sql import json_value

log = logging.getLogger("leadgate.alerts")

WORSE_FACTOR = 1.5  # a drifted feature's PSI this many times the one announced is worth a new message
WHY = {
    "first": "first drift alert for this model version",
    "retry": "the last drift alert was not delivered",
    "after_calm": "drift is back after a calm run",
    "new_feature": "a feature drifts that the last alert did not name",
    "worse": f"drift at least {WORSE_FACTOR:g}x worse than the last alert",
}
WHAT_TO_DO = (
    "What to do: retrain on recent outcomes (`leadgate model train`), shadow the new version "
    "(`leadgate model shadow V`) and check it with `leadgate model compare V` before promoting it"
)


@dataclass
class DriftAlertOutcome:
    """What one drift check did: `off`, `calm`, `already_sent`, `delivered` or `failed`."""

    status: str
    model_version: str | None = None
    why: str | None = None
    drifted: dict[str, float] | None = None
    last_sent_run: str | None = None  # already_sent: the run whose alert covers this episode
    http_status: int | None = None
    error: str | None = None


def drifted_features(drift: dict[str, Any] | None) -> dict[str, float]:
    """{feature: PSI} of what drifted in a run's drift record (leadgate/model/run.py record_drift), worst first."""
    if not drift:
        return {}
    psi = drift.get("psi") or {}
    return {name: float(psi[name]) for name in drift.get("drifted") or [] if name in psi}


def why_send(current: dict[str, float], last: dict[str, Any] | None, calm_since_last: bool) -> str | None:
    """Why this run's drift deserves a message (a WHY key), or None: the episode was announced already."""
    if not current:
        return None
    if last is None:
        return "first"
    if not last["delivered"]:
        return "retry"
    if calm_since_last:
        return "after_calm"
    sent = last["psi"]
    if set(current) - set(sent):
        return "new_feature"
    if any(v >= WORSE_FACTOR * sent[name] for name, v in current.items()):
        return "worse"
    return None


def message_lines(
    version: str, current: dict[str, float], limit: float, leads: int, run_id: str | None, why: str, last: dict | None
) -> tuple[str, list[str]]:
    """(headline, detail lines) in plain words; the same for Slack and Teams."""
    headline = f"leadgate: model {version} drifted, its leads no longer look like its training data"
    listed = ", ".join(f"{name} PSI {v:.2f}" for name, v in current.items())
    lines = [f"Drifted (PSI above {limit:g}): {listed}"]
    reason = WHY[why]
    if last and why in ("new_feature", "worse"):  # what changed since the message the team already has
        new = [n for n in current if n not in last["psi"]]
        moved = [f"{n} was {last['psi'][n]:.2f}, now {v:.2f}" for n, v in current.items() if n in last["psi"]]
        reason += "".join(
            f"; {label}: {', '.join(names)}" for label, names in (("new", new), ("since then", moved)) if names
        )
    lines.append(f"Why this message: {reason}")
    lines.append(f"Measured on {leads} lead{'s' if leads != 1 else ''} scored in run {run_id}")
    lines.append(WHAT_TO_DO)
    return headline, lines


def _last_alert(con, version: str) -> dict[str, Any] | None:
    row = con.execute(
        "select run_id, sent_at, psi, delivered from review.drift_alerts where model_version = ?"
        " order by sent_at desc, alert_id desc limit 1",
        [version],
    ).fetchone()
    if row is None:
        return None
    return {"run_id": row[0], "sent_at": row[1], "psi": json_value(row[2]), "delivered": bool(row[3])}


def _calm_since(con, version: str, since: datetime, run_id: str | None) -> bool:
    """Whether a run of this version measured no drift after `since` (the last alert): the episode ended."""
    return bool(
        con.execute(
            "select count(*) from (select run_id, bool_or(drifted) as drifted, max(measured_at) as last_at"
            " from scoring.drift where model_version = ? group by run_id)"
            " where not drifted and last_at > ? and run_id is distinct from ?",
            [version, since, run_id],
        ).fetchone()[0]
    )


def send_drift_alert(
    settings: LeadgateSettings,
    webhook: Webhook | None,
    drift: dict[str, Any] | None,
    *,
    run_id: str | None,
    now: datetime | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> DriftAlertOutcome:
    """One message when this run's drift (the run summary's `model.drift`) starts or worsens an episode; never raises."""
    out = logger or log
    current = drifted_features(drift)
    version = (drift or {}).get("model_version")
    if webhook is None:
        return DriftAlertOutcome("off", version, drifted=current or None)
    if not current:
        return DriftAlertOutcome("calm", version)
    try:
        return _send(settings, webhook, drift or {}, current, run_id=run_id, now=now or datetime.now(UTC), out=out)
    except Exception as exc:
        message = one_line(redact(f"{type(exc).__name__}: {exc}"))
        out.warning("drift alert not sent: %s", message)
        return DriftAlertOutcome("failed", version, drifted=current, error=message)


def _send(
    settings: LeadgateSettings,
    webhook: Webhook,
    drift: dict[str, Any],
    current: dict[str, float],
    *,
    run_id: str | None,
    now: datetime,
    out: Any,
) -> DriftAlertOutcome:
    from leadgate.store import db

    version = drift["model_version"]
    with db.connect(settings) as con:
        last = _last_alert(con, version)
        why = why_send(current, last, last is not None and _calm_since(con, version, last["sent_at"], run_id))
        if why is None:
            return DriftAlertOutcome("already_sent", version, drifted=current, last_sent_run=last and last["run_id"])
        alert_id = con.execute(
            "insert into review.drift_alerts (run_id, model_version, sent_at, format, why, psi, delivered)"
            " values (?, ?, ?, ?, ?, ?::json, false) returning alert_id",
            [run_id, version, now, webhook.format, why, json.dumps(current)],
        ).fetchone()[0]
    headline, lines = message_lines(
        version, current, float(drift.get("psi_threshold") or 0), int(drift.get("leads") or 0), run_id, why, last
    )
    build = slack_payload if webhook.format == "slack" else teams_payload
    delivery = post_webhook(
        webhook, build(headline, lines, urljoin(webhook.review_url, "metrics"), button="Open the model metrics")
    )
    with db.connect(settings) as con:
        con.execute(
            "update review.drift_alerts set delivered = ?, http_status = ?, error = ? where alert_id = ?",
            [delivery.delivered, delivery.http_status, delivery.error, alert_id],
        )
    outcome = DriftAlertOutcome(
        "delivered" if delivery.delivered else "failed",
        version,
        why=why,
        drifted=current,
        http_status=delivery.http_status,
        error=delivery.error,
    )
    if delivery.delivered:
        out.info("drift alert sent to %s (%s): %s", webhook.host, webhook.format, headline)
    else:
        out.warning(
            "drift alert not delivered (HTTP status %s): %s; the run goes on, the next drifting run tries again",
            delivery.http_status if delivery.http_status is not None else "none",
            delivery.error,
        )
    return outcome
