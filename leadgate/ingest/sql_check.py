"""Set-based SQL that checks and normalises parsed records, then writes them to raw.* in one transaction.

The statements are in checks.sql beside this module; here are the constants and fragment builders they are
rendered with (never input values: values go in as named parameters).
"""

from __future__ import annotations

from leadgate.ingest.records import FIELDS, MAX_RECORD_BYTES, RAW_TEXT_KEPT, SOURCES
from leadgate.ingest.sql_files import statements
from leadgate.policy.consent import consent_sql
from leadgate.shared.emails import email_ok_sql, email_sql
from leadgate.store.shared_rules import company_size_sql, domain_sql, size_candidate_sql

_ISO_ANY_OFFSET = (
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?: ?(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?)?"
)
# Real UTC offsets run from -14:00 to +14:00; DuckDB itself would take '+99:00' and shift the time by days.
_ISO = _ISO_ANY_OFFSET.replace(r"[+-]\d{2}(?::?\d{2})?", r"[+-](?:(?:0\d|1[0-3])(?::?[0-5]\d)?|14(?::?00)?)")
_SOURCES = ", ".join(f"'{s}'" for s in SOURCES)
_KNOWN_SOURCE = " or ".join(f"source = '{s}'" for s in SOURCES)  # an IN list would become a join


def _quoted(col: str) -> str:
    return f"'''' || case when length({col}) > 80 then left({col}, 77) || '...' else {col} end || ''''"


def _text(col: str) -> str:
    # trim() copies every string it touches: only values with a space at either end need it.
    return f"case when {col} = '' then null when prefix({col}, ' ') or suffix({col}, ' ') then nullif(trim({col}), '') else {col} end"


_RAW_COLUMNS = ",\n        ".join(f"{_text('s.' + name)} as {name}_raw" for name in FIELDS)
EVENT_COLUMNS = (
    "source, event_id, event_type, occurred_at, email, anonymous_id, first_name, last_name, job_title, "
    "phone, company, company_domain, industry, country, company_size, page_url, message, utm_source, "
    "utm_campaign, consent"
)


def content_hash(alias: str = "") -> str:
    """The hash of an event's normalised content, from its stored columns."""
    columns = ", ".join(f"{alias}{c.strip()}" for c in EVENT_COLUMNS.split(","))
    return f"hash({columns}, cast({alias}extra as varchar))"


TEMP_TABLES = ("_lines", "_specials", "_csv_lines", "_records", "_checked", "_json_reasons", "_dupes", "_texts")

# The statements are checks.sql's macros, rendered once with these constants and fragment builders.
_SQL = statements(
    "checks.sql",
    (
        "CHECKED",
        "INSERT_CLEAN",
        "CHECK_LEFTOVER",
        "INSERT_LEFTOVER",
        "ANY_EARLIER",
        "EARLIER",
        "NO_EARLIER",
        "DUPES",
        "INSERT_CONSENT_CONFLICTS",
        "DELETE_DUPES",
        "NEEDED_TEXTS",
        "NEEDED_REJECTS",
        "NEEDED_CONFLICTS",
        "INSERT_REJECTED",
        "INSERT_DUPLICATES",
        "INSERT_FIELD_ISSUES",
        "RECORD_INGESTED_FILE",
    ),
    _RAW_COLUMNS=_RAW_COLUMNS,
    _ISO=_ISO,
    _ISO_ANY_OFFSET=_ISO_ANY_OFFSET,
    email_sql=email_sql,
    email_ok_sql=email_ok_sql,
    _KNOWN_SOURCE=_KNOWN_SOURCE,
    _SOURCES=_SOURCES,
    _quoted=_quoted,
    EVENT_COLUMNS=EVENT_COLUMNS,
    content_hash=content_hash,
    MAX_RECORD_BYTES=MAX_RECORD_BYTES,
    RAW_TEXT_KEPT=RAW_TEXT_KEPT,
    consent_sql=consent_sql,
    domain_sql=domain_sql,
    size_candidate_sql=size_candidate_sql,
    company_size_sql=company_size_sql,
)
CHECKED = _SQL["CHECKED"]
INSERT_CLEAN = _SQL["INSERT_CLEAN"]
CHECK_LEFTOVER = _SQL["CHECK_LEFTOVER"]
INSERT_LEFTOVER = _SQL["INSERT_LEFTOVER"]
ANY_EARLIER = _SQL["ANY_EARLIER"]
EARLIER = _SQL["EARLIER"]
NO_EARLIER = _SQL["NO_EARLIER"]
DUPES = _SQL["DUPES"]
INSERT_CONSENT_CONFLICTS = _SQL["INSERT_CONSENT_CONFLICTS"]
DELETE_DUPES = _SQL["DELETE_DUPES"]
NEEDED_TEXTS = _SQL["NEEDED_TEXTS"]
NEEDED_REJECTS = _SQL["NEEDED_REJECTS"]
NEEDED_CONFLICTS = _SQL["NEEDED_CONFLICTS"]
INSERT_REJECTED = _SQL["INSERT_REJECTED"]
INSERT_DUPLICATES = _SQL["INSERT_DUPLICATES"]
INSERT_FIELD_ISSUES = _SQL["INSERT_FIELD_ISSUES"]
RECORD_INGESTED_FILE = _SQL["RECORD_INGESTED_FILE"]
