"""Rows for `sync.attempts` (migration 0005) from connector results: one per record per attempt."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from connectors.crm.base import SyncResult
from leadgate.shared.redaction import redact

ATTEMPT_COLUMNS = (
    "run_id",
    "crm",
    "lead_id",
    "payload_hash",
    "request",
    "response",
    "outcome",
    "crm_record_id",
    "error_code",
    "message",
    "http_status",
    "attempted_at",
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def attempt_rows(crm: str, run_id: str | None, results: Iterable[SyncResult]) -> list[tuple[Any, ...]]:
    """Tuples in ATTEMPT_COLUMNS order (request/response as JSON text), oldest attempt first per lead."""
    rows = []
    for result in results:
        for a in result.attempts:
            rows.append(
                (
                    run_id,
                    crm,
                    a.lead_id,
                    a.payload_hash,
                    redact(_json(a.request)),
                    redact(_json(a.response)),
                    str(a.outcome),
                    a.crm_record_id,
                    a.error_code,
                    redact(a.message),
                    a.http_status,
                    a.attempted_at,
                )
            )
    return rows
