"""The CRM-neutral lead payload leadgate syncs: which leads are eligible, what is sent, and its hash.

Field names are the neutral ones `connectors.crm.mapping.NEUTRAL_FIELDS` maps to each CRM.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from leadgate.policy import Policy
from leadgate.policy.consent import allowed_statuses, status_sql
from leadgate.shared.neutral_text import crm_text

PERSON_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "company_domain",
    "job_title",
    "phone",
    "country",
    "industry",
    "company_size",
)
# Sent when the lead's first touch carried no utm_source: says where the MQL came from.
DEFAULT_LEAD_SOURCE = "leadgate"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        value = str(value)
    return value.strip() or None


def _rounded(value: Any) -> float | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 2)


def _reason_texts(reasons: Any, limit: int) -> list[str]:
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    if not reasons:
        return []
    ordered = sorted(reasons, key=lambda r: -abs(float(r.get("points") or 0)))
    # Text only, no points: decayed points move daily and would make every payload owed again.
    return [str(r.get("detail") or r.get("feature")) for r in ordered[:limit]]


def neutral_texts(payload: dict[str, Any], issues: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Every text value made inert for a CRM (`crm_text`); what changed is appended to `issues` as (field, problem)."""
    out: dict[str, Any] = {}
    for name, value in payload.items():
        values = value if isinstance(value, list) else [value]
        cleaned = []
        for item in values:
            if isinstance(item, str):
                item, problems = crm_text(name, item)
                if issues is not None:
                    issues.extend((name, problem) for problem in problems if (name, problem) not in issues)
            cleaned.append(item)
        out[name] = [v for v in cleaned if v is not None] if isinstance(value, list) else cleaned[0]
    return out


def build_payload(
    row: Mapping[str, Any], top_reasons: int = 5, issues: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The CRM-neutral MQL payload of one lead (never the raw message text), its text made inert for a CRM."""
    payload: dict[str, Any] = {"lead_id": row["lead_id"]}
    payload.update({name: _text(row.get(name)) for name in PERSON_FIELDS})
    payload.update(
        lead_source=_text(row.get("lead_source")) or DEFAULT_LEAD_SOURCE,
        lead_status="MQL",
        score=_rounded(row.get("score")),
        confidence=_rounded(row.get("confidence")),
        top_reasons=_reason_texts(row.get("reasons"), top_reasons),
        reviewer_summary=_text(row.get("reviewer_summary")),  # the reviewer's approval and note, for sales
        policy_version=_text(row.get("policy_version")),
        scorer_version=_text(row.get("scorer_version")),
        model_version=_text(row.get("model_version")),
        next_action=_text(row.get("next_action")),  # routing's recommendation, for the CRM's assignment rules
        hot_signals=_hot_signals(row.get("route_codes")),
    )
    return neutral_texts(payload, issues)


def _hot_signals(codes: Any) -> list[str]:
    """Behaviour triggers behind the lead's last routing decision (`hot:<name>`, or the signal a reviewer approved)."""
    if codes is None or isinstance(codes, float):
        return []
    names = [str(c).split(":", 1)[1] for c in codes if str(c).startswith(("hot:", "high_intent_signal:"))]
    return sorted(set(names))


def canonical_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(payload: Mapping[str, Any]) -> str:
    """sha256 of the payload's canonical JSON."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


# Qualified or synced leads with consent, with their latest score and the latest approval's note.
ELIGIBLE_SQL = """
with eligible as (
    select lead_id, state from lifecycle.lead_states where state in ('qualified', 'synced')
), latest as (
    select lead_id, max(score_id) as score_id from scoring.scores
    where lead_id in (select lead_id from eligible) group by lead_id
), routed as (
    -- the last routing decision's codes: stable while the state moves on (qualified -> synced)
    select lead_id, arg_max(reason_codes, decision_id) as route_codes from audit.decisions
    where kind = 'route' and actor like 'policy:%' and lead_id in (select lead_id from eligible)
      and not list_contains(reason_codes, 'kept_human_decision')
    group by lead_id
), reviewed as (
    select lead_id, arg_max('Approved by ' || reviewer || coalesce(': ' || nullif(trim(note), ''), ''), item_id)
               as reviewer_summary
    from review.items where status = 'approved' and lead_id in (select lead_id from eligible) group by lead_id
), edited as (  -- reviewers' corrections (leadgate/review/edits.py): the latest edit of a field wins
    select lead_id, arg_max(edited, edit_id) filter (where field = 'company') as company,
           arg_max(edited, edit_id) filter (where field = 'job_title') as job_title,
           arg_max(edited, edit_id) filter (where field = 'country') as country,
           arg_max(edited, edit_id) filter (where field = 'company_size') as company_size
    from review.lead_edits where lead_id in (select lead_id from eligible) group by lead_id
)
select f.lead_id, f.email, f.first_name, f.last_name, coalesce(x.company, f.company) as company, f.company_domain,
       coalesce(x.job_title, f.job_title) as job_title, f.phone, coalesce(x.country, f.country) as country, f.industry,
       coalesce(x.company_size, f.company_size) as company_size, f.first_utm_source as lead_source, s.score, s.confidence, s.reasons,
       coalesce(s.policy_version, ?) as policy_version, s.scorer_version, s.model_version, r.reviewer_summary, st.next_action, rt.route_codes
from eligible e
join lifecycle.lead_states st on st.lead_id = e.lead_id
left join routed rt on rt.lead_id = e.lead_id
join marts.lead_features f on f.lead_id = e.lead_id
left join latest l on l.lead_id = e.lead_id
left join scoring.scores s on s.score_id = l.score_id
left join reviewed r on r.lead_id = e.lead_id
left join edited x on x.lead_id = e.lead_id
where list_contains(?::varchar[], {status})
""".replace("{status}", status_sql("f.consent_status", "f.has_consent"))  # the one consent rule


def current_payloads(con: duckdb.DuckDBPyConnection, policy: Policy) -> pd.DataFrame:
    """lead_id, payload (canonical JSON) and payload_hash of every qualified or synced lead with consent."""
    cur = con.execute(ELIGIBLE_SQL, [policy.version, list(allowed_statuses(policy))])
    names = [d[0] for d in cur.description]
    lead_ids, texts, hashes, issues = [], [], [], []
    for values in cur.fetchall():
        found: list[tuple[str, str]] = []
        payload = build_payload(dict(zip(names, values)), policy.routing.top_reasons, found)
        text = canonical_json(payload)
        lead_ids.append(payload["lead_id"])
        texts.append(text)
        hashes.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
        issues.append(json.dumps([{"field": f, "problem": p} for f, p in found]) if found else None)
    return pd.DataFrame(
        {"lead_id": lead_ids, "payload": texts, "payload_hash": hashes, "field_issues": issues}, dtype="object"
    )


def record_field_issues(con: duckdb.DuckDBPyConnection, payloads: str, now: Any) -> int:
    """Upsert sync.field_issues (lead, field, problem; no values) from the `field_issues` column of `payloads`."""
    rows = [
        (lead_id, item["field"], item["problem"])
        for lead_id, text in con.execute(
            f"select lead_id, field_issues from {payloads}"  # a registered view name
            " where field_issues is not null"
        ).fetchall()
        for item in json.loads(text)
    ]
    if rows:
        con.executemany(
            "insert into sync.field_issues (lead_id, field, problem, first_seen_at, last_seen_at) values (?, ?, ?, ?, ?)"
            " on conflict (lead_id, field, problem) do update set last_seen_at = excluded.last_seen_at",
            [[*row, now, now] for row in rows],
        )
    return len(rows)
