"""CRM sync benchmark: N owed leads through each connector against the local emulators.

Usage: .venv/bin/python benchmarks/sync.py [--leads 10000 100000] [--crm salesforce hubspot]

Prints one JSON line per CRM and N: calls by kind (look-up, collections/batch upsert, bulk + status
polls, setup), retries, seconds, and an unchanged re-run. The re-run is measured at the connector
boundary: the owed set is recomputed the way leadgate.sync does it (payload hash != acknowledged
hash) and only owed leads are handed to the connector. No rate limit is configured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.crm.base import OutboundLead, SyncOutcome  # noqa: E402
from connectors.crm.hubspot import HubSpotConnector, HubSpotSettings  # noqa: E402
from connectors.crm.salesforce import SalesforceConnector, SalesforceSettings  # noqa: E402
from tests.emulators.fixtures import make_tls, synthetic_leads  # noqa: E402
from tests.emulators.hubspot import HubSpotEmulator  # noqa: E402
from tests.emulators.salesforce import SalesforceEmulator  # noqa: E402

LOOKUP = {"query", "batch_read"}
WRITE = {"collections_upsert", "collections_update", "batch_upsert"}
BULK = {"bulk_create", "bulk_upload", "bulk_close", "bulk_results"}
POLLS = {"bulk_status"}
SETUP = {"describe", "properties_list", "properties_create"}


def owed(leads: list[OutboundLead], acked: dict[str, str]) -> list[OutboundLead]:
    """What leadgate.sync would send: leads whose payload hash the CRM has not acknowledged."""
    return [lead for lead in leads if acked.get(lead.lead_id) != lead.payload_hash]


def measure(crm: str, connector: Any, leads: list[OutboundLead], emulator: Any) -> dict[str, Any]:
    emulator.reset_traffic()
    started = time.perf_counter()
    missing = connector.missing_setup()
    results = connector.upsert_leads(owed(leads, {}))
    seconds = time.perf_counter() - started
    calls = dict(emulator.counts)
    by_id = {lead.lead_id: lead for lead in leads}
    acked = {r.lead_id: by_id[r.lead_id].payload_hash for r in results if r.outcome == SyncOutcome.ACKNOWLEDGED}
    emulator.reset_traffic()
    rerun_started = time.perf_counter()
    again = owed(leads, acked)
    if again:
        connector.upsert_leads(again)
    rerun_seconds = time.perf_counter() - rerun_started

    def total(kinds: set[str]) -> int:
        return sum(n for kind, n in calls.items() if kind in kinds)

    n = len(leads)
    batch = 200 if crm == "salesforce" else 100
    return {
        "crm": crm, "leads": n, "seconds": round(seconds, 2), "leads_per_s": round(n / seconds),
        "calls": calls, "lookup_calls": total(LOOKUP), "write_calls": total(WRITE), "bulk_calls": total(BULK),
        "bulk_polls": total(POLLS), "setup_calls": total(SETUP), "retries": connector.stats.retries,
        "target_write_calls": math.ceil(n / batch), "missing_setup": missing,
        "outcomes": dict(Counter(str(r.outcome) for r in results)),
        "rerun_owed": len(again), "rerun_calls": sum(emulator.counts.values()), "rerun_seconds": round(rerun_seconds, 3),
        "rerun_measured": "connector boundary (owed = payload hash not acknowledged), not through run_sync",
    }


def run_salesforce(n: int, tls: Any) -> dict[str, Any]:
    emulator = SalesforceEmulator(tls, record_bodies=False).start()
    try:
        settings = SalesforceSettings(_env_file=None, instance_url=emulator.url, access_token=emulator.token,
                                      bulk_poll_seconds=0.05)
        result = measure("salesforce", SalesforceConnector(settings), synthetic_leads(n), emulator)
        result["path"] = "bulk" if n > settings.bulk_threshold else "collections"
        return result
    finally:
        emulator.stop()


def run_hubspot(n: int) -> dict[str, Any]:
    emulator = HubSpotEmulator(record_bodies=False).start()
    try:
        settings = HubSpotSettings(_env_file=None, access_token=emulator.token, base_url=emulator.url, requests_per_10s=0)
        return measure("hubspot", HubSpotConnector(settings), synthetic_leads(n), emulator)
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--crm", nargs="+", choices=["salesforce", "hubspot"], default=["salesforce", "hubspot"])
    args = parser.parse_args()
    tls, bundle = make_tls(Path(tempfile.mkdtemp(prefix="leadgate-bench-tls-")))
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)      # trust the emulator's test CA, as the tests do
    for crm in args.crm:
        for n in args.leads:
            result = run_salesforce(n, tls) if crm == "salesforce" else run_hubspot(n)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
