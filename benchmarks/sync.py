"""CRM sync benchmark: N owed leads through leadgate.sync.outbox.run_sync and each connector, against the local emulators.

Usage: .venv/bin/python benchmarks/sync.py [--leads 10000 100000] [--crm salesforce hubspot]

For each CRM and N, a fresh DuckDB file gets N qualified, consenting, scored leads; `run_sync` (live) then
refreshes the outbox, checks the CRM's set-up, sends, and records sync.state, sync.attempts and lifecycle
states. Prints one JSON line: CRM calls by kind (look-up, collections/batch upsert, Bulk 2.0 + status polls,
set-up), retries, seconds (total and inside the connector), and an unchanged re-run through run_sync.
No rate limit is configured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.crm.hubspot import HubSpotConnector, HubSpotSettings
from connectors.crm.salesforce import SalesforceConnector, SalesforceSettings
from leadgate.config import DEFAULT_POLICY, LeadgateSettings
from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.store.states import StateChange, set_states
from leadgate.sync.outbox import run_sync
from tests.emulators.fixtures import make_tls
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.salesforce import SalesforceEmulator

LOOKUP = {"query", "batch_read"}
WRITE = {"collections_upsert", "collections_update", "batch_upsert"}
BULK = {"bulk_create", "bulk_upload", "bulk_close", "bulk_results"}
POLLS = {"bulk_status"}
SETUP = {"describe", "properties_list", "properties_create"}
REASONS = json.dumps([{"feature": "demo_requests", "points": 30, "detail": "Requested a demo"}])


def seed(settings: LeadgateSettings, n: int) -> None:
    """N qualified, consenting leads with one score each, as the pipeline would leave them."""
    with db.connect(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            """
            create or replace table marts.lead_features as
            select 'ld_' || lpad(i::varchar, 14, '0') as lead_id, 'bench' || i || '@bench' || (i % 50) || '.example' as email,
                   'Test' as first_name, 'Lead' || i as last_name, 'Head of Data' as job_title, null::varchar as phone,
                   'Company ' || (i % 97) as company, 'bench' || (i % 50) || '.example' as company_domain,
                   'Software' as industry, 'US' as country, '51-200' as company_size, true as has_consent,
                   'linkedin' as first_utm_source
            from range(?) t(i)
            """,
            [n],
        )
        con.execute(
            """
            insert into scoring.scores (lead_id, scored_at, scorer, scorer_version, policy_version, feature_hash,
                                        score, confidence, qualified, reasons)
            select lead_id, now(), 'baseline', 'bench-1', 'bench', md5(lead_id), 0.87654, 0.5, true, ?::json
            from marts.lead_features
            """,
            [REASONS],
        )
        lead_ids = [r[0] for r in con.execute("select lead_id from marts.lead_features").fetchall()]
        set_states(
            con,
            [StateChange(lid, "qualified", ["auto_qualified"]) for lid in lead_ids],
            kind="route",
            actor="policy:bench",
            policy_version="bench",
        )


class Timed:
    """Wraps a connector to time `upsert_leads` separately from leadgate's own bookkeeping."""

    def __init__(self, connector: Any) -> None:
        self.inner, self.name, self.stats, self.seconds = connector, connector.name, connector.stats, 0.0

    def missing_setup(self) -> list[str]:
        return self.inner.missing_setup()

    def upsert_leads(self, leads: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.upsert_leads(leads)
        finally:
            self.seconds += time.perf_counter() - started


def measure(crm: str, connector: Any, emulator: Any, n: int, work: Path) -> dict[str, Any]:
    settings = LeadgateSettings(db=work / f"{crm}-{n}.duckdb", inbox=work / "inbox", lock_timeout=30, _env_file=None)
    policy = load_policy(DEFAULT_POLICY)
    seed(settings, n)
    timed = Timed(connector)
    emulator.reset_traffic()
    started = time.perf_counter()
    report = run_sync(settings, policy, crm=crm, mode="live", connector=timed, run_id="bench-1")
    seconds = time.perf_counter() - started
    calls = dict(emulator.counts)

    emulator.reset_traffic()
    rerun_started = time.perf_counter()
    rerun = run_sync(settings, policy, crm=crm, mode="live", connector=timed, run_id="bench-2")
    rerun_seconds = time.perf_counter() - rerun_started
    with db.read_connection(settings) as con:
        attempts = con.execute("select count(*) from sync.attempts").fetchall()[0][0]
        synced = con.execute("select count(*) from lifecycle.lead_states where state = 'synced'").fetchall()[0][0]

    def total(kinds: set[str]) -> int:
        return sum(count for kind, count in calls.items() if kind in kinds)

    batch = 200 if crm == "salesforce" else 100
    return {
        "crm": crm,
        "leads": n,
        "seconds": round(seconds, 2),
        "connector_seconds": round(timed.seconds, 2),
        "leads_per_s": round(n / seconds),
        "calls": calls,
        "lookup_calls": total(LOOKUP),
        "write_calls": total(WRITE),
        "bulk_calls": total(BULK),
        "bulk_polls": total(POLLS),
        "setup_calls": total(SETUP),
        "retries": connector.stats.retries,
        "target_write_calls": math.ceil(n / batch),
        "acknowledged": report.acknowledged,
        "synced": synced,
        "attempt_rows": attempts,
        "rerun_sent": rerun.sent,
        "rerun_calls": sum(emulator.counts.values()),
        "rerun_crm_calls": rerun.crm_calls,
        "rerun_seconds": round(rerun_seconds, 3),
        "rerun_measured": "through run_sync on the same database",
    }


def run_salesforce(n: int, tls: Any, work: Path) -> dict[str, Any]:
    emulator = SalesforceEmulator(tls, record_bodies=False).start()
    try:
        settings = SalesforceSettings(
            _env_file=None, instance_url=emulator.url, access_token=emulator.token, bulk_poll_seconds=0.05
        )
        result = measure("salesforce", SalesforceConnector(settings), emulator, n, work)
        result["path"] = "bulk" if n > settings.bulk_threshold else "collections"
        if result["path"] == "bulk":
            result["target_write_calls"] = "<= 8 Bulk 2.0 calls plus status polls"
        return result
    finally:
        emulator.stop()


def run_hubspot(n: int, work: Path) -> dict[str, Any]:
    emulator = HubSpotEmulator(record_bodies=False).start()
    try:
        settings = HubSpotSettings(
            _env_file=None, access_token=emulator.token, base_url=emulator.url, requests_per_10s=0
        )
        return measure("hubspot", HubSpotConnector(settings), emulator, n, work)
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--crm", nargs="+", choices=["salesforce", "hubspot"], default=["salesforce", "hubspot"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadgate-bench-sync-"))
    (work / "inbox").mkdir()
    tls, bundle = make_tls(work)
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)  # trust the emulator's test CA, as the tests do
    for crm in args.crm:
        for n in args.leads:
            result = run_salesforce(n, tls, work) if crm == "salesforce" else run_hubspot(n, work)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
