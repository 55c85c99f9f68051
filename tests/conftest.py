"""Shared test set-up: telemetry off, isolated settings, and one Prefect harness per session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

for _key, _value in {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}.items():
    os.environ[_key] = _value
# Keep ~/.prefect untouched and never read a developer's .env or LEADGATE_* overrides.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="leadgate-prefect-home-"))
for _key in [k for k in os.environ if k.startswith("LEADGATE_")]:
    del os.environ[_key]

import pytest  # noqa: E402

from leadgate.config import REPO_DIR, LeadgateSettings  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_DIR = REPO_DIR / "data" / "sample"


@pytest.fixture
def settings(tmp_path: Path) -> LeadgateSettings:
    """Settings pointing at a fresh database and inbox under tmp_path."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return LeadgateSettings(db=tmp_path / "leadgate.duckdb", inbox=inbox, lock_timeout=2.0, _env_file=None)


@pytest.fixture(scope="session")
def prefect_api() -> str:
    """One temporary Prefect API for the whole session (start-up costs ~15 s); yields its URL.

    Flows called in-process use it, and CLI subprocesses get it as PREFECT_API_URL so they do not
    each start a server of their own.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()
