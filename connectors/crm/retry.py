"""The CRM-neutral errors retries act on, and the CRM's retrier (leadgate.shared.retry's, giving up with
RetriesExhausted).

Each CRM's client translates its SDK's exceptions into these errors (it alone knows which are
retryable); connectors only see `TransientCrmError`, `MalformedBatchError`, `ApiBudgetExhausted`,
`CrmAuthError` and `CrmNotReady`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from leadgate.shared.retry import Retrier, Retryable

T = TypeVar("T")


class CrmCallError(RuntimeError):
    """A CRM request failed as a whole (no per-record answers)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
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


class TransientCrmError(CrmCallError, Retryable):
    """Worth retrying: 429, request limits, 5xx, timeouts, dropped connections."""

    def __init__(self, message: str, *, final: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.final = final  # e.g. a daily quota: retrying within this run cannot help


class MalformedBatchError(CrmCallError):
    """The CRM refused the whole request as malformed: split the batch to find the bad records."""


class ApiBudgetExhausted(CrmCallError):
    """Sending more would eat into the API allowance kept in reserve: stop and leave the rest owed."""


class RetriesExhausted(CrmCallError):
    """A transient failure outlived the retry budget."""

    def __init__(self, last: TransientCrmError, attempts: int) -> None:
        super().__init__(
            f"{last} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})",
            status=last.status,
            code=last.code,
            body=last.body,
            retry_after=last.retry_after,
        )
        self.last = last
        self.attempts = attempts


class CrmRetrier(Retrier):
    """The shared Retrier, giving up on a CRM call with RetriesExhausted."""

    def call(self, fn: Callable[[], T], on_failure: Callable[[TransientCrmError], None] | None = None) -> T:  # type: ignore[override]
        """Call `fn` until it succeeds; TransientCrmError is retried, anything else propagates."""
        return super().call(fn, on_failure=on_failure, give_up=RetriesExhausted)
