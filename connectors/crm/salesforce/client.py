"""The one place that touches simple-salesforce: the client factory, one method per REST/Bulk call,
and the translation of its exceptions into leadgate's CRM-neutral errors.

Every method makes one attempt; the connector decides about retries. All requests go through one
`requests.Session` carrying a default timeout, a per-kind request counter and the org's
`Sforce-Limit-Info` reading.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceBulkV2LoadError,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.crm.base import CrmAuthError, CrmNotReady, SyncStats
from connectors.crm.retry import (
    ApiBudgetExhausted,
    MalformedBatchError,
    TransientCrmError,
    call_failed,
    connection_failed,
    http_error,
    timed_out,
)
from connectors.crm.salesforce.settings import LEAD, SalesforceSettings
from leadgate.shared.retry import retry_after_from_headers

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
_RESULT_KINDS = ("successfulResults", "failedResults", "unprocessedrecords")
LOOKUP_KINDS = {"query"}
SETUP_KINDS = {"describe"}
CRM = "Salesforce"  # how messages name it


def request_kind(method: str, url: str) -> str:
    """Name a Salesforce request for call counts (query, collections_upsert, bulk_status, ...)."""
    path = urlsplit(url).path
    tail = path.split("/services/data/", 1)[-1].split("/", 1)[-1] if "/services/data/" in path else path
    parts = [p for p in tail.split("/") if p]
    if not parts:
        return "other"
    if parts[0] in ("query", "queryAll"):
        return "query"
    if parts[0] == "sobjects":
        return "describe" if parts[-1] == "describe" else "sobject_" + method.lower()
    if parts[:2] == ["composite", "sobjects"]:
        return "collections_upsert" if len(parts) >= 4 else "collections_update"
    if parts[:2] == ["jobs", "ingest"]:
        if len(parts) == 2:
            return "bulk_create"
        if len(parts) == 3:
            return {"GET": "bulk_status", "PATCH": "bulk_close", "DELETE": "bulk_delete"}.get(method, "bulk_other")
        return "bulk_upload" if parts[3] == "batches" else "bulk_results"
    return "other"


class _MeteredAdapter(HTTPAdapter):
    """Adds a default timeout, and reports every request and answer (for counts and API usage)."""

    def __init__(
        self, timeout: float, on_send: Callable[[str, str], None], on_answer: Callable[[requests.Response], None]
    ) -> None:
        super().__init__()
        self._timeout = timeout
        self._on_send = on_send
        self._on_answer = on_answer

    def send(self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any) -> requests.Response:
        self._on_send(request.method or "GET", request.url or "")
        response = super().send(request, timeout=self._timeout if timeout is None else timeout, **kwargs)
        self._on_answer(response)
        return response


def make_salesforce(settings: SalesforceSettings, session: requests.Session) -> Salesforce:
    """The SDK client for a session-id login (the only SDK construction in leadgate)."""
    settings.require_credentials()
    return Salesforce(
        instance_url=settings.instance_url.rstrip("/"),
        session_id=settings.access_token.get_secret_value(),
        version=settings.api_version,
        session=session,
    )


class SalesforceClient:
    """One method per Salesforce call leadgate makes; each raises leadgate errors, never SDK ones."""

    def __init__(
        self, settings: SalesforceSettings, stats: SyncStats, *, session: requests.Session | None = None
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.usage: tuple[int, int] | None = None  # (used, max) from the latest Sforce-Limit-Info
        self._last_headers: Any = None
        # A caller-provided session keeps its TLS trust (verify=) and proxies; we only add metering.
        self.session = session or requests.Session()
        self.session.mount("https://", _MeteredAdapter(settings.timeout_seconds, self._sent, self._answered))
        self.sf = make_salesforce(settings, self.session)
        self._auto_assign = {"Sforce-Auto-Assign": "TRUE" if settings.auto_assign else "FALSE"}

    # ------------------------------------------------------------------ metering

    def _sent(self, method: str, url: str) -> None:
        kind = request_kind(method, url)
        self.stats.count(kind)
        if kind in LOOKUP_KINDS:
            self.stats.lookup_calls += 1
        if kind in SETUP_KINDS:
            self.stats.setup_calls += 1
        self._last_headers = None

    def _answered(self, response: requests.Response) -> None:
        self._last_headers = response.headers
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.usage = (int(match.group(1)), int(match.group(2)))
            self.stats.extra["api_usage"] = f"{self.usage[0]}/{self.usage[1]}"

    def check_budget(self, calls: int = 1) -> None:
        """Raise ApiBudgetExhausted if `calls` more requests would dip into the reserved margin."""
        if self.usage is None:
            return
        used, limit = self.usage
        if used + calls > limit - self.settings.api_limit_margin:
            raise ApiBudgetExhausted(
                f"Salesforce API usage is {used}/{limit} with {self.settings.api_limit_margin} kept in reserve "
                "(SALESFORCE_API_LIMIT_MARGIN): stopping, the rest stays owed",
                code="API_LIMIT_MARGIN",
            )

    # ------------------------------------------------------------------ calls

    def query(self, soql: str) -> list[dict[str, Any]]:
        """All records of a SOQL query (following nextRecordsUrl)."""
        with self._translated("query"):
            page = self.sf.query(soql)
            records = list(page.get("records", []))
            while not page.get("done", True) and page.get("nextRecordsUrl"):
                page = self.sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
                records.extend(page.get("records", []))
        return [dict(r) for r in records]

    def describe_lead(self) -> dict[str, Any]:
        with self._translated("describe"):
            return dict(self.sf.Lead.describe())

    def collections_upsert(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """sObject Collections upsert of Leads by the external id; one result per record, in order."""
        body = {"allOrNone": False, "records": list(records)}
        path = f"composite/sobjects/{LEAD}/{self.settings.external_id_field}"
        with self._translated("collections upsert"):
            answer = self.sf.restful(path, method="PATCH", json=body, headers=self._auto_assign)
        return [dict(r) for r in answer or []]

    def collections_update(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """sObject Collections update of Leads by Id; one result per record, in order."""
        body = {"allOrNone": False, "records": list(records)}
        with self._translated("collections update"):
            answer = self.sf.restful("composite/sobjects", method="PATCH", json=body, headers=self._auto_assign)
        return [dict(r) for r in answer or []]

    def bulk_upsert(self, rows: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
        """Bulk API 2.0 upsert of Leads by the external id; waits for the job(s); returns job summaries."""
        with self._translated("bulk upsert"):
            return list(
                self.sf.bulk2.Lead.upsert(
                    records=list(rows),
                    external_id_field=self.settings.external_id_field,
                    wait=self.settings.bulk_poll_seconds,  # type: ignore[arg-type]  # used as a float by the client
                )
            )

    def bulk_results(self, job_id: str, kind: str) -> list[dict[str, str]]:
        """Rows of one result CSV of a finished job: successfulResults, failedResults or unprocessedrecords."""
        if kind not in _RESULT_KINDS:
            raise ValueError(f"unknown bulk result kind {kind!r}")
        bulk = self.sf.bulk2.Lead
        with self._translated("bulk results"):
            if kind == "successfulResults":
                text = bulk.get_successful_records(job_id)
            elif kind == "failedResults":
                text = bulk.get_failed_records(job_id)
            else:
                text = bulk.get_unprocessed_records(job_id)
        return list(csv.DictReader(io.StringIO(text)))

    # ------------------------------------------------------------------ errors

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except SalesforceExpiredSession:
            raise CrmAuthError(
                "Salesforce refused the access token (401 INVALID_SESSION_ID): set a valid SALESFORCE_ACCESS_TOKEN"
            ) from None
        except SalesforceRefusedRequest as exc:
            code, message = _first_error(exc.content)
            if code == "REQUEST_LIMIT_EXCEEDED":  # Salesforce's 429
                raise http_error(
                    CRM, what, 403, code, message, body=exc.content, retry_after=self._retry_after(), transient=True
                ) from None
            raise CrmAuthError(
                f"Salesforce refused the {what} (403 {code}: {message}): check the API user's permissions"
            ) from None
        except SalesforceResourceNotFound as exc:
            code, message = _first_error(exc.content)
            raise CrmNotReady(call_failed(CRM, what, f"{message} (404 {code})")) from None
        except (SalesforceMalformedRequest, SalesforceMoreThanOneRecord) as exc:
            code, message = _first_error(exc.content)
            if code in ("INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE"):
                raise CrmNotReady(call_failed(CRM, what, f"{message} ({code}): run `leadgate crm setup`")) from None
            raise http_error(CRM, what, exc.status, code, message, body=exc.content) from None
        except SalesforceError as exc:  # SalesforceGeneralError: 429, 5xx and anything else
            code, message = _first_error(exc.content)
            raise http_error(
                CRM, what, exc.status, code, message, body=exc.content, retry_after=self._retry_after()
            ) from None
        except SalesforceBulkV2LoadError as exc:
            raise TransientCrmError(call_failed(CRM, what, str(exc)), code="BULK_UPLOAD_FAILED") from None
        except SalesforceOperationError as exc:
            # A bulk job ending Failed/Aborted: the connector falls back to per-record Collections calls.
            raise MalformedBatchError(call_failed(CRM, what, str(exc)), code="BULK_JOB_FAILED") from None
        except requests.exceptions.SSLError as exc:
            raise CrmNotReady(
                call_failed(
                    CRM,
                    what,
                    f"TLS verification failed ({exc.__class__.__name__}): check "
                    "SALESFORCE_INSTANCE_URL and the trusted CA bundle (REQUESTS_CA_BUNDLE)",
                )
            ) from None
        except requests.Timeout:
            raise timed_out(CRM, what, self.settings.timeout_seconds) from None
        except requests.ConnectionError as exc:
            raise connection_failed(CRM, what, exc) from None

    def _retry_after(self) -> float | None:
        return retry_after_from_headers(self._last_headers)


def _first_error(content: Any) -> tuple[str | None, str]:
    """(errorCode, message) of a Salesforce error body: a JSON array, an object, or text."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return first.get("errorCode") or first.get("statusCode"), str(first.get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode"), str(content.get("message", content))
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return None, str(content)[:300]


def lookup_soql(sobject: str, fields: Sequence[str], emails: Sequence[str]) -> str:
    """SELECT <fields> FROM <sobject> WHERE Email IN (...), values quoted by the SDK's SOQL formatter."""
    names = ", ".join(fields)  # field names come from the validated mapping and settings
    return format_soql(
        "SELECT {names:literal} FROM {sobject:literal} WHERE Email IN {emails}",
        names=names,
        sobject=sobject,
        emails=list(emails),
    )
