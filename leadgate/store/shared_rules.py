"""The SQL rules leadgate shares with dbt (domain, company size, lead id, erasure key), from dbt's own macro file.

`dbt_project/macros/shared_rules.sql` is the one definition: dbt's staging models call its macros, and
ingest's checks and `forget` use the same macros rendered here, so neither side has a copy to drift.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from leadgate.config import DBT_PROJECT_DIR

RULES_FILE = DBT_PROJECT_DIR / "macros" / "shared_rules.sql"


@lru_cache(maxsize=1)
def _macros() -> Any:
    text = RULES_FILE.read_text(encoding="utf-8")
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(text).module


def rule_sql(name: str, *args: str) -> str:
    """The SQL expression of macro `name` applied to these SQL expressions (column names, `?`)."""
    return str(getattr(_macros(), name)(*args)).strip()


def domain_sql(column: str) -> str:
    """A domain as people type it, normalised; null when it is not a domain name."""
    return rule_sql("normalise_domain", column)


def size_candidate_sql(column: str) -> str:
    """Step 1 of the company-size rule: dashes unified, spaces removed (a column of its own: step 2 reads it often)."""
    return rule_sql("company_size_candidate", column)


def company_size_sql(candidate: str) -> str:
    """Step 2, on step 1's column: '250', '10000+' or '51-200'; null when it is none of these."""
    return rule_sql("company_size", candidate)


def lead_id_sql(salt: str, email: str) -> str:
    """The lead id of a normalised email under an installation salt."""
    return rule_sql("lead_id", salt, email)


def erasure_key_sql(salt: str, value: str) -> str:
    """The erasure list's key of an email or anonymous id (erasure_list.subject_hash computes it in Python)."""
    return rule_sql("erasure_key", salt, value)
