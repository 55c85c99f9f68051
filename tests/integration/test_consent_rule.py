"""The one consent rule end to end on real ingest + dbt: vocabulary, refusal by event time, consent.unknown.

Each reproduction of issue 8 item 1 is a test: refusals written as "no", 0, "N", "off" in JSON Lines are
refusals, never qualified nor owed to the CRM; unknown consent is denied by the mart, routing, the sync
and review approval unless the policy's consent.unknown is allow; a refusal after a grant wins until a
later grant. Fixtures: tests/fixtures/consent/.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from leadgate.config import DEFAULT_POLICY, LeadgateSettings
from leadgate.ingest import ingest_paths
from leadgate.policy import Policy, load_policy
from leadgate.review.service import ReviewError, ReviewService
from leadgate.routing.rules import apply_routes, route_leads
from leadgate.scoring.baseline import BaselineScorer, leads_to_score, record_scores, sync_pending_leads
from leadgate.store import db
from leadgate.sync.outbox import refresh_outbox
from leadgate.transform.dbt import run_dbt
from tests.fixtures.scoring.frames import NOW
from tests.fixtures.services import builders

CONSENT = Path(__file__).resolve().parents[1] / "fixtures" / "consent"
REFUSERS = ["nora@northwind.io", "zed@northwind.io", "nils@northwind.io", "olga@northwind.io"]  # "no", 0, "N", "off"
GRANTER, SILENT = "grace@northwind.io", "sam@northwind.io"
FLIPPED, CAME_BACK = "fay@contoso.com", "ben@contoso.com"


@dataclass
class Pipeline:
    settings: LeadgateSettings
    policy: Policy


def _settings(root: Path, unknown: str | None = None) -> LeadgateSettings:
    root.mkdir(parents=True, exist_ok=True)
    policy = DEFAULT_POLICY
    if unknown is not None:
        data = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
        data["version"] += f"-unknown-{unknown}"
        data["consent"] = {"unknown": unknown}
        policy = root / "policy.yaml"
        policy.write_text(yaml.safe_dump(data), encoding="utf-8")
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    return LeadgateSettings(db=root / "leadgate.duckdb", inbox=inbox, policy=policy, lock_timeout=5.0, _env_file=None)


def _load(settings: LeadgateSettings, *names: str) -> None:
    for name in names:
        shutil.copyfile(CONSENT / name, settings.inbox / name)
    ingest_paths(settings, [settings.inbox / name for name in names])


def _decide(settings: LeadgateSettings, policy: Policy) -> None:
    """Score -> route -> outbox, as the pipeline's decide and sync steps do (no gate verdict)."""
    with db.connect(settings) as con:
        sync_pending_leads(con)
        features = leads_to_score(con, rescore_all=True)
        scorer = BaselineScorer(policy)
        recorded = record_scores(con, scorer.score(features, NOW), "run-consent", policy)
        frame = features.drop(columns=["feature_hash"]).merge(recorded, on="lead_id")
        apply_routes(
            con,
            route_leads(frame, None, policy),
            frame,
            run_id="run-consent",
            policy=policy,
            scorer_version=scorer.version,
        )
        refresh_outbox(con, "none", policy)


def _build(root: Path, unknown: str | None) -> Pipeline:
    settings = _settings(root, unknown)
    policy = load_policy(settings.policy)
    _load(settings, "refusals.jsonl", "timeline.csv")
    run_dbt(settings)
    _decide(settings, policy)
    return Pipeline(settings, policy)


@pytest.fixture(scope="module")
def deny(tmp_path_factory) -> Pipeline:
    return _build(tmp_path_factory.mktemp("consent-deny"), None)  # the shipped policy: consent.unknown deny


@pytest.fixture(scope="module")
def allow(tmp_path_factory) -> Pipeline:
    return _build(tmp_path_factory.mktemp("consent-allow"), "allow")


def _q(settings: LeadgateSettings, sql: str, params: list | None = None) -> list[tuple]:
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


def _lead(settings: LeadgateSettings, email: str) -> dict:
    rows = _q(
        settings,
        """
        select f.lead_id, f.has_consent, f.consent_status, s.state, s.reason_codes,
               exists (select 1 from sync.outbox o where o.lead_id = f.lead_id) as owed
        from marts.lead_features f join lifecycle.lead_states s using (lead_id) where f.email = ?""",
        [email],
    )
    assert len(rows) == 1, f"{email}: {rows}"
    return dict(zip(("lead_id", "has_consent", "consent_status", "state", "reason_codes", "owed"), rows[0]))


def test_jsonl_no_zero_n_off_are_refusals_never_qualified_nor_owed(deny: Pipeline) -> None:
    consent = dict(
        _q(deny.settings, "select email, consent from raw.engagement_events where event_type = 'meeting_request'")
    )
    assert {email: consent[email] for email in REFUSERS} == dict.fromkeys(REFUSERS, False)
    assert _q(deny.settings, "select count(*) from raw.field_issues where field = 'consent'") == [(0,)]
    for email in REFUSERS:
        lead = _lead(deny.settings, email)
        assert (lead["has_consent"], lead["consent_status"]) == (False, "withdrawn"), email
        assert (lead["state"], lead["owed"]) == ("nurture", False), email
        assert "no_consent" in lead["reason_codes"]
    # The same profile with a grant is qualified and owed: the refusal is what stops the others.
    granter = _lead(deny.settings, GRANTER)
    assert (granter["consent_status"], granter["state"], granter["owed"]) == ("granted", "qualified", True)


