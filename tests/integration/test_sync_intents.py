"""The CRM intent log: a `leadgate sync` killed (kill -9) while the CRM has applied its write but not answered
leaves a visible unfinished send, and the next sync logs it, re-sends and creates no duplicate. Real
simple-salesforce (TLS) and hubspot-api-client against the emulators, a real DuckDB file, a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from connectors.crm.salesforce import SalesforceConnector
from leadgate.cli.status_text import format_status
from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.store.invariants import collect_status
from leadgate.sync.outbox import run_sync
from tests.e2e.helpers import LEADGATE
from tests.emulators.crms import ALICE, ERIN, Crm, crm, rows  # noqa: F401  (a pytest fixture)
from tests.emulators.fixtures import (  # noqa: F401
    hs_emulator,
    hubspot_server,
    hubspot_settings,
    salesforce_server,
    salesforce_settings,
    sf_emulator,
    tls_ca,
)
from tests.fixtures.services import builders


@pytest.fixture
def world(settings):
    ids = builders.seed(settings)  # alice and erin qualified and consenting: owed to the CRM
    return settings, load_policy(settings.policy), ids


def sync_in_subprocess(settings, crm: Crm) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADGATE_", "SALESFORCE_", "HUBSPOT_"))}
    env.update(
        LEADGATE_DB=str(settings.db_path),
        LEADGATE_INBOX=str(settings.inbox),
        LEADGATE_SYNC_MODE="live",
        LEADGATE_CRM=crm.name,
        **crm.env(),
    )
    return subprocess.Popen([LEADGATE, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_once_applied(proc: subprocess.Popen, crm: Crm, applied: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(crm.records()) < applied:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the CRM never received the write"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_a_write_applied_just_before_a_kill_is_visible_and_the_next_sync_logs_it_and_creates_no_duplicate(world, crm):
    settings, policy, ids = world
    crm.emulator.hold_after_apply(crm.write_kind, seconds=30)  # applies, then the answer never comes in time
    proc = sync_in_subprocess(settings, crm)
    kill_once_applied(proc, crm, applied=2)
    before = crm.records()
    assert sorted(email for _, email in before) == [ALICE, ERIN]

    # right after the kill: the send is in the intent log, unfinished, with the dead process named
    intents = rows(settings, "select lead_id, status, pid, crm from sync.intents order by lead_id")
    assert intents == sorted(
        [(ids[ALICE], "in_flight", proc.pid, crm.name), (ids[ERIN], "in_flight", proc.pid, crm.name)]
    )
    [(killed_run,)] = rows(settings, "select distinct run_id from sync.intents")
    assert rows(settings, "select count(*) from sync.state") == [(0,)]
    with db.read_connection(settings) as con:
        report = collect_status(con)
    assert report["recovery"]["crm_sends_in_flight"] == 2
    assert "CRM writes in flight or unfinished" in format_status(report)

    crm.emulator.reset_traffic()
    again = run_sync(settings, policy, crm=crm.name, mode="live", connector=crm.connector(), run_id="run-next")
    assert (again.unfinished_sends, again.sent, again.acknowledged, again.synced) == (2, 2, 2, 2)
    assert crm.records() == before  # the same two records: updated, not created
    # the killed send is in the attempts log: no HTTP status (no answer), then the acknowledged re-send
    log = rows(
        settings,
        """select lead_id, run_id, outcome, http_status, error_code from sync.attempts
                            order by lead_id, attempted_at""",
    )
    for lead in (ids[ALICE], ids[ERIN]):
        mine = [r[1:] for r in log if r[0] == lead]
        assert mine[0] == (killed_run, "retry", None, "PROCESS_GONE") and mine[-1][:2] == ("run-next", "acknowledged")
    assert rows(settings, "select distinct status from sync.intents where pid = ?", [proc.pid]) == [("unfinished",)]
    assert (
        rows(settings, "select status, outcome from sync.intents where run_id = 'run-next'")
        == [("completed", "acknowledged")] * 2
    )
    with db.read_connection(settings) as con:
        after = collect_status(con)
    assert after["ok"] and after["recovery"]["crm_sends_in_flight"] == 0


def test_a_send_still_running_in_another_process_is_left_alone(world, sf_emulator):
    settings = world[0]
    crm = Crm("salesforce", sf_emulator)
    sf_emulator.hold_after_apply("collections_upsert", seconds=30)
    proc = sync_in_subprocess(settings, crm)
    try:
        deadline = time.monotonic() + 60
        while not rows(settings, "select count(*) from sync.intents")[0][0]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        with db.connect(settings) as con:
            from leadgate.sync.intents import reconcile

            assert reconcile(con) == 0  # its process is alive: not ours to close
        assert rows(settings, "select distinct status from sync.intents") == [("in_flight",)]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_a_send_that_raises_is_closed_as_unfinished_by_its_own_process(world, sf_emulator):
    settings, policy, _ = world
    sf = SalesforceConnector(salesforce_settings(sf_emulator))

    class StoppedAfterSend:
        name, stats, missing_setup = sf.name, sf.stats, sf.missing_setup

        def upsert_leads(self, leads):
            sf.upsert_leads(leads)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sync(settings, policy, crm="salesforce", mode="live", connector=StoppedAfterSend(), run_id="run-1")
    assert rows(settings, "select distinct status, run_id from sync.intents") == [("unfinished", "run-1")]
    assert rows(settings, "select outcome, error_code, count(*) from sync.attempts group by all") == [
        ("retry", "INTERRUPTED", 2)
    ]
    again = run_sync(settings, policy, crm="salesforce", mode="live", connector=sf, run_id="run-2")
    assert (again.unfinished_sends, again.acknowledged) == (0, 2) and len(sf_emulator.leads) == 2
