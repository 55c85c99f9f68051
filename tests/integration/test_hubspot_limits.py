"""Backoff and the proactive request limiter: pure checks, then HubSpot's 10-second limit end to end."""

from __future__ import annotations

import time

from connectors.crm.base import SyncOutcome
from connectors.crm.hubspot import HubSpotConnector
from connectors.crm.retry import CrmRetrier, RetriesExhausted, TransientCrmError
from leadgate.shared.rate_limits import RollingWindowLimiter
from leadgate.shared.retry import RetryPolicy
from tests.emulators.fixtures import hs_emulator, hubspot_server, hubspot_settings, synthetic_leads  # noqa: F401


def test_backoff_grows_exponentially_with_jitter_and_is_bounded():
    policy = RetryPolicy(max_attempts=6, base_seconds=1.0, max_seconds=8.0, max_retry_after=60)
    lows = [policy.delay(n, None, rng=lambda: 0.0) for n in range(1, 6)]
    highs = [policy.delay(n, None, rng=lambda: 1.0) for n in range(1, 6)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 4.0] and highs == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(6, None) is None  # out of attempts
    assert 30.0 <= policy.delay(1, 30.0) <= 33.0  # Retry-After honoured (plus a little jitter)
    assert policy.delay(1, 600.0) is None  # a wait that long: leave it owed


def test_a_final_transient_error_is_not_retried():
    calls = []

    def daily_quota():
        calls.append(1)
        raise TransientCrmError("daily limit", status=429, final=True)

    retrier = CrmRetrier(RetryPolicy(), sleep=lambda s: None)
    try:
        retrier.call(daily_quota)
    except RetriesExhausted as exc:
        assert exc.attempts == 1 and exc.status == 429
    assert calls == [1]


def test_the_limiter_allows_n_requests_per_window_then_waits():
    now = [0.0]
    limiter = RollingWindowLimiter(
        3, 10.0, slack=0.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    starts = []
    for _ in range(7):
        limiter.acquire()
        starts.append(now[0])
    assert starts == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0]
    assert RollingWindowLimiter(0, 10.0).acquire() is None  # 0 = no proactive limit


def test_the_connector_stays_under_the_portal_limit_without_a_single_429(hs_emulator):
    hs_emulator.rate_limit, hs_emulator.interval_ms = 5, 1000
    limiter = RollingWindowLimiter(5, 1.0)  # HUBSPOT_REQUESTS_PER_10S, on a 1-second window to keep this fast
    hs = HubSpotConnector(hubspot_settings(hs_emulator), limiter=limiter)
    started = time.monotonic()
    results = hs.upsert_leads(synthetic_leads(600))  # 6 reads + 6 upserts

    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED for r in results)
    assert hs.stats.retries == 0 and hs_emulator.counts["batch_upsert"] == 6
    assert time.monotonic() - started >= 2.0 and limiter.waited > 0
    assert HubSpotConnector(hubspot_settings(hs_emulator, requests_per_10s=100)).client.limiter.max_requests == 100
