"""Bounded retries with exponential backoff and jitter, the CRM-neutral errors they act on, and a
proactive request-rate limiter.

Each CRM's client translates its SDK's exceptions into these errors (it alone knows which are
retryable); connectors only see `TransientCrmError`, `MalformedBatchError`, `ApiBudgetExhausted`,
`CrmAuthError` and `CrmNotReady`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class CrmCallError(RuntimeError):
    """A CRM request failed as a whole (no per-record answers)."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self)


class TransientCrmError(CrmCallError):
    """Worth retrying: 429, request limits, 5xx, timeouts, dropped connections."""

    def __init__(self, message: str, *, final: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.final = final            # e.g. a daily quota: retrying within this run cannot help


class MalformedBatchError(CrmCallError):
    """The CRM refused the whole request as malformed: split the batch to find the bad records."""


class ApiBudgetExhausted(CrmCallError):
    """Sending more would eat into the API allowance kept in reserve: stop and leave the rest owed."""


class RetriesExhausted(CrmCallError):
    """A transient failure outlived the retry budget."""

    def __init__(self, last: TransientCrmError, attempts: int) -> None:
        super().__init__(
            f"{last} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})",
            status=last.status, code=last.code, body=last.body, retry_after=last.retry_after,
        )
        self.last = last
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request."""

    max_attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    max_retry_after: float = 120.0    # a longer Retry-After gives up at once: the rows stay owed

    @classmethod
    def from_settings(cls, settings: Any) -> "RetryPolicy":
        """The policy a CRM's settings describe (`max_attempts`, `retry_*_seconds`, `max_retry_after_seconds`)."""
        return cls(max_attempts=settings.max_attempts, base_seconds=settings.retry_base_seconds,
                   max_seconds=settings.retry_max_seconds, max_retry_after=settings.max_retry_after_seconds)

    def delay(self, attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up now."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after + 0.1 * retry_after * rng()
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * rng()      # "equal jitter": never zero, never in lock-step


@dataclass
class Retrier:
    """Runs calls under a RetryPolicy, recording retries and waits."""

    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random
    waits: list[float] = field(default_factory=list)
    retries: int = 0

    def call(self, fn: Callable[[], T], on_failure: Callable[[TransientCrmError], None] | None = None) -> T:
        """Call `fn` until it succeeds; TransientCrmError is retried, anything else propagates."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except TransientCrmError as exc:
                if on_failure is not None:
                    on_failure(exc)
                wait = None if exc.final else self.policy.delay(attempt, exc.retry_after, self.rng)
                if wait is None:
                    raise RetriesExhausted(exc, attempt) from exc
                self.retries += 1
                self.waits.append(wait)
                self.sleep(wait)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (the delta-seconds form; an HTTP date is treated as absent)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


class RateLimiter:
    """At most `max_requests` starts in any rolling `window_seconds` (0 or less: unlimited).

    The window is stretched by `slack` (10 %): the server stamps a request when it arrives, a little
    after we start it, so a window measured exactly on our side would overrun theirs at the edges.
    """

    def __init__(
        self, max_requests: int, window_seconds: float, *, slack: float = 0.1,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_requests = max_requests
        self.window = window_seconds * (1 + slack)
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        if self.max_requests <= 0:
            return
        with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.window:
                    self._starts.popleft()
                if len(self._starts) < self.max_requests:
                    self._starts.append(now)
                    return
                wait = self.window - (now - self._starts[0])
                self.waited += wait
                self._sleep(wait)
