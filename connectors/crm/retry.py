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


# ---------------------------------------------------------------- how a failed call is worded
# One wording for both CRMs' clients: "<CRM> <call>: <what went wrong>", so an operator reads a refusal, a
# timeout or a dropped connection the same way whichever CRM it came from.


def call_failed(crm: str, what: str, detail: str) -> str:
    """`HubSpot batch upsert: <detail>`: the line every failed CRM call is reported with."""
    return f"{crm} {what}: {detail}"


def is_transient_status(status: int) -> bool:
    """429 and 5xx: the CRM may answer differently if asked again."""
    return status == 429 or status >= 500


def http_error(
    crm: str,
    what: str,
    status: int,
    code: str | None,
    message: str,
    *,
    body: Any = None,
    retry_after: float | None = None,
    transient: bool | None = None,
    final: bool = False,
) -> CrmCallError:
    """An HTTP answer that failed the call: retryable (429, 5xx, or `transient`) or refused as malformed.

    Worded `<CRM> <call>: <status> <code>: <message>`; without a code from the CRM the code is `HTTP_<status>`.
    """
    detail = f"{status} {code}: {message}" if code else f"{status}: {message}"
    text, code = call_failed(crm, what, detail), code or f"HTTP_{status}"
    if is_transient_status(status) if transient is None else transient:
        return TransientCrmError(text, status=status, code=code, body=body, retry_after=retry_after, final=final)
    return MalformedBatchError(text, status=status, code=code, body=body)


def timed_out(crm: str, what: str, seconds: float) -> TransientCrmError:
    """No answer within the request timeout (the request may still have been applied)."""
    return TransientCrmError(call_failed(crm, what, f"no answer within {seconds:g} s"), code="TIMEOUT")


def connection_failed(crm: str, what: str, exc: BaseException) -> TransientCrmError:
    """The connection was refused or dropped before an answer came."""
    return TransientCrmError(
        call_failed(crm, what, f"connection failed ({type(exc).__name__})"), code="CONNECTION_ERROR"
    )


class CrmRetrier(Retrier):
    """The shared Retrier, giving up on a CRM call with RetriesExhausted."""

    def call(self, fn: Callable[[], T], on_failure: Callable[[TransientCrmError], None] | None = None) -> T:  # type: ignore[override]
        """Call `fn` until it succeeds; TransientCrmError is retried, anything else propagates."""
        return super().call(fn, on_failure=on_failure, give_up=RetriesExhausted)
