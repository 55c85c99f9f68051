"""What every CRM connector promises, run against both emulators with the real SDKs over HTTP(S).

Each CRM's own wire facts (record shapes, 207s, Bulk jobs, look-ups, set-up) keep their tests in
tests/integration/test_salesforce_connector.py and test_hubspot_connector.py.
"""

from __future__ import annotations

import re
import time

import pytest

from connectors.crm.base import CrmAuthError, CrmConnector, SyncOutcome
from leadgate.sync.outbox import run_sync
from tests.emulators.crms import ALICE, by_lead, crm, crm_for, rows, world  # noqa: F401  (pytest fixtures)
from tests.emulators.fixtures import (  # noqa: F401  (pytest fixtures)
    hs_emulator,
    hubspot_server,
    salesforce_server,
    sf_emulator,
    synthetic_leads,
    tls_ca,
)

# 403 REQUEST_LIMIT_EXCEEDED is Salesforce's way of saying 429; HubSpot's 403 is a missing scope (final).
TRANSIENT = [
    ("salesforce", 429, {"Retry-After": "1"}),
    ("salesforce", 429, {}),
    ("salesforce", 403, {}),
    ("salesforce", 500, {}),
    ("salesforce", 503, {}),
    ("hubspot", 429, {"Retry-After": "1"}),
    ("hubspot", 429, {}),
    ("hubspot", 500, {}),
    ("hubspot", 502, {}),
]


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
    time.sleep(1.2)  # let the slow request land too
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


def test_a_failed_write_is_worded_alike_by_both_crms(crm):
    """`<CRM> <call>: <what went wrong>`, with the same code, whichever CRM refused, timed out or hung up."""
    prefix = re.escape(f"{crm.label} {crm.write_call}: ")
    gave_up = r" \(gave up after 1 attempt\)$"

    def send_one(name, **overrides):
        [result] = crm.connector(max_attempts=1, **overrides).upsert_leads(synthetic_leads(1, prefix=name))
        return result

    crm.emulator.fail(crm.write_kind, 503)
    unavailable = send_one("unavailable")
    crm.emulator.fail(crm.write_kind, 502, body={"message": "upstream unavailable"})  # no error code in the body
    bad_gateway = send_one("gateway")
    crm.emulator.fail(crm.write_kind, 400, body={"message": "the request was not understood"})
    refused = send_one("refused")
    crm.emulator.drop_after_apply(crm.write_kind)
    dropped = send_one("dropped")
    crm.emulator.slow(crm.write_kind, 1.0)
    late = send_one("late", timeout_seconds=0.3)

    failed = {
        "unavailable": (
            unavailable,
            SyncOutcome.RETRY,
            crm.unavailable_code,
            rf"503 {crm.unavailable_code}: \S.*{gave_up}",
        ),
        "bad gateway": (bad_gateway, SyncOutcome.RETRY, "HTTP_502", rf"502: upstream unavailable{gave_up}"),
        "refused": (refused, SyncOutcome.REJECTED, "HTTP_400", r"400: the request was not understood$"),
        "dropped": (dropped, SyncOutcome.RETRY, "CONNECTION_ERROR", rf"connection failed \(\w+\){gave_up}"),
        "late": (late, SyncOutcome.RETRY, "TIMEOUT", rf"no answer within 0\.3 s{gave_up}"),
    }
    for case, (result, outcome, code, message) in failed.items():
        assert (result.outcome, result.error_code) == (outcome, code), case
        assert re.match(prefix + message, result.message), (case, result.message)
        assert result.attempts[-1].message == result.message.removesuffix(" (gave up after 1 attempt)"), case
    time.sleep(1.0)  # let the slow request land before the emulator is reset


def test_missing_set_up_is_named_alike_by_the_sync_and_crm_check_and_created_where_the_crm_allows(crm):
    for name in crm.custom_fields:
        crm.remove_field(name)
    connector = crm.connector()
    missing = connector.missing_setup()
    assert missing == crm.custom_fields

    line = connector.not_ready_message(missing)
    assert line.startswith(f"{crm.name} lacks 2 ") and f"({', '.join(crm.custom_fields)})" in line
    assert "run `leadgate crm setup`" in line and line.endswith("nothing was sent") and "\n" not in line
    gap = connector.setup_gap(missing)
    assert "2 " in gap.error and "\n" not in gap.error
    created = connector.create_missing()
    assert bool(created) == crm.creates_setup
    if crm.creates_setup:  # nothing is left for a person to do
        assert created == crm.custom_fields and connector.missing_setup() == []
        assert connector.created_line(created).endswith(", ".join(crm.custom_fields))
        assert gap.instructions == []
    else:  # an admin's: one instruction each, and still missing
        assert [line.split(":")[0] for line in gap.instructions] == [f"Lead.{n}" for n in crm.custom_fields]
        assert gap.heading and connector.missing_setup() == crm.custom_fields


# --- through run_sync, on a real leadgate database -----------------------------------------------


def test_refused_credentials_stop_the_sync_with_one_line_and_mark_nothing(world, crm):
    settings, policy, ids = world
    with pytest.raises(CrmAuthError) as err:
        run_sync(
            settings, policy, crm=crm.name, mode="live", connector=crm.connector(access_token="expired"), run_id="run-1"
        )
    assert crm.token_variable in str(err.value) and "\n" not in str(err.value)
    assert crm.auth_detail in str(err.value)
    assert len(crm.stored()) == 0
    assert (
        rows(settings, "select count(*) from sync.state")
        == rows(settings, "select count(*) from sync.attempts")
        == [(0,)]
    )
    assert rows(settings, "select count(*) from sync.outbox") == [(2,)]
    assert rows(settings, "select state from lifecycle.lead_states where lead_id = ?", [ids[ALICE]]) == [("qualified",)]
