"""The one retry mechanism: bounded attempts, exponential backoff with jitter, Retry-After, a deadline.

Used by the CRM connectors, the LLM scorer and the database lock. A retried call signals "worth trying
again" by raising a `Retryable` error (its `retry_after` is the server's wish, `final` says that trying
again within this run cannot help); anything else propagates at once. What happens when the attempts
run out is the caller's: `give_up` turns the last error into the exception to raise.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

T = TypeVar("T")


class Retryable(Exception):
    """Mixed into an error that a retry may cure (429, 5xx, timeouts, a held lock)."""

    retry_after: float | None = None
    final: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one operation."""

    max_attempts: int | None = 5  # None: only the deadline bounds the attempts
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    max_retry_after: float | None = 120.0  # a longer Retry-After gives up at once (None: always honoured)

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        """The policy a CRM's settings describe (`max_attempts`, `retry_*_seconds`, `max_retry_after_seconds`)."""
        return cls(
            max_attempts=settings.max_attempts,
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )

    def delay(self, attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up now."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            if self.max_retry_after is not None and retry_after > self.max_retry_after:
                return None
            return retry_after + 0.1 * retry_after * rng()
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * rng()  # "equal jitter": never zero, never in lock-step


@dataclass
class Retrier:
    """Runs calls under a RetryPolicy, recording retries and waits."""

    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    waits: list[float] = field(default_factory=list)
    retries: int = 0

    def call(
        self,
        fn: Callable[[], T],
        *,
        on_failure: Callable[[Any], None] | None = None,
        give_up: Callable[[Any, int], BaseException] | None = None,
        deadline: float | None = None,
    ) -> T:
        """Call `fn` until it succeeds; a Retryable error is retried, anything else propagates."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Retryable as exc:
                self.sleep(self._wait(exc, attempt, on_failure, give_up, deadline))

    async def call_async(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        on_failure: Callable[[Any], None] | None = None,
        give_up: Callable[[Any, int], BaseException] | None = None,
        deadline: float | None = None,
    ) -> T:
        """`call` for a coroutine function; waits without blocking the event loop."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn()
            except Retryable as exc:
                await asyncio.sleep(self._wait(exc, attempt, on_failure, give_up, deadline))

    def _wait(
        self,
        exc: Retryable,
        attempt: int,
        on_failure: Callable[[Any], None] | None,
        give_up: Callable[[Any, int], BaseException] | None,
        deadline: float | None,
    ) -> float:
        """The wait before the next attempt; raises `give_up(exc, attempt)` (or `exc`) when there is none."""
        if on_failure is not None:
            on_failure(exc)
        wait = None if exc.final else self.policy.delay(attempt, exc.retry_after, self.rng)
        if wait is not None and deadline is not None:
            left = deadline - self.clock()
            wait = None if left <= 0 else min(wait, left)
        if wait is None:
            if give_up is None:
                raise exc
            raise give_up(exc, attempt) from exc
        self.retries += 1
        self.waits.append(wait)
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; negative, past or garbage -> None."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return seconds if seconds >= 0 else None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait: `retry-after-ms` (OpenAI-style) first, then `Retry-After`."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms") or headers.get("Retry-After-Ms")
    if millis is not None:
        seconds = parse_retry_after(millis)
        if seconds is not None:
            return seconds / 1000
    return parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
