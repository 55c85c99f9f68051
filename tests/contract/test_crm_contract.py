"""What every CRM connector promises, run against both emulators with the real SDKs over HTTP(S).

Each CRM's own wire facts (record shapes, 207s, Bulk jobs, look-ups, set-up) keep their tests in
tests/integration/test_salesforce_connector.py and test_hubspot_connector.py.
"""

from __future__ import annotations

import time

import pytest

from connectors.crm.base import CrmAuthError, CrmConnector, SyncOutcome
from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.sync.outbox import run_sync
from tests.emulators.crms import crm, crm_for  # noqa: F401  (a pytest fixture)
from tests.emulators.fixtures import (  # noqa: F401  (pytest fixtures)
    hs_emulator,
    hubspot_server,
    salesforce_server,
    sf_emulator,
    synthetic_leads,
    tls_ca,
)
from tests.fixtures.services import builders


def by_lead(results):
    assert len({r.lead_id for r in results}) == len(results)
    return {r.lead_id: r for r in results}


# 403 REQUEST_LIMIT_EXCEEDED is Salesforce's way of saying 429; HubSpot's 403 is a missing scope (final).
TRANSIENT = [("salesforce", 429, {"Retry-After": "1"}), ("salesforce", 429, {}), ("salesforce", 403, {}),
             ("salesforce", 500, {}), ("salesforce", 503, {}),
             ("hubspot", 429, {"Retry-After": "1"}), ("hubspot", 429, {}), ("hubspot", 500, {}), ("hubspot", 502, {})]


@pytest.mark.parametrize("name,status,headers", TRANSIENT)
def test_transient_failures_are_retried_until_they_converge(request, name, status, headers):
    crm = crm_for(request, name)
    crm.emulator.fail(crm.write_kind, status, times=2, headers=headers)
    connector = crm.connector()
    assert isinstance(connector, CrmConnector)
    started = time.monotonic()
    results = connector.upsert_leads(synthetic_leads(5))

    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED for r in results)
    assert crm.emulator.counts[crm.write_kind] == 3 and connector.stats.retries == 2
    assert len(crm.stored()) == 5
    assert [a.http_status for a in results[0].attempts] == [status, status, 200]
    if headers:
        assert min(connector.stats.extra["waits"]) >= 1.0 and time.monotonic() - started >= 2.0


def test_retries_are_bounded_and_the_leads_stay_owed(crm):
    crm.emulator.fail(crm.write_kind, 503, times=10)
    results = crm.connector(max_attempts=3).upsert_leads(synthetic_leads(4))

    assert all(r.outcome == SyncOutcome.RETRY and r.error_code == crm.unavailable_code for r in results)
    assert crm.emulator.counts[crm.write_kind] == 3
    assert len(results[0].attempts) == 3
    assert len(crm.stored()) == 0


def test_a_timeout_is_retried_without_creating_a_duplicate(crm):
    crm.emulator.slow(crm.write_kind, 1.5)
    results = crm.connector(timeout_seconds=0.5).upsert_leads(synthetic_leads(3))

    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED for r in results)
    assert results[0].attempts[0].error_code == "TIMEOUT" and results[0].attempts[0].http_status is None
    time.sleep(1.2)                       # let the slow request land too
    assert len(crm.stored()) == 3


def test_a_wrong_token_raises_crm_auth_error_with_nothing_applied(crm):
    connector = crm.connector(access_token="expired-session")
    with pytest.raises(CrmAuthError, match=crm.token_variable):
        connector.upsert_leads(synthetic_leads(3))
    assert len(crm.stored()) == 0 and crm.emulator.counts[crm.write_kind] == 0


def test_a_connection_dropped_after_the_write_does_not_duplicate(crm):
    crm.emulator.drop_after_apply(crm.write_kind)
    leads = synthetic_leads(3)
    results = by_lead(crm.connector().upsert_leads(leads))

    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED and r.created is False for r in results.values())
    assert results[leads[0].lead_id].attempts[0].error_code == "CONNECTION_ERROR"
    assert len(crm.stored()) == 3
    # A crash before the acks were recorded: the next run sends the same leads as never synced.
    again = by_lead(crm.connector().upsert_leads(leads))
    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED and r.created is False for r in again.values())
    assert {r.crm_record_id for r in again.values()} == {r.crm_record_id for r in results.values()}
    assert len(crm.stored()) == 3


# --- through run_sync, on a real leadgate database -----------------------------------------------

ALICE, CAROL = "alice@acme.com", "carol@initech.com"


def rows(settings, sql, params=None):
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


def test_refused_credentials_stop_the_sync_with_one_line_and_mark_nothing(settings, crm):
    ids = builders.seed(settings)
    with db.connect(settings) as con:
        builders.route(con, ids[CAROL], "qualified", ["auto_qualified"])    # qualified, but no consent
    with pytest.raises(CrmAuthError) as err:
        run_sync(settings, load_policy(settings.policy), crm=crm.name, mode="live",
                 connector=crm.connector(access_token="expired"), run_id="run-1")
    assert crm.token_variable in str(err.value) and "\n" not in str(err.value)
    assert crm.auth_detail in str(err.value)
    assert len(crm.stored()) == 0
    assert rows(settings, "select count(*) from sync.state") == rows(settings, "select count(*) from sync.attempts") == [(0,)]
    assert rows(settings, "select count(*) from sync.outbox") == [(2,)]
    assert rows(settings, "select state from lifecycle.lead_states where lead_id = ?", [ids[ALICE]]) == [("qualified",)]
