"""The one place that touches hubspot-api-client: the client factory, one method per call, and the
translation of its exceptions into leadgate's CRM-neutral errors.

Each method makes one attempt (urllib3's own retries are switched off: a retried POST must be the
connector's decision) after waiting for the proactive rate limiter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import hubspot
import urllib3
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from connectors.crm.base import CrmAuthError, CrmNotReady, SyncStats
from connectors.crm.hubspot.settings import WINDOW_SECONDS, HubSpotSettings
from connectors.crm.retry import MalformedBatchError, call_failed, connection_failed, http_error, timed_out
from leadgate.shared.rate_limits import RollingWindowLimiter
from leadgate.shared.retry import retry_after_from_headers

_API_ERRORS = (ContactsApiException, PropertiesApiException)
OBJECT_TYPE = "contacts"
CRM = "HubSpot"  # how messages name it


def make_hubspot(settings: HubSpotSettings) -> hubspot.Client:
    """The SDK client (the only SDK construction in leadgate)."""
    settings.require_credentials()
    return hubspot.Client.create(
        access_token=settings.access_token.get_secret_value(),
        host=settings.base_url.rstrip("/"),
        retry=Retry(total=0, read=False, redirect=False, raise_on_status=False),
    )


class HubSpotClient:
    """One method per HubSpot call leadgate makes; each raises leadgate errors, never SDK ones."""

    def __init__(
        self, settings: HubSpotSettings, stats: SyncStats, *, limiter: RollingWindowLimiter | None = None
    ) -> None:
        self.settings = settings
        self.stats = stats
        sdk = make_hubspot(settings)
        # Built once: each attribute access on the SDK creates a fresh client and connection pool.
        self._batch = sdk.crm.contacts.batch_api
        self._properties = sdk.crm.properties.core_api
        self.limiter = limiter or RollingWindowLimiter(settings.requests_per_10s, WINDOW_SECONDS)

    def _call(
        self, kind: str, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> tuple[dict[str, Any], int]:
        """One SDK call, raw (`_preload_content=False`) and under the request timeout: (the answer's JSON, its status)."""
        self.limiter.acquire()
        self.stats.count(kind)
        if kind == "batch_read":
            self.stats.lookup_calls += 1
        elif kind.startswith("properties"):
            self.stats.setup_calls += 1
        with self._translated(what):
            raw = method(*args, _preload_content=False, _request_timeout=self.settings.timeout_seconds, **kwargs)
            # The SDK's model deserialisation costs more than the request; the wire JSON is what we log.
            answer = json.loads(raw.data or b"{}")
        remaining = raw.headers.get("X-HubSpot-RateLimit-Remaining")
        if remaining is not None and remaining.isdigit():
            low = self.stats.extra.get("ratelimit_remaining_min")
            self.stats.extra["ratelimit_remaining_min"] = int(remaining) if low is None else min(low, int(remaining))
        return answer, raw.status

    def batch_upsert(self, inputs: Sequence[dict[str, Any]]) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """Upsert contacts by email; (status 200|207, results, per-input errors)."""
        body = BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(id=i["id"], id_property=i["idProperty"], properties=i["properties"])
                for i in inputs
            ]
        )
        answer, status = self._call("batch_upsert", "batch upsert", self._batch.upsert, body)
        return status, list(answer.get("results") or []), list(answer.get("errors") or [])

    def batch_read(self, emails: Sequence[str], properties: Sequence[str]) -> list[dict[str, Any]]:
        """Current properties of the contacts with these emails (absent ones are simply not returned)."""
        body = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=e) for e in emails],
            id_property="email",
            properties=list(properties),
            properties_with_history=[],
        )
        answer, _ = self._call("batch_read", "batch read", self._batch.read, body, archived=False)
        return list(answer.get("results") or [])

    def list_properties(self) -> list[dict[str, Any]]:
        answer, _ = self._call(
            "properties_list", "property list", self._properties.get_all, OBJECT_TYPE, archived=False
        )
        return list(answer.get("results") or [])

    def create_property(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Create one contact property; an existing one (409) counts as created."""
        body = PropertyCreate(
            name=spec["name"],
            label=spec["label"],
            type=spec["type"],
            field_type=spec["fieldType"],
            group_name=spec["groupName"],
            description=spec.get("description"),
        )
        try:
            answer, _ = self._call(
                "properties_create", f"property creation of {spec['name']}", self._properties.create, OBJECT_TYPE, body
            )
        except MalformedBatchError as exc:
            if exc.status == 409:
                return {"name": spec["name"]}
            raise
        return answer

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except _API_ERRORS as exc:
            status = exc.status or 0
            body = _body(exc.body)
            message = body.get("message") if isinstance(body, dict) else None
            message = message or exc.reason or "no message"
            category = body.get("category") or body.get("errorType") if isinstance(body, dict) else None
            if status == 401:
                raise CrmAuthError("HubSpot refused the access token (401): set a valid HUBSPOT_ACCESS_TOKEN") from None
            if status == 403:
                raise CrmAuthError(
                    f"HubSpot refused the {what} (403 {message}): give the private app the contacts "
                    "read/write and schema scopes"
                ) from None
            if status == 0:
                raise CrmNotReady(call_failed(CRM, what, f"{message} (check HUBSPOT_BASE_URL and TLS trust)")) from None
            raise http_error(
                CRM,
                what,
                status,
                category,
                message,
                body=body,
                retry_after=retry_after_from_headers(exc.headers),
                final=isinstance(body, dict) and body.get("policyName") == "DAILY",
            ) from None
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise timed_out(CRM, what, self.settings.timeout_seconds) from None
        except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
            raise connection_failed(CRM, what, exc) from None


def _body(raw: Any) -> Any:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return {"message": raw[:300]}
    return raw or {}
