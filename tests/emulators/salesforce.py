"""A stateful Salesforce REST + Bulk API 2.0 emulator over TLS, speaking the real wire format.

Leads and Contacts in memory; SOQL look-ups by one field (`IN (...)` or `=`); Lead describe;
sObject Collections upsert (by external id) and update (by Id); single-record upsert by external id;
Bulk 2.0 ingest jobs with result CSVs. Every answer carries `Sforce-Limit-Info`. Faults are injected
per test through the control API on the object (see `EmulatorBase` and the methods below).
"""

from __future__ import annotations

import json
import re
import ssl
from typing import Any

from tests.emulators import soql
from tests.emulators._server import Answer, EmulatorBase, Fault
from tests.emulators.salesforce_bulk import API_USER, BulkIngestMixin, _errors

_DATA = re.compile(r"^/services/data/v(\d+\.\d)/(.*)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ASSIGNED_OWNER = "005000000000RUL"
REQUIRED = ("LastName", "Company")
STANDARD_LEAD_FIELDS: dict[str, dict[str, Any]] = {
    "Id": {"type": "id"},
    "Email": {"type": "email", "length": 80},
    "FirstName": {"type": "string", "length": 40},
    "LastName": {"type": "string", "length": 80},
    "Company": {"type": "string", "length": 255},
    "Title": {"type": "string", "length": 128},
    "Phone": {"type": "phone", "length": 40},
    "Country": {"type": "string", "length": 80},
    "Industry": {"type": "picklist", "length": 255},
    "Website": {"type": "url", "length": 255},
    "LeadSource": {"type": "picklist", "length": 255},
    "Status": {"type": "picklist", "length": 255},
    "IsConverted": {"type": "boolean"},
    "OwnerId": {"type": "reference"},
    "CreatedDate": {"type": "datetime"},
    "Description": {"type": "textarea", "length": 32000},
}
DEFAULT_CUSTOM_FIELDS: dict[str, dict[str, Any]] = {
    "Leadgate_Id__c": {"type": "string", "length": 64, "externalId": True, "unique": True},
    "Leadgate_Status__c": {"type": "string", "length": 40},
    "Leadgate_Score__c": {"type": "double"},
    "Leadgate_Confidence__c": {"type": "double"},
    "Leadgate_Reasons__c": {"type": "textarea", "length": 32768},
    "Leadgate_Summary__c": {"type": "textarea", "length": 32768},
    "Leadgate_Policy_Version__c": {"type": "string", "length": 64},
    "Leadgate_Scorer_Version__c": {"type": "string", "length": 64},
    "Leadgate_Model_Version__c": {"type": "string", "length": 64},
    "Leadgate_Next_Action__c": {"type": "string", "length": 40},
    "Leadgate_Hot_Signals__c": {"type": "textarea", "length": 32768},
}
CONTACT_FIELDS = {"Id", "Email", "FirstName", "LastName", "AccountId"}
_FAULT_BODIES = {
    400: ("JSON_PARSER_ERROR", "Unexpected character in the request body"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests"),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId: 1234-5678"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
}


class SalesforceEmulator(BulkIngestMixin, EmulatorBase):
    """Salesforce org stand-in; `url` is the instance URL (https)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        token: str = "test-session-id",
        api_max: int = 1_000_000,
        custom_fields: dict[str, dict[str, Any]] | None = None,
        record_bodies: bool = True,
    ) -> None:
        super().__init__(ssl_context=ssl_context, record_bodies=record_bodies)
        self.token = token
        self._custom = dict(DEFAULT_CUSTOM_FIELDS if custom_fields is None else custom_fields)
        self._api_max = api_max
        self.reset()

    # ---------------------------------------------------------------- control API

    def reset(self) -> None:
        """Empty org, default fields, no faults, zero API usage."""
        with self.lock:
            self.reset_traffic()
            self.lead_fields = {**STANDARD_LEAD_FIELDS, **{k: dict(v) for k, v in self._custom.items()}}
            self.leads: dict[str, dict[str, Any]] = {}
            self.contacts: dict[str, dict[str, Any]] = {}
            self.api_used = 0
            self.api_max = self._api_max
            self.rejections: dict[str, tuple[str, str, list[str]]] = {}
            self.malformed: set[str] = set()
            self.jobs: dict[str, dict[str, Any]] = {}
            self.bulk_polls_before_complete = 1
            self.fail_bulk_jobs = 0
            self._seq = 0
            self._cursors: dict[str, list[dict[str, Any]]] = {}
            self._by_key: dict[tuple[str, str], str] = {}  # (unique field, value) -> Lead Id
            self._by_email: dict[str, set[str]] = {}
            self.version = "59.0"

    def _new_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:012d}"

    def add_lead(self, **fields: Any) -> str:
        """Seed a Lead (as if sales typed it); returns its Id."""
        with self.lock:
            record = {"IsConverted": False, "OwnerId": API_USER, **fields, "Id": self._new_id("00Q")}
            self.leads[record["Id"]] = record
            self._index(record)
            return record["Id"]

    def add_contact(self, **fields: Any) -> str:
        with self.lock:
            record = {**fields, "Id": self._new_id("003")}
            self.contacts[record["Id"]] = record
            return record["Id"]

    def convert_lead(self, email: str) -> None:
        """Mark every Lead with this email converted (and create its Contact)."""
        with self.lock:
            for lead in self.leads_with_email(email):
                lead["IsConverted"] = True
            self.add_contact(Email=email, LastName="Converted")

    def reject_email(
        self,
        email: str,
        code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message: str = "Rejected by a validation rule",
        fields: list[str] | None = None,
    ) -> None:
        """Refuse every write of a record with this email with a per-record error."""
        self.rejections[email.lower()] = (code, message, fields or [])

    def malformed_email(self, email: str) -> None:
        """Refuse any whole Collections request that carries this email with a 400."""
        self.malformed.add(email.lower())

    def remove_field(self, name: str) -> None:
        with self.lock:
            self.lead_fields.pop(name, None)

    def leads_with_email(self, email: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self.leads[i] for i in sorted(self._by_email.get(email.lower(), ()))]

    def lead_by_ext(self, value: Any, field: str = "Leadgate_Id__c") -> dict[str, Any] | None:
        with self.lock:
            lead_id = self._by_key.get((field.lower(), str(value).lower()))
            return self.leads.get(lead_id) if lead_id else None

    def _index(self, record: dict[str, Any], before: dict[str, Any] | None = None) -> None:
        """Keep the look-up indexes (email, unique fields; case-insensitive) in step with a write."""
        for source, add in ((before, False), (record, True)):
            if source is None:
                continue
            email = str(source.get("Email") or "").lower()
            if email:
                ids = self._by_email.setdefault(email, set())
                ids.add(source["Id"]) if add else ids.discard(source["Id"])
            for name, spec in self.lead_fields.items():
                if spec.get("unique") and source.get(name) is not None:
                    key = (name.lower(), str(source[name]).lower())
                    if add:
                        self._by_key[key] = source["Id"]
                    elif self._by_key.get(key) == source["Id"]:
                        self._by_key.pop(key)

    # ---------------------------------------------------------------- server hooks

    def classify(self, method: str, path: str) -> str:
        match = _DATA.match(path)
        if not match:
            return "other"
        parts = [p for p in match.group(2).split("/") if p]
        if parts and parts[0] in ("query", "queryAll"):
            return "query"
        if parts[:1] == ["sobjects"]:
            return "describe" if parts[-1] == "describe" else f"sobject_{method.lower()}"
        if parts[:2] == ["composite", "sobjects"]:
            return "collections_upsert" if len(parts) >= 4 else "collections_update"
        if parts[:2] == ["jobs", "ingest"]:
            if len(parts) == 2:
                return "bulk_create"
            if len(parts) == 3:
                return {"GET": "bulk_status", "PATCH": "bulk_close", "DELETE": "bulk_delete"}.get(method, "bulk_other")
            return "bulk_upload" if parts[3] == "batches" else "bulk_results"
        return "other"

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return Answer.json(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        return None

    def fault_answer(self, kind: str, fault: Fault) -> Answer:
        code, message = _FAULT_BODIES.get(fault.status, ("UNKNOWN_EXCEPTION", "fault"))
        body = fault.body if fault.body is not None else [{"message": message, "errorCode": code}]
        return Answer(fault.status, json.dumps(body).encode(), headers=dict(fault.headers))

    def decorate(self, kind: str, answer: Answer) -> Answer:
        with self.lock:
            self.api_used += 1
            answer.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.api_max}"
        return answer

    def route(
        self, kind: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Answer:
        if self.api_used >= self.api_max:
            return Answer.json(
                403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            )
        match = _DATA.match(path)
        parts = [p for p in match.group(2).split("/") if p] if match else []
        self.version = match.group(1) if match else "59.0"
        with self.lock:
            if kind == "query":
                return self._query(parts, query)
            if kind == "describe" and method == "GET":
                return self._describe(parts[1])
            if kind == "sobject_patch" and len(parts) == 4 and parts[1] == "Lead":
                return self._single_upsert(parts[2], parts[3], headers, body)
            if kind in ("collections_upsert", "collections_update") and method == "PATCH":
                return self._collections(parts, headers, body)
            if kind.startswith("bulk_"):
                return self._bulk(kind, method, parts, body)
        return Answer.json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])

    # ---------------------------------------------------------------- query / describe

    def _query(self, parts: list[str], query: dict[str, list[str]]) -> Answer:
        if len(parts) == 2:  # nextRecordsUrl: /query/<locator>
            records = self._cursors.pop(parts[1], None)
            if records is None:
                return Answer.json(400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}])
            return self._page(records)
        try:
            parsed = soql.parse(query.get("q", [""])[0])
        except ValueError as exc:
            return Answer.json(400, [{"errorCode": "MALFORMED_QUERY", "message": str(exc)}])
        table = {"Lead": (self.leads, set(self.lead_fields)), "Contact": (self.contacts, CONTACT_FIELDS)}.get(
            parsed.sobject
        )
        if table is None:
            return Answer.json(
                400, [{"errorCode": "INVALID_TYPE", "message": f"sObject type '{parsed.sobject}' is not supported."}]
            )
        store, known = table
        lower = {k.lower(): k for k in known}
        for name in [*parsed.fields, parsed.where_field]:
            if name.lower() not in lower:
                return Answer.json(
                    400,
                    [
                        {
                            "errorCode": "INVALID_FIELD",
                            "message": f"No such column '{name}' on entity '{parsed.sobject}'.",
                        }
                    ],
                )
        where = lower[parsed.where_field.lower()]
        wanted = {str(v).lower() for v in parsed.values}
        if store is self.leads and where == "Email":
            matches = [self.leads[i] for v in sorted(wanted) for i in sorted(self._by_email.get(v, ()))]
        else:
            matches = [r for r in store.values() if r.get(where) is not None and str(r[where]).lower() in wanted]
        records = [
            {
                "attributes": {
                    "type": parsed.sobject,
                    "url": f"/services/data/v{self.version}/sobjects/{parsed.sobject}/{r['Id']}",
                },
                **{lower[f.lower()]: r.get(lower[f.lower()]) for f in parsed.fields},
            }
            for r in matches
        ]
        return self._page(records)

    def _page(self, records: list[dict[str, Any]], size: int = 2000) -> Answer:
        body: dict[str, Any] = {"totalSize": len(records), "done": len(records) <= size, "records": records[:size]}
        if len(records) > size:
            locator = f"01g{self._new_id('')}-{size}"
            self._cursors[locator] = records[size:]
            body["nextRecordsUrl"] = f"/services/data/v{self.version}/query/{locator}"
        return Answer.json(200, body)

    def _describe(self, sobject: str) -> Answer:
        if sobject != "Lead":
            return Answer.json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
        fields = [
            {
                "name": name,
                "label": name.removesuffix("__c").replace("_", " "),
                "type": spec["type"],
                "length": spec.get("length", 0),
                "custom": name.endswith("__c"),
                "externalId": bool(spec.get("externalId")),
                "unique": bool(spec.get("unique")),
                "nillable": name not in REQUIRED,
                "createable": name not in ("Id", "IsConverted", "CreatedDate"),
                "updateable": name not in ("Id", "IsConverted", "CreatedDate"),
            }
            for name, spec in self.lead_fields.items()
        ]
        return Answer.json(
            200, {"name": "Lead", "label": "Lead", "createable": True, "updateable": True, "fields": fields}
        )

    # ---------------------------------------------------------------- writes

    def _validate(self, record: dict[str, Any], merged: dict[str, Any]) -> list[dict[str, Any]] | None:
        missing = [f for f in REQUIRED if not str(merged.get(f) or "").strip()]
        if missing:
            return _errors("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        email = merged.get("Email")
        if email and not _EMAIL.match(str(email)):
            return _errors("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {email}", ["Email"])
        for name, value in record.items():
            limit = self.lead_fields.get(name, {}).get("length")
            if limit and isinstance(value, str) and len(value) > limit:
                return _errors(
                    "STRING_TOO_LONG", f"{name}: data value too large: {value[:20]}... (max length={limit})", [name]
                )
        rejection = self.rejections.get(str(email or "").lower())
        if rejection:
            return _errors(rejection[0], rejection[1], rejection[2])
        return None

    def _apply(
        self, record: dict[str, Any], existing: dict[str, Any] | None, auto_assign: bool, dry_run: bool = False
    ) -> dict[str, Any]:
        """Create or update one Lead; returns the Collections result."""
        if existing is not None and existing.get("IsConverted"):
            return {
                "success": False,
                "errors": _errors("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"),
            }
        merged = {**(existing or {}), **record}
        problems = self._validate(record, merged)
        if problems:
            return {"success": False, "errors": problems}
        for name in self.lead_fields:
            spec = self.lead_fields[name]
            if spec.get("unique") and record.get(name) is not None:
                owner = self.lead_by_ext(record[name], name)
                if owner is not None and (existing is None or owner["Id"] != existing["Id"]):
                    return {
                        "success": False,
                        "errors": _errors(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {name} duplicates value on record with id: {owner['Id']}",
                            [name],
                        ),
                    }
        if dry_run:
            return {
                "id": existing["Id"] if existing else None,
                "success": True,
                "errors": [],
                "created": existing is None,
            }
        if existing is not None:
            before = dict(existing)
            existing.update(record)
            self._index(existing, before)
            return {"id": existing["Id"], "success": True, "errors": [], "created": False}
        new_id = self._new_id("00Q")
        self.leads[new_id] = {
            "IsConverted": False,
            "OwnerId": ASSIGNED_OWNER if auto_assign else API_USER,
            **record,
            "Id": new_id,
        }
        self._index(self.leads[new_id])
        return {"id": new_id, "success": True, "errors": [], "created": True}

    def _clean(self, record: dict[str, Any]) -> tuple[dict[str, Any] | None, Answer | None]:
        fields = {k: v for k, v in record.items() if k != "attributes"}
        for name in fields:
            if name not in self.lead_fields:
                return None, Answer.json(
                    400, [{"errorCode": "INVALID_FIELD", "message": f"No such column '{name}' on sobject of type Lead"}]
                )
        return fields, None

    def _collections(self, parts: list[str], headers: dict[str, str], body: bytes) -> Answer:
        try:
            payload = json.loads(body)
        except ValueError:
            return Answer.json(400, [{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected end-of-input"}])
        records = payload.get("records") or []
        if len(records) > 200:
            return Answer.json(
                400,
                [
                    {
                        "errorCode": "EXCEEDED_ID_LIMIT",
                        "message": "record limit reached. cannot submit more than 200 records into this call",
                    }
                ],
            )
        ext_field = parts[3] if len(parts) >= 4 else None
        if ext_field is not None and not self.lead_fields.get(ext_field, {}).get("externalId"):
            return Answer.json(
                404,
                [
                    {
                        "errorCode": "NOT_FOUND",
                        "message": f"Provided external ID field does not exist or is not accessible: {ext_field}",
                    }
                ],
            )
        cleaned = []
        for record in records:
            if (record.get("attributes") or {}).get("type") != "Lead":
                return Answer.json(400, [{"errorCode": "INVALID_TYPE", "message": "Must send a concrete entity type."}])
            if str(record.get("Email", "")).lower() in self.malformed:
                return Answer.json(
                    400, [{"errorCode": "JSON_PARSER_ERROR", "message": "Cannot deserialize instance of Lead"}]
                )
            fields, problem = self._clean(record)
            if problem is not None:
                return problem
            cleaned.append(fields)
        auto = headers.get("sforce-auto-assign", "TRUE").upper() != "FALSE"
        all_or_none = bool(payload.get("allOrNone"))
        results, seen = [], set()
        for fields in cleaned:
            if ext_field is not None:
                key = fields.get(ext_field)
                if key in seen:
                    results.append(
                        {
                            "success": False,
                            "errors": _errors(
                                "DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [ext_field]
                            ),
                        }
                    )
                    continue
                seen.add(key)
                existing = self.lead_by_ext(key, ext_field) if key is not None else None
            else:
                existing = self.leads.get(fields.pop("Id", None) or "")
                if existing is None:
                    results.append(
                        {
                            "success": False,
                            "errors": _errors("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
                        }
                    )
                    continue
            results.append(self._apply(fields, existing, auto, dry_run=all_or_none))
            if ext_field is None:
                results[-1].pop("created", None)
        if all_or_none:
            if not all(r["success"] for r in results):
                rolled_back = {
                    "success": False,
                    "errors": _errors(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request was using AllOrNone header",
                    ),
                }
                return Answer.json(200, [r if not r["success"] else rolled_back for r in results])
            return self._collections(parts, headers, json.dumps({**payload, "allOrNone": False}).encode())
        return Answer.json(200, results)

    def _single_upsert(self, ext_field: str, value: str, headers: dict[str, str], body: bytes) -> Answer:
        from urllib.parse import unquote

        fields, problem = self._clean(json.loads(body or b"{}"))
        if problem is not None:
            return problem
        key = unquote(value)
        fields[ext_field] = key
        existing = self.lead_by_ext(key, ext_field)
        result = self._apply(fields, existing, headers.get("sforce-auto-assign", "TRUE").upper() != "FALSE")
        if not result["success"]:
            return Answer.json(
                400,
                [
                    {"errorCode": e["statusCode"], "message": e["message"], "fields": e["fields"]}
                    for e in result["errors"]
                ],
            )
        return Answer.json(201 if result["created"] else 200, result)
