"""Bulk API 2.0 ingest for the Salesforce emulator: jobs, CSV batches, state polling, result CSVs."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.emulators._server import Answer

API_USER = "005000000000API"


def _errors(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"statusCode": code, "message": message, "fields": fields or []}]


class BulkIngestMixin:
    """Mixed into SalesforceEmulator; relies on its Lead store, `_apply` and `lead_by_ext`."""

    jobs: dict[str, dict[str, Any]]
    lead_fields: dict[str, dict[str, Any]]
    version: str
    bulk_polls_before_complete: int
    fail_bulk_jobs: int

    def _job_info(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            k: job[k]
            for k in (
                "id",
                "operation",
                "object",
                "createdById",
                "state",
                "externalIdFieldName",
                "concurrencyMode",
                "contentType",
                "apiVersion",
                "lineEnding",
                "columnDelimiter",
                "numberRecordsProcessed",
                "numberRecordsFailed",
                "errorMessage",
            )
            if k in job
        }

    def _bulk(self, kind: str, method: str, parts: list[str], body: bytes) -> Answer:
        if kind == "bulk_create":
            spec = json.loads(body)
            ext = spec.get("externalIdFieldName")
            unknown_ext = spec.get("operation") == "upsert" and not self.lead_fields.get(ext, {}).get("externalId")
            if spec.get("object") != "Lead" or unknown_ext:
                return Answer.json(
                    400, [{"errorCode": "INVALIDJOB", "message": f"InvalidJob : Field name not found : {ext}"}]
                )
            job_id = self._new_id("750")
            self.jobs[job_id] = {
                "id": job_id,
                "operation": spec.get("operation"),
                "object": "Lead",
                "createdById": API_USER,
                "state": "Open",
                "externalIdFieldName": ext,
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": float(self.version),
                "lineEnding": spec.get("lineEnding", "LF"),
                "columnDelimiter": spec.get("columnDelimiter", "COMMA"),
                "numberRecordsProcessed": 0,
                "numberRecordsFailed": 0,
                "data": [],
                "ok": [],
                "failed": [],
                "unprocessed": [],
            }
            content_url = f"services/data/v{self.version}/jobs/ingest/{job_id}/batches"
            return Answer.json(200, {**self._job_info(self.jobs[job_id]), "contentUrl": content_url})
        job = self.jobs.get(parts[2])
        if job is None:
            return Answer.json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
        if kind == "bulk_upload":
            if job["state"] != "Open":
                return Answer.json(409, [{"errorCode": "INVALIDJOBSTATE", "message": "Job is not open"}])
            job["data"].append(body.decode("utf-8"))
            return Answer(201)
        if kind == "bulk_close":
            state = json.loads(body).get("state")
            if state == "UploadComplete":
                self._process(job)
            elif state == "Aborted":
                job["state"] = "Aborted"
            return Answer.json(200, self._job_info(job))
        if kind == "bulk_status":
            if job["state"] in ("UploadComplete", "InProgress"):
                if job["polls_left"] > 0:
                    job["polls_left"] -= 1
                    job["state"] = "InProgress"
                else:
                    job["state"] = "JobComplete"
            return Answer.json(200, self._job_info(job))
        if kind == "bulk_delete":
            del self.jobs[job["id"]]
            return Answer(204)
        return self._results(job, parts[3])

    def _process(self, job: dict[str, Any]) -> None:
        job["polls_left"] = self.bulk_polls_before_complete
        rows = []
        for chunk in job["data"]:
            reader = csv.DictReader(io.StringIO(chunk))
            rows += [(reader.fieldnames, row) for row in reader]
        job["columns"] = rows[0][0] if rows else []
        if self.fail_bulk_jobs > 0:
            self.fail_bulk_jobs -= 1
            job.update(
                state="Failed", errorMessage="InvalidBatch : Failed to process query", unprocessed=[r for _, r in rows]
            )
            return
        job["state"] = "UploadComplete"
        ext = job["externalIdFieldName"]
        for _, row in rows:
            record = {}
            for name, value in row.items():
                if value == "":
                    continue  # an empty cell leaves the field as it is
                if self.lead_fields.get(name, {}).get("type") == "double" and value != "#N/A":
                    value = float(value)
                record[name] = None if value == "#N/A" else value
            unknown = [n for n in record if n not in self.lead_fields]
            if unknown:
                result = {
                    "success": False,
                    "errors": _errors("INVALID_FIELD", f"No such column '{unknown[0]}' on entity 'Lead'"),
                }
            else:
                result = self._apply(record, self.lead_by_ext(record.get(ext), ext), auto_assign=False)
            job["numberRecordsProcessed"] += 1
            if result["success"]:
                job["ok"].append({"sf__Id": result["id"], "sf__Created": str(result["created"]).lower(), **row})
            else:
                err = result["errors"][0]
                job["numberRecordsFailed"] += 1
                error = f"{err['statusCode']}:{err['message']}:{','.join(err['fields'])} --"
                job["failed"].append({"sf__Id": "", "sf__Error": error, **row})

    def _results(self, job: dict[str, Any], which: str) -> Answer:
        columns = job.get("columns", [])
        if which == "successfulResults":
            header, rows = ["sf__Id", "sf__Created", *columns], list(reversed(job["ok"]))  # order is not guaranteed
        elif which == "failedResults":
            header, rows = ["sf__Id", "sf__Error", *columns], job["failed"]
        elif which.lower() == "unprocessedrecords":
            header, rows = list(columns), job["unprocessed"]
        else:
            return Answer.json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=header, quoting=csv.QUOTE_ALL, lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
        return Answer(200, out.getvalue().encode(), content_type="text/csv")