def test_refusals_still_win_when_unknown_consent_is_allowed(allow: Pipeline) -> None:
    for email in REFUSERS:
        lead = _lead(allow.settings, email)
        assert (lead["has_consent"], lead["state"], lead["owed"]) == (False, "nurture", False), email


def test_unknown_consent_is_denied_by_default_in_mart_routing_and_sync(deny: Pipeline) -> None:
    lead = _lead(deny.settings, SILENT)
    assert (lead["has_consent"], lead["consent_status"]) == (False, "unknown")
    assert (lead["state"], lead["owed"]) == ("nurture", False)
    assert list(lead["reason_codes"]) == ["no_consent"]


def test_unknown_consent_is_allowed_with_the_policy_switch(allow: Pipeline) -> None:
    lead = _lead(allow.settings, SILENT)
    assert (lead["has_consent"], lead["consent_status"]) == (True, "unknown")
    assert (lead["state"], lead["owed"]) == ("qualified", True)


def test_refusal_after_a_grant_wins_and_a_later_grant_restores(deny: Pipeline) -> None:
    flipped, back = _lead(deny.settings, FLIPPED), _lead(deny.settings, CAME_BACK)
    assert (flipped["consent_status"], flipped["state"], flipped["owed"]) == ("withdrawn", "nurture", False)
    assert (back["consent_status"], back["state"], back["owed"]) == ("granted", "qualified", True)


def test_a_refusal_loaded_later_but_older_than_the_regrant_does_not_undo_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "late")
    _load(settings, "timeline.csv")
    _load(settings, "late_refusal.jsonl")  # 17 Nov, loaded last; the re-grant is of 18 Nov
    run_dbt(settings)
    assert _q(settings, "select consent_status, has_consent from marts.lead_features where email = ?", [CAME_BACK]) == [
        ("granted", True)
    ]


def _open_item(settings: LeadgateSettings, email: str) -> int:
    with db.connect(settings) as con:
        lead_id = con.execute("select lead_id from marts.lead_features where email = ?", [email]).fetchall()[0][0]
        score_id = con.execute("select max(score_id) from scoring.scores where lead_id = ?", [lead_id]).fetchall()[0][0]
        con.execute("update lifecycle.lead_states set state = 'needs_review' where lead_id = ?", [lead_id])
        return builders.open_item(con, lead_id, ["target_account"], score_id)


def test_approval_refuses_unknown_consent_by_default(deny: Pipeline) -> None:
    item = _open_item(deny.settings, SILENT)
    with pytest.raises(ReviewError, match="consent unknown"):
        ReviewService(deny.settings, deny.policy).approve(item, "rita")
    assert _q(deny.settings, "select status from review.items where item_id = ?", [item]) == [("pending",)]


def test_approval_accepts_unknown_consent_with_the_policy_switch_but_never_a_refusal(allow: Pipeline) -> None:
    item = _open_item(allow.settings, SILENT)
    ReviewService(allow.settings, allow.policy).approve(item, "rita")
    assert _lead(allow.settings, SILENT)["state"] == "qualified"
    refused = _open_item(allow.settings, REFUSERS[0])
    with pytest.raises(ReviewError, match="withdrew consent"):
        ReviewService(allow.settings, allow.policy).approve(refused, "rita")


def _vocabulary_cases() -> list[tuple[str, str]]:
    with (CONSENT / "vocabulary_cases.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["json_value"], row["expected"]) for row in csv.DictReader(handle)]


def test_the_vocabulary_reads_the_same_in_json_lines_and_csv(settings: LeadgateSettings) -> None:
    cases = _vocabulary_cases()
    jsonl, csv_path = settings.inbox / "vocab.jsonl", settings.inbox / "vocab.csv"
    with jsonl.open("w", encoding="utf-8") as handle:
        for i, (literal, _) in enumerate(cases):
            handle.write(
                f'{{"event_id": "j{i}", "source": "form", "event_type": "form_submit", '
                f'"occurred_at": "2026-11-01T09:00:00Z", "email": "j{i}@example.com", "consent": {literal}}}\n'
            )
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "source", "event_type", "occurred_at", "email", "consent"])
        for i, (literal, _) in enumerate(cases):
            value = json.loads(literal)
            text = str(value).lower() if isinstance(value, bool) else str(value)
            writer.writerow([f"c{i}", "form", "form_submit", "2026-11-01T09:00:00Z", f"c{i}@example.com", text])
    ingest_paths(settings, [jsonl, csv_path])
    stored = dict(_q(settings, "select event_id, consent from raw.engagement_events"))
    issues = {
        r[0]: r[1] for r in _q(settings, "select event_id, raw_value from raw.field_issues where field = 'consent'")
    }
    meaning = {"grant": True, "refusal": False, "unknown": None}
    for i, (literal, expected) in enumerate(cases):
        for key in (f"j{i}", f"c{i}"):
            assert stored[key] is meaning[expected], (key, literal)
            assert (key in issues) == (expected == "unknown"), (key, literal)
