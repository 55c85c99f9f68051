"""The one email rule on real ingest, dbt and forget: a Kelvin-sign look-alike is another person (issue 8 item 9)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leadgate.config import LeadgateSettings
from leadgate.ingest import ingest_paths
from leadgate.store import db
from leadgate.store.forget import forget_person
from leadgate.transform.dbt import run_dbt

CONSENT = Path(__file__).resolve().parents[1] / "fixtures" / "consent"
REAL = "kelvin@acme-labs.com"
LOOK_ALIKE = "\u212aelvin@acme-labs.com"  # KELVIN SIGN, which Unicode lower-casing turns into 'k'


def _q(settings: LeadgateSettings, sql: str, params: list | None = None) -> list[tuple]:
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture
def built(settings: LeadgateSettings) -> LeadgateSettings:
    shutil.copyfile(CONSENT / "kelvin.jsonl", settings.inbox / "kelvin.jsonl")
    ingest_paths(settings, [settings.inbox])
    run_dbt(settings)
    return settings


def test_kelvin_sign_look_alike_neither_merges_nor_withdraws_the_real_persons_consent(built: LeadgateSettings) -> None:
    emails = {e for (e,) in _q(built, "select distinct email from raw.engagement_events")}
    # ingest kept the look-alike distinct: A-Z lower-cased, the Kelvin sign kept as typed
    assert emails == {REAL, LOOK_ALIKE}
    leads = {
        r[0]: r[1:]
        for r in _q(built, "select email, event_count, consent_status, has_consent from marts.lead_features")
    }
    assert leads == {REAL: (6, "granted", True), LOOK_ALIKE: (2, "withdrawn", False)}


def test_forgetting_the_look_alike_leaves_the_real_person_and_the_other_way_round(built: LeadgateSettings) -> None:
    report = forget_person(built, LOOK_ALIKE.upper(), rewrite=False)  # upper(): only A-Z change case
    assert report.events == 2
    assert _q(built, "select count(*) from raw.engagement_events where email = ?", [REAL]) == [(6,)]
    assert _q(built, "select consent_status from marts.lead_features where email = ?", [REAL]) == [("granted",)]

    forget_person(built, "KELVIN@ACME-LABS.COM", rewrite=False)
    assert _q(built, "select count(*) from raw.engagement_events") == [(0,)]


def test_forgetting_the_real_person_keeps_the_look_alikes_rows(built: LeadgateSettings) -> None:
    report = forget_person(built, "Kelvin@Acme-Labs.com", rewrite=False)
    assert report.events == 6
    assert _q(built, "select email, count(*) from raw.engagement_events group by email") == [(LOOK_ALIKE, 2)]
    assert [e for (e,) in _q(built, "select email from marts.lead_features")] == [LOOK_ALIKE]


def test_internationalised_domains_are_one_domain_whatever_the_spelling(settings: LeadgateSettings) -> None:
    lines = [
        {
            "event_id": f"e{i}",
            "source": "form",
            "event_type": "form_submit",
            "occurred_at": "2026-11-01T09:00:00Z",
            "email": email,
        }
        for i, email in enumerate(
            ["anna@Bücher.DE", "ANNA@xn--bcher-kva.de", "anna@bücher.de", "anna\u200b@bücher.de", "anna@xn--zz.de"]
        )
    ]
    path = settings.inbox / "idn.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    report = ingest_paths(settings, [path])
    assert (report.accepted, report.rejected) == (3, 2)
    assert _q(settings, "select distinct email from raw.engagement_events") == [("anna@xn--bcher-kva.de",)]
    reasons = [r for (r,) in _q(settings, "select reason from raw.rejected_events order by line_no")]
    assert reasons == [
        "email 'anna\u200b@bücher.de' is not a valid email address",
        "email 'anna@xn--zz.de' is not a valid email address",
    ]
