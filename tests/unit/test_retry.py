"""The one retry mechanism (leadgate.shared.retry): Retry-After in both forms, bounded attempts and deadlines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from leadgate.shared.retry import Retrier, Retryable, RetryPolicy, parse_retry_after, retry_after_from_headers

NOW = datetime(2026, 12, 2, 3, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value,seconds",
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Wed, 02 Dec 2026 03:00:30 GMT", 30.0),  # IMF-fixdate
        ("Wednesday, 02-Dec-26 03:01:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Wed Dec  2 03:00:05 2026", 5.0),  # asctime form (UTC by definition)
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value, seconds):
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "  ",
        "-5",
        "soon",
        "nan",
        "inf",
        "1e999",
        "12abc",
        "Wed, 02 Dec 2026 02:59:00 GMT",  # already past
        "Wed, 99 Foo 2026 03:00:30 GMT",
    ],
)
def test_negative_past_or_garbage_retry_after_is_absent(value):
    assert parse_retry_after(value, now=NOW) is None


def test_headers_prefer_the_millisecond_form_and_fall_back_to_retry_after():
    assert retry_after_from_headers({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after-ms": "junk", "Retry-After": "9"}) == 9.0
    assert retry_after_from_headers({"Retry-After": "-1"}) is None
    assert retry_after_from_headers(None) is None and retry_after_from_headers({}) is None


class Held(Retryable, RuntimeError):
    def __init__(self, retry_after=None, final=False):
        super().__init__("held")
        self.retry_after, self.final = retry_after, final


def test_attempts_are_bounded_and_the_caller_chooses_what_giving_up_raises():
    calls, seen = [], []

    def always_held():
        calls.append(1)
        raise Held()

    retrier = Retrier(
        RetryPolicy(max_attempts=3, base_seconds=1.0, max_seconds=8.0), sleep=lambda s: None, rng=lambda: 0.0
    )
    with pytest.raises(LookupError, match="gave up after 3"):
        retrier.call(always_held, on_failure=seen.append, give_up=lambda exc, n: LookupError(f"gave up after {n}"))
    assert len(calls) == 3 and len(seen) == 3 and retrier.retries == 2 and retrier.waits == [0.5, 1.0]


def test_a_deadline_cuts_the_last_wait_and_then_gives_up():
    now = [0.0]
    retrier = Retrier(
        RetryPolicy(max_attempts=None, base_seconds=1.0, max_seconds=1.0),
        rng=lambda: 1.0,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )

    def held():
        raise Held()

    with pytest.raises(Held):
        retrier.call(held, deadline=2.5)
    assert retrier.waits == [1.0, 1.0, 0.5] and now[0] == 2.5


def test_other_errors_and_final_ones_are_not_retried():
    retrier = Retrier(RetryPolicy(), sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(ValueError):
        retrier.call(lambda: (_ for _ in ()).throw(ValueError("bad input")))
    with pytest.raises(Held):
        retrier.call(lambda: (_ for _ in ()).throw(Held(final=True)))
    assert retrier.retries == 0


def test_a_long_retry_after_gives_up_unless_the_policy_always_honours_it():
    assert RetryPolicy(max_retry_after=60).delay(1, 600.0) is None
    assert RetryPolicy(max_retry_after=None).delay(1, 600.0, rng=lambda: 0.0) == 600.0


def test_the_async_form_retries_without_blocking_and_returns_the_answer():
    answers = iter([Held(retry_after=0.0), Held(retry_after=0.0), "ok"])

    async def flaky():
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    retrier = Retrier(RetryPolicy(max_attempts=5), rng=lambda: 0.0)
    assert asyncio.run(retrier.call_async(flaky)) == "ok"
    assert retrier.retries == 2 and retrier.waits == [0.0, 0.0]
