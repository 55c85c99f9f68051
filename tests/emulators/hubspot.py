"""A stateful HubSpot CRM v3 emulator (contacts + contact properties) over plain http.

Contacts keyed by email; batch upsert (idProperty email, <= 100 inputs, 200 COMPLETE or 207 with
per-input errors naming `context.ids`); batch read by email; property list/create; rate-limit
headers on every answer, optionally enforced. Faults are injected per test through the control API.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.emulators._server import Answer, EmulatorBase, Fault

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STANDARD_PROPERTIES = {
    "email": "string",
    "firstname": "string",
    "lastname": "string",
    "company": "string",
    "jobtitle": "string",
    "phone": "string",
    "country": "string",
    "industry": "string",
    "website": "string",
    "lifecyclestage": "enumeration",
    "hs_object_id": "number",
    "createdate": "datetime",
    "lastmodifieddate": "datetime",
}
DEFAULT_CUSTOM = [
    "leadgate_lead_id",
    "leadgate_score",
    "leadgate_confidence",
    "leadgate_reasons",
    "leadgate_summary",
    "leadgate_policy_version",
    "leadgate_scorer_version",
    "leadgate_model_version",
    "leadgate_next_action",
    "leadgate_hot_signals",
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _error(category: str, message: str, ids: list[str] | None = None, status: str = "error") -> dict[str, Any]:
    return {
        "status": status,
        "category": category,
        "message": message,
        "context": {"ids": ids} if ids else {},
        "links": {},
        "errors": [],
    }


class HubSpotEmulator(EmulatorBase):
    """HubSpot portal stand-in; pass `url` as the client's `host`."""

    def __init__(
        self,
        *,
        token: str = "test-private-app-token",
        with_custom_properties: bool = True,
        rate_limit: int | None = None,
        interval_ms: int = 10_000,
        record_bodies: bool = True,
    ) -> None:
        super().__init__(ssl_context=None, record_bodies=record_bodies)
        self.token = token
        self._with_custom = with_custom_properties
        self.rate_limit = rate_limit  # None: headers only, never a 429 of our own making
        self.interval_ms = interval_ms
        self.reset()

    # ---------------------------------------------------------------- control API

    def reset(self) -> None:
        with self.lock:
            self.reset_traffic()
            self.contacts: dict[str, dict[str, Any]] = {}  # id -> {"id", "properties", createdAt, updatedAt}
            self.by_email: dict[str, str] = {}
            self.properties: dict[str, dict[str, Any]] = {}
            for name, type_ in STANDARD_PROPERTIES.items():
                self._add_property(name, type_, "text", hubspot_defined=True)
            if self._with_custom:
                for name in DEFAULT_CUSTOM:
                    self._add_property(
                        name, "number" if name in ("leadgate_score", "leadgate_confidence") else "string", "text"
                    )
            self.rejections: dict[str, str] = {}
            self._seq = 1000
            self._window: list[float] = []

    def _add_property(
        self,
        name: str,
        type_: str,
        field_type: str,
        *,
        label: str | None = None,
        group: str = "contactinformation",
        hubspot_defined: bool = False,
    ) -> dict[str, Any]:
        prop = {
            "name": name,
            "label": label or name,
            "type": type_,
            "fieldType": field_type,
            "groupName": group,
            "description": "",
            "options": [],
            "hidden": False,
            "hubspotDefined": hubspot_defined,
            "calculated": False,
            "externalOptions": False,
            "formField": True,
            "createdAt": _now(),
            "updatedAt": _now(),
        }
        self.properties[name] = prop
        return prop

    def remove_property(self, name: str) -> None:
        with self.lock:
            self.properties.pop(name, None)

    def add_contact(self, **properties: str) -> str:
        """Seed a contact (as if sales typed it); returns its id."""
        with self.lock:
            return self._upsert_one(str(properties["email"]).lower(), properties)[0]["id"]

    def contact(self, email: str) -> dict[str, Any] | None:
        with self.lock:
            cid = self.by_email.get(email.lower())
            return self.contacts[cid]["properties"] if cid else None

    def reject_email(self, email: str, message: str = "Property values were not valid") -> None:
        """Answer every upsert of this email with a VALIDATION_ERROR (in a 207)."""
        self.rejections[email.lower()] = message

    # ---------------------------------------------------------------- server hooks

    def classify(self, method: str, path: str) -> str:
        return {
            ("POST", "/crm/v3/objects/contacts/batch/upsert"): "batch_upsert",
            ("POST", "/crm/v3/objects/contacts/batch/read"): "batch_read",
            ("GET", "/crm/v3/properties/contacts"): "properties_list",
            ("POST", "/crm/v3/properties/contacts"): "properties_create",
        }.get((method, path.rstrip("/")), "other")

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return Answer.json(
                401,
                {
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                    "correlationId": "emu",
                },
            )
        return None

    def fault_answer(self, kind: str, fault: Fault) -> Answer:
        if fault.body is not None:
            body = fault.body
        elif fault.status == 429:
            body = {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "emu",
                "policyName": "TEN_SECONDLY_ROLLING",
            }
        elif fault.status == 401:
            body = {
                "status": "error",
                "category": "INVALID_AUTHENTICATION",
                "message": "Authentication credentials not found.",
            }
        elif fault.status == 400:
            body = _error("VALIDATION_ERROR", "Invalid input JSON on line 1, column 2")
        else:
            body = {
                "status": "error",
                "category": "INTERNAL_ERROR",
                "message": "internal error",
                "correlationId": "emu",
            }
        return Answer.json(fault.status, body, headers=dict(fault.headers))

    def decorate(self, kind: str, answer: Answer) -> Answer:
        limit = self.rate_limit or 190
        with self.lock:
            used = len(self._window)
        answer.headers.update(
            {
                "X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, limit - used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            }
        )
        return answer

    def route(
        self, kind: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Answer:
        with self.lock:
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < self.interval_ms / 1000] + [now]
            if self.rate_limit is not None and len(self._window) > self.rate_limit:
                return self.fault_answer(kind, Fault(kind, "status", status=429))
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                return Answer.json(400, _error("VALIDATION_ERROR", "Invalid input JSON"))
            if kind == "batch_upsert":
                return self._batch_upsert(payload)
            if kind == "batch_read":
                return self._batch_read(payload)
            if kind == "properties_list":
                return Answer.json(200, {"results": list(self.properties.values())})
            if kind == "properties_create":
                return self._create_property(payload)
        return Answer.json(404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "resource not found"})

    # ---------------------------------------------------------------- handlers

    def _upsert_one(self, email: str, properties: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        now = _now()
        cid = self.by_email.get(email)
        if cid is None:
            self._seq += 1
            cid = str(self._seq)
            self.contacts[cid] = {
                "id": cid,
                "properties": {"email": email, "hs_object_id": cid, "createdate": now},
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
            }
            self.by_email[email] = cid
            created = True
        else:
            created = False
        contact = self.contacts[cid]
        contact["properties"].update(dict(properties.items()), lastmodifieddate=now)
        contact["updatedAt"] = now
        return contact, created

    def _batch_upsert(self, payload: dict[str, Any]) -> Answer:
        inputs = payload.get("inputs") or []
        if len(inputs) > 100:
            return Answer.json(
                400, _error("VALIDATION_ERROR", f"Batch input size of {len(inputs)} exceeds the limit of 100")
            )
        ids = [str(i.get("id", "")).lower() for i in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return Answer.json(400, _error("VALIDATION_ERROR", f"Duplicate IDs found in batch input: {duplicates}"))
        for item in inputs:
            if item.get("idProperty") != "email" and not self.properties.get(item.get("idProperty"), {}).get(
                "hasUniqueValue"
            ):
                return Answer.json(
                    400, _error("VALIDATION_ERROR", f"idProperty {item.get('idProperty')!r} is not unique")
                )
        started = _now()
        results, failed = [], {}
        for item, email in zip(inputs, ids):
            props = item.get("properties") or {}
            unknown = [p for p in props if p not in self.properties]
            if unknown:
                failed.setdefault(f'Property "{unknown[0]}" does not exist', []).append(item["id"])
            elif not _EMAIL.match(email):
                failed.setdefault(f"Property values were not valid: email {email!r} is not a valid email", []).append(
                    item["id"]
                )
            elif email in self.rejections:
                failed.setdefault(self.rejections[email], []).append(item["id"])
            else:
                contact, created = self._upsert_one(email, props)
                results.append({**contact, "properties": dict(contact["properties"]), "new": created})
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}
        if failed:
            body.update(
                numErrors=sum(len(v) for v in failed.values()),
                errors=[_error("VALIDATION_ERROR", message, emails) for message, emails in failed.items()],
            )
            return Answer.json(207, body)
        return Answer.json(200, body)

    def _batch_read(self, payload: dict[str, Any]) -> Answer:
        inputs = payload.get("inputs") or []
        if len(inputs) > 100:
            return Answer.json(
                400, _error("VALIDATION_ERROR", f"Batch input size of {len(inputs)} exceeds the limit of 100")
            )
        if payload.get("idProperty") != "email":
            return Answer.json(400, _error("VALIDATION_ERROR", "this emulator reads contacts by email only"))
        wanted = list(payload.get("properties") or [])
        started = _now()
        results, missing = [], []
        for item in inputs:
            cid = self.by_email.get(str(item.get("id", "")).lower())
            if cid is None:
                missing.append(item.get("id"))
                continue
            contact = self.contacts[cid]
            props = {
                k: contact["properties"].get(k) for k in [*wanted, "hs_object_id", "createdate", "lastmodifieddate"]
            }
            results.append(
                {
                    "id": cid,
                    "properties": props,
                    "createdAt": contact["createdAt"],
                    "updatedAt": contact["updatedAt"],
                    "archived": False,
                }
            )
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}
        if missing:
            body.update(
                numErrors=len(missing),
                errors=[
                    _error(
                        "OBJECT_NOT_FOUND",
                        "Could not get some CONTACT objects, they may be deleted or not exist.",
                        missing,
                    )
                ],
            )
            return Answer.json(207, body)
        return Answer.json(200, body)

    def _create_property(self, payload: dict[str, Any]) -> Answer:
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not payload.get(k)]
        if missing:
            return Answer.json(400, _error("VALIDATION_ERROR", f"missing required fields: {missing}"))
        if payload["name"] in self.properties:
            return Answer.json(
                409,
                {
                    "status": "error",
                    "category": "OBJECT_ALREADY_EXISTS",
                    "message": f"Property named '{payload['name']}' already exists.",
                },
            )
        prop = self._add_property(
            payload["name"], payload["type"], payload["fieldType"], label=payload["label"], group=payload["groupName"]
        )
        prop["description"] = payload.get("description") or ""
        return Answer.json(201, prop)
