"""Pytest fixtures and helpers for the CRM emulators; import the fixtures into a test module.

The Salesforce emulator serves TLS with a trustme CA. The client trusts it the ordinary way: a CA
bundle (the system roots plus the test CA) named in REQUESTS_CA_BUNDLE, which `requests` reads for
every https request. (`REQUESTS_CA_BUNDLE` also overrides a Session's `verify=`, so it is the one
mechanism that works whatever the environment sets.)
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.salesforce import SalesforceEmulator

SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def make_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1, and a CA bundle file that trusts it."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    bundle = directory / "ca-bundle.pem"
    system = next((Path(p) for p in SYSTEM_BUNDLES if Path(p).exists()), None)
    bundle.write_bytes((system.read_bytes() if system else b"") + ca.cert_pem.bytes())
    return context, bundle


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ssl.SSLContext]:
    """The emulator's TLS context; REQUESTS_CA_BUNDLE trusts its CA for the whole session."""
    context, bundle = make_tls(tmp_path_factory.mktemp("tls"))
    before = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    yield context
    if before is None:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = before


@pytest.fixture(scope="session")
def salesforce_server(tls_ca: ssl.SSLContext) -> Iterator[SalesforceEmulator]:
    emulator = SalesforceEmulator(tls_ca)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def sf_emulator(salesforce_server: SalesforceEmulator) -> SalesforceEmulator:
    """The shared Salesforce emulator, emptied for this test."""
    salesforce_server.reset()
    return salesforce_server


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[HubSpotEmulator]:
    emulator = HubSpotEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hs_emulator(hubspot_server: HubSpotEmulator) -> HubSpotEmulator:
    """The shared HubSpot emulator, emptied for this test."""
    hubspot_server.rate_limit = None
    hubspot_server.reset()
    return hubspot_server


def salesforce_settings(emulator: SalesforceEmulator, **overrides: Any) -> Any:
    """SalesforceSettings pointing at the emulator, with fast retries (never reads the environment)."""
    from connectors.crm.salesforce import SalesforceSettings

    values: dict[str, Any] = {
        "instance_url": emulator.url,
        "access_token": emulator.token,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 0.05,
        "bulk_poll_seconds": 0.02,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return SalesforceSettings(_env_file=None, **values)


def hubspot_settings(emulator: HubSpotEmulator, **overrides: Any) -> Any:
    """HubSpotSettings pointing at the emulator, with fast retries and no proactive limit."""
    from connectors.crm.hubspot import HubSpotSettings

    values: dict[str, Any] = {
        "access_token": emulator.token,
        "base_url": emulator.url,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 0.05,
        "requests_per_10s": 0,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return HubSpotSettings(_env_file=None, **values)


LEADS_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "crm" / "leads.json"


def fixture_lead(name: str, **changes: Any) -> Any:
    """A named payload from tests/fixtures/crm/leads.json as an OutboundLead (changes override fields)."""
    import json

    from connectors.crm.base import OutboundLead

    payload = {**json.loads(LEADS_FILE.read_text(encoding="utf-8"))[name], **changes}
    record_id = payload.pop("_crm_record_id", None)
    return OutboundLead(payload["lead_id"], payload, f"hash-{name}-{sorted(changes.items())!r}", record_id)


def synthetic_leads(n: int, prefix: str = "bulk", **changes: Any) -> list[Any]:
    """`n` distinct, valid leads (emails prefix<i>@<prefix>.example)."""
    from connectors.crm.base import OutboundLead

    leads = []
    for i in range(n):
        payload = {
            "email": f"{prefix}{i}@{prefix}.example",
            "first_name": "Test",
            "last_name": f"Lead{i}",
            "company": f"Company {i % 97}",
            "job_title": "Head of Data",
            "lead_id": f"ld_{prefix}{i:08d}",
            "lead_status": "MQL",
            "score": 0.87654,
            "confidence": 0.5,
            "top_reasons": ["Requested a demo"],
            "policy_version": "2026.11.22-1",
            "scorer_version": "baseline-1",
            **changes,
        }
        leads.append(OutboundLead(payload["lead_id"], payload, f"hash-{prefix}-{i}"))
    return leads
