"""Live CRM sync end to end: the real `leadgate` command and Prefect flow on a copy of data/sample, sending
to the Salesforce emulator over TLS (simple-salesforce) and to the HubSpot emulator (hubspot-api-client).

One shadow run builds the scored baseline; each CRM gets its own copy of that database and its own emulator.
Tests within a CRM section run in order and build on each other, as an operator's sessions would.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from tests.conftest import SAMPLE_DIR
from tests.e2e.helpers import cli_env, leadgate, query, run_json, scalar
from tests.emulators.fixtures import tls_ca  # noqa: F401  (session fixture: REQUESTS_CA_BUNDLE trusts the test CA)
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.salesforce import DEFAULT_CUSTOM_FIELDS, SalesforceEmulator

pytestmark = pytest.mark.slow

OWED_SQL = "select lead_id, email from marts.lead_features join lifecycle.lead_states using (lead_id) where state in ('qualified', 'synced')"


def error_lines(stderr: str) -> list[str]:
    """The whole of stderr, blank lines dropped: no `nanobind: leaked ...` or other exit noise after the error."""
    return [ln for ln in stderr.splitlines() if ln.strip()]


def one_clear_line(proc, *needles: str) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("leadgate: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, prefect_api):
    """The sample ingested, scored and routed by one shadow run (LEADGATE_CRM=none)."""
    work = tmp_path_factory.mktemp("live-baseline")
    inbox = work / "inbox"
    shutil.copytree(SAMPLE_DIR, inbox, ignore=shutil.ignore_patterns("*.md"))
    db = work / "leadgate.duckdb"
    summary = run_json(cli_env(db, inbox, prefect_api))
    assert summary["sync"]["sent"] == 0
    return {"work": work, "db": db, "prefect_api": prefect_api}


def copy_of(baseline, tmp_path_factory, name: str):
    work = tmp_path_factory.mktemp(name)
    shutil.copytree(SAMPLE_DIR, work / "inbox", ignore=shutil.ignore_patterns("*.md"))
    for name in ("leadgate.duckdb", "leadgate.duckdb.wal"):
        if (baseline["work"] / name).exists():
            shutil.copy2(baseline["work"] / name, work / name)
    return work, work / "inbox", work / "leadgate.duckdb"


# ---------------------------------------------------------------------------------------- Salesforce


@pytest.fixture(scope="module")
def sf(baseline, tls_ca, tmp_path_factory):
    emulator = SalesforceEmulator(tls_ca).start()
    _work, inbox, db = copy_of(baseline, tmp_path_factory, "live-sf")
    env = cli_env(
        db,
        inbox,
        baseline["prefect_api"],
        LEADGATE_SYNC_MODE="live",
        LEADGATE_CRM="salesforce",
        SALESFORCE_INSTANCE_URL=emulator.url,
        SALESFORCE_ACCESS_TOKEN=emulator.token,
        SALESFORCE_MAX_ATTEMPTS="2",
        SALESFORCE_RETRY_BASE_SECONDS="0.01",
        SALESFORCE_RETRY_MAX_SECONDS="0.05",
    )
    owed = dict(query(db, OWED_SQL))
    assert len(owed) >= 5, "the sample must qualify some leads"
    yield {"emulator": emulator, "env": env, "db": db, "inbox": inbox, "owed": owed}
    emulator.stop()


def test_sf_a_refused_token_stops_the_run_with_one_clear_line_and_marks_nothing(sf):
    db, emulator = sf["db"], sf["emulator"]
    bad = {**sf["env"], "SALESFORCE_ACCESS_TOKEN": "expired-session"}
    run = leadgate("run", env=bad)
    assert run.returncode == 1
    expected = "leadgate: error: Salesforce refused the access token (401 INVALID_SESSION_ID): set a valid SALESFORCE_ACCESS_TOKEN"
    assert error_lines(run.stderr)[-1] == expected
    one_clear_line(leadgate("sync", env=bad), "401 INVALID_SESSION_ID", "SALESFORCE_ACCESS_TOKEN")
    assert emulator.leads == {} and set(emulator.counts) == {"describe"}
    assert scalar(db, "select count(*) from sync.state") == scalar(db, "select count(*) from sync.attempts") == 0
    assert scalar(db, "select count(*) from sync.outbox where crm = 'salesforce'") == len(sf["owed"])
    assert scalar(db, "select count(*) from lifecycle.lead_states where state = 'synced'") == 0
    assert "401" in scalar(db, "select error from meta.runs where status = 'failed' order by started_at desc limit 1")


def test_sf_missing_fields_refuse_a_live_sync_and_crm_setup_names_them(sf):
    emulator = sf["emulator"]
    for name in ("Leadgate_Score__c", "Leadgate_Summary__c"):
        emulator.remove_field(name)
    one_clear_line(leadgate("sync", env=sf["env"]), "Leadgate_Score__c, Leadgate_Summary__c", "leadgate crm setup")
    setup = leadgate("crm", "setup", env=sf["env"])
    one_clear_line(setup, "Salesforce is not ready for a live sync: 2 Lead field(s) missing")
    assert "  - Lead.Leadgate_Score__c: Number(16, 2), label 'leadgate score'" in setup.stdout
    assert "  - Lead.Leadgate_Summary__c: Long Text Area(32768), label 'leadgate summary'" in setup.stdout
    for name in ("Leadgate_Score__c", "Leadgate_Summary__c"):  # the admin creates them
        emulator.lead_fields[name] = dict(DEFAULT_CUSTOM_FIELDS[name])
    ready = leadgate("crm", "setup", env=sf["env"])
    assert ready.returncode == 0 and "salesforce is ready" in ready.stdout
    assert emulator.leads == {} and not emulator.requests_of("collections_upsert")


def test_sf_preview_names_every_owed_lead_and_its_fields_and_sends_nothing(sf):
    emulator, db = sf["emulator"], sf["db"]
    emulator.reset_traffic()
    outbox = query(db, "select lead_id, payload_hash from sync.outbox order by 1")
    proc = leadgate("sync", "--preview", "--limit", "0", env=sf["env"])
    assert proc.returncode == 0, proc.stderr
    assert f"{len(sf['owed'])} lead(s) would be sent: {len(sf['owed'])} created, 0 updated" in proc.stdout
    for lead_id, email in sf["owed"].items():
        line = next(ln for ln in proc.stdout.splitlines() if lead_id in ln)
        assert line.startswith("create") and email in line and "Leadgate_Score__c" in line and "LastName" in line
    assert sum(emulator.counts.values()) == 0
    assert query(db, "select lead_id, payload_hash from sync.outbox order by 1") == outbox


def test_sf_a_write_applied_but_never_answered_leaves_the_leads_owed(sf):
    emulator, db, n = sf["emulator"], sf["db"], len(sf["owed"])
    emulator.drop_after_apply("collections_upsert", times=2)  # both attempts (SALESFORCE_MAX_ATTEMPTS=2)
    proc = leadgate("sync", env=sf["env"])
    assert proc.returncode == 0, proc.stderr
    assert f"sent {n}: 0 acknowledged" in proc.stdout and f"{n} left owed" in proc.stdout
    assert len(emulator.leads) == n  # Salesforce has them ...
    assert scalar(db, "select count(*) from sync.state") == 0  # ... leadgate never heard back
    assert query(db, "select outcome, http_status, count(*) from sync.attempts group by all") == [
        ("retry", None, 2 * n)
    ]
    assert scalar(db, "select count(*) from sync.outbox where reason = 'retry'") == n


def test_sf_the_pipeline_then_delivers_every_qualified_lead_exactly_once(sf):
    emulator, db, owed = sf["emulator"], sf["db"], sf["owed"]
    summary = run_json(sf["env"])
    sync = summary["sync"]
    assert (sync["sent"], sync["acknowledged"], sync["synced"], sync["retry"]) == (len(owed), len(owed), len(owed), 0)
    assert all(inv["ok"] for inv in summary["status"]["invariants"]), summary["status"]["invariants"]
    # one Lead per qualified lead: the leads applied during the dropped connection were updated, not created again
    assert sorted(r["Leadgate_Id__c"] for r in emulator.leads.values()) == sorted(owed)
    assert sorted(r["Email"] for r in emulator.leads.values()) == sorted(owed.values())
    assert query(
        db,
        """select response ->> 'created', count(*) from sync.attempts
                        where outcome = 'acknowledged' group by 1""",
    ) == [("false", len(owed))]
    assert query(
        db, "select distinct state from lifecycle.lead_states where lead_id in (select lead_id from sync.state)"
    ) == [("synced",)]
    # one attempt row per record per attempt: two dropped, then the acknowledged one
    assert query(db, "select distinct count(*) from sync.attempts group by lead_id") == [(3,)]
    assert scalar(db, "select count(*) from sync.outbox") == 0


def test_sf_an_unchanged_rerun_makes_zero_crm_requests(sf):
    sf["emulator"].reset_traffic()
    summary = run_json(sf["env"])
    assert (summary["sync"]["sent"], summary["sync"]["crm_calls"]) == (0, 0)
    assert sum(sf["emulator"].counts.values()) == 0, dict(sf["emulator"].counts)


def test_sf_leads_without_consent_or_in_review_were_never_sent(sf):
    db, emulator = sf["db"], sf["emulator"]
    in_crm = {str(r["Email"]).lower() for r in emulator.leads.values()}
    scored_ok = "lead_id in (select lead_id from scoring.scores where qualified)"
    no_consent = {
        r[0] for r in query(db, f"select email from marts.lead_features where not has_consent and {scored_ok}")
    }
    in_review = {
        r[0]
        for r in query(
            db,
            f"""select email from marts.lead_features join lifecycle.lead_states using (lead_id)
                                          where state = 'needs_review' and {scored_ok}""",
        )
    }
    assert no_consent and in_review, "the sample must have qualifying scores held back by consent and by review"
    assert not in_crm & no_consent and not in_crm & in_review
    assert (
        scalar(
            db,
            """select count(*) from sync.attempts a join marts.lead_features f using (lead_id)
                         where not f.has_consent""",
        )
        == 0
    )


def test_sf_a_changed_lead_is_previewed_field_by_field_then_updated_in_place(sf):
    db, emulator, env = sf["db"], sf["emulator"], sf["env"]
    lead_id, email, title = query(
        db,
        """
        select f.lead_id, f.email, f.job_title from marts.lead_features f join scoring.scores s using (lead_id)
        join lifecycle.lead_states ls using (lead_id)
        where ls.state = 'synced' and f.job_title is not null order by s.score desc limit 1""",
    )[0]
    (sf["inbox"] / "title_change.jsonl").write_text(
        json.dumps(
            {
                "event_id": "title-change-1",
                "source": "form",
                "event_type": "form_submit",
                "occurred_at": "2026-11-15T11:00:00Z",
                "email": email,
                "job_title": "Chief Executive Officer",
                "consent": True,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    shadow = run_json({**env, "LEADGATE_SYNC_MODE": "shadow"})  # scores it, queues the new payload, sends nothing
    assert shadow["sync"]["outbox"]["changed"] == 1 and shadow["sync"]["sent"] == 0
    record = next(r for r in emulator.leads.values() if r["Leadgate_Id__c"] == lead_id)
    old_score = record["Leadgate_Score__c"]

    preview = leadgate("sync", "--preview", env=env)
    assert preview.returncode == 0, preview.stderr
    line = next(ln for ln in preview.stdout.splitlines() if lead_id in ln)
    assert line.startswith("update") and email in line and "[changed]" in line
    assert f"Title: '{title}' -> 'Chief Executive Officer' (only if empty in the CRM)" in line

    emulator.reset_traffic()
    proc = leadgate("sync", env=env)
    assert proc.returncode == 0 and "sent 1: 1 acknowledged" in proc.stdout, proc.stdout + proc.stderr
    [call] = emulator.requests_of("collections_upsert")
    assert [r["Leadgate_Id__c"] for r in call.json()["records"]] == [lead_id]
    record = next(r for r in emulator.leads.values() if r["Leadgate_Id__c"] == lead_id)
    assert record["Title"] == title  # sales' value (if_empty) kept
    new_score = scalar(
        db, "select score from scoring.scores where lead_id = ? order by score_id desc limit 1", [lead_id]
    )
    assert record["Leadgate_Score__c"] == round(new_score, 2) and len(emulator.leads) == len(sf["owed"])
    assert old_score is not None
    assert scalar(db, "select state from lifecycle.lead_states where lead_id = ?", [lead_id]) == "synced"


# ---------------------------------------------------------------------------------------- HubSpot


@pytest.fixture(scope="module")
def hs(baseline, tmp_path_factory):
    emulator = HubSpotEmulator(with_custom_properties=False).start()
    _work, inbox, db = copy_of(baseline, tmp_path_factory, "live-hs")
    env = cli_env(
        db,
        inbox,
        baseline["prefect_api"],
        LEADGATE_SYNC_MODE="live",
        LEADGATE_CRM="hubspot",
        HUBSPOT_BASE_URL=emulator.url,
        HUBSPOT_ACCESS_TOKEN=emulator.token,
        HUBSPOT_REQUESTS_PER_10S="0",
        HUBSPOT_RETRY_BASE_SECONDS="0.01",
        HUBSPOT_RETRY_MAX_SECONDS="0.05",
    )
    yield {"emulator": emulator, "env": env, "db": db, "owed": dict(query(db, OWED_SQL))}
    emulator.stop()


def test_hs_a_live_run_refuses_to_start_while_properties_are_missing(hs):
    run = leadgate("run", env=hs["env"])
    assert run.returncode == 1
    last = error_lines(run.stderr)[-1]
    assert last.startswith("leadgate: error: hubspot lacks 10 contact properties leadgate writes (leadgate_lead_id, ")
    assert "leadgate_score" in last and "run `leadgate crm setup`" in last
    assert hs["emulator"].contacts == {} and dict(hs["emulator"].counts) == {"properties_list": 1}
    assert scalar(hs["db"], "select count(*) from sync.state") == 0


def test_hs_crm_setup_creates_them_and_the_run_upserts_every_qualified_lead_once(hs):
    emulator, owed = hs["emulator"], hs["owed"]
    setup = leadgate("crm", "setup", env=hs["env"])
    assert setup.returncode == 0, setup.stderr
    assert "created 10 HubSpot contact propert(ies): leadgate_lead_id, leadgate_score" in setup.stdout
    assert emulator.properties["leadgate_score"]["type"] == "number"

    emulator.reset_traffic()
    summary = run_json(hs["env"])
    assert (summary["sync"]["acknowledged"], summary["sync"]["synced"]) == (len(owed), len(owed))
    contacts = [c["properties"] for c in emulator.contacts.values()]
    assert sorted(c["email"] for c in contacts) == sorted(e.lower() for e in owed.values())
    assert {c["leadgate_lead_id"] for c in contacts} == set(owed)
    assert {c["lifecyclestage"] for c in contacts} == {"marketingqualifiedlead"}
    assert emulator.counts["batch_upsert"] == math.ceil(len(owed) / 100)
    assert all(inv["ok"] for inv in summary["status"]["invariants"])

    emulator.reset_traffic()
    again = run_json(hs["env"])
    assert (again["sync"]["sent"], again["sync"]["crm_calls"], sum(emulator.counts.values())) == (0, 0, 0)
