"""The one consent rule: the vocabulary of grants and refusals, and what an unknown consent means.

The vocabulary is `dbt_project/seeds/consent_vocabulary.csv`, read here (for ingest's checks) and by
dbt as a seed (for consent event types such as `unsubscribe`). A value is compared after lower-casing
it and removing spaces, and '-' or '_' between two letters or digits (`SEPARATORS`, `JOINERS`; dbt's
`consent_term` macro does the same), so
'Opt-In', ' opt in ' and 'OPT_IN' are one term. A value outside the vocabulary is a field issue and
the event's consent is unknown.

A lead's consent status ('granted' | 'withdrawn' | 'unknown') is its latest explicit signal by event
time, a refusal winning ties (dbt: int_leads_aggregated). Whether a status allows contact is decided
only by `allowed_statuses(policy)`: the mart's `has_consent` (passed to dbt as a var), routing, the
sync's eligibility and review approval all use it.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from typing import Any

from leadgate.config import DBT_PROJECT_DIR
from leadgate.policy import Policy

VOCABULARY_FILE = DBT_PROJECT_DIR / "seeds" / "consent_vocabulary.csv"
# In DuckDB's (RE2) syntax, as ingest's SQL and dbt's consent_term macro use them (a test keeps them equal):
# every space goes; '-' and '_' only join two letters or digits ('opt-in'), so '-1' is not '1'.
SEPARATORS = r"[\t\n\v\f\r \x{00a0}\x{2000}-\x{200a}\x{202f}\x{3000}]+"
JOINERS = r"([a-z0-9])[_-]+([a-z0-9])"
GRANTED, WITHDRAWN, UNKNOWN = "granted", "withdrawn", "unknown"
DBT_VAR = "consent_allowed_statuses"
_TERM = re.compile(r"[a-z0-9]+")
_JOINERS = re.compile(JOINERS)
_SEPARATORS = re.compile(re.sub(r"\\x\{([0-9a-f]{4})\}", r"\\u\1", SEPARATORS))  # the same class in Python's re


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, bool]:
    """Canonical term -> True (a grant) / False (a refusal), from the seed file."""
    terms: dict[str, bool] = {}
    with VOCABULARY_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            term, grants = row["term"], row["grants"].strip().lower()
            # Terms are spliced into ingest's SQL as literals: only plain [a-z0-9] words may exist.
            if not _TERM.fullmatch(term) or grants not in ("true", "false") or term in terms:
                raise ValueError(f"{VOCABULARY_FILE}: bad or repeated consent term {term!r}")
            terms[term] = grants == "true"
    return terms


def grants() -> tuple[str, ...]:
    return tuple(t for t, g in vocabulary().items() if g)


def refusals() -> tuple[str, ...]:
    return tuple(t for t, g in vocabulary().items() if not g)


def canonical(value: str) -> str:
    """Lower case, spaces removed, '-' and '_' between letters or digits removed: how a value is looked up."""
    return _JOINERS.sub(r"\1\2", _SEPARATORS.sub("", value.lower()))


def parse_consent(value: Any) -> bool | None:
    """True (grant), False (refusal) or None (absent or outside the vocabulary) for a text, number or bool."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return vocabulary().get(canonical(str(value)))


def consent_sql(column: str) -> str:
    """SQL (DuckDB) for `parse_consent` of a text column: true, false or null."""
    # Terms are [a-z0-9]+ (checked when read), so quoting them as literals is safe. A MAP lookup, and the
    # regexes only for values not already spelled canonically (coalesce is lazy): as cheap as the old check.
    terms = "MAP {" + ", ".join(f"'{t}': {str(g).lower()}" for t, g in vocabulary().items()) + "}"
    term = f"regexp_replace(regexp_replace(lower({column}), '{SEPARATORS}', '', 'g'), '{JOINERS}', '\\1\\2', 'g')"
    return f"coalesce({terms}[lower({column})], {terms}[{term}])"


def described() -> str:
    """The vocabulary in words, for field issues and errors."""
    return "grants: " + ", ".join(grants()) + "; refusals: " + ", ".join(refusals())


def allowed_statuses(policy: Policy) -> tuple[str, ...]:
    """The consent statuses that allow contact (and an MQL): 'granted', and 'unknown' when the policy allows it."""
    return (GRANTED, UNKNOWN) if policy.consent.unknown == "allow" else (GRANTED,)


def lead_status(consent_status: Any, has_consent: Any = None) -> str:
    """A lead's status from the mart's columns; without a status, from the has_consent flag (null: unknown)."""
    # A flag set to false wins over 'granted' (when in doubt, do not contact); for 'unknown' the flag is
    # ignored: the mart computed it under the policy of its build, the current policy decides.
    if isinstance(consent_status, str) and consent_status.strip():
        status = consent_status.strip().lower()
        return WITHDRAWN if status == GRANTED and has_consent is False else status
    if has_consent is True:
        return GRANTED
    return WITHDRAWN if has_consent is False else UNKNOWN


def allows_contact(consent_status: Any, policy: Policy, has_consent: Any = None) -> bool:
    """Whether this lead may be contacted (qualified, synced, approved) under the policy."""
    return lead_status(consent_status, has_consent) in allowed_statuses(policy)


def status_sql(status_column: str, flag_column: str) -> str:
    """SQL for `lead_status` over the mart's columns."""
    status = f"nullif(lower(trim({status_column})), '')"
    return (
        f"coalesce(case when {status} = '{GRANTED}' and {flag_column} = false then '{WITHDRAWN}' else {status} end,"
        f" case when {flag_column} then '{GRANTED}' when not {flag_column} then '{WITHDRAWN}' end, '{UNKNOWN}')"
    )


def dbt_vars(policy: Policy) -> dict[str, list[str]]:
    """The vars the dbt build gets, so the mart's has_consent follows the same rule."""
    return {DBT_VAR: list(allowed_statuses(policy))}


def refusal_reason(consent_status: Any, has_consent: Any = None) -> str:
    """Why contact is not allowed, in words."""
    if lead_status(consent_status, has_consent) == UNKNOWN:
        return "no consent to contact (consent unknown, and the policy's consent.unknown is deny)"
    return "no consent to contact (the person withdrew consent or unsubscribed)"
