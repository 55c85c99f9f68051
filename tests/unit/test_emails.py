"""The email rule: ASCII-only case folding, IDNA domains, the same in ingest's SQL and in the CRM look-ups."""

from __future__ import annotations

import duckdb
import pytest

from connectors.crm.hubspot import records as hubspot
from connectors.crm.salesforce import records as salesforce
from leadgate.ingest.sql_check import _EMAIL
from leadgate.shared.emails import EMAIL_NOT_FAST_SQL, email_key, normalise_email, register_sql_function

KELVIN = "\u212a"  # KELVIN SIGN: str.lower() and DuckDB's lower() make it 'k'


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Ada@Example.COM", "ada@example.com"),
        (" ada@example.com ", "ada@example.com"),
        (f"{KELVIN}elvin@example.com", f"{KELVIN}elvin@example.com"),  # never mapped onto ASCII
        (f"{KELVIN}ELVIN@EXAMPLE.COM", f"{KELVIN}elvin@example.com"),  # only A-Z lower-cased
        ("JOSÉ@example.com", "josÉ@example.com"),  # non-ASCII kept as typed
        ("ｊｏｅ@example.com", "ｊｏｅ@example.com"),  # full-width letters stay distinct
        ("anna@Bücher.DE", "anna@xn--bcher-kva.de"),  # IDNA (UTS46) -> A-label
        ("anna@XN--BCHER-KVA.de", "anna@xn--bcher-kva.de"),
        (f"a@{KELVIN}elvin.com", "a@kelvin.com"),  # a domain resolves as DNS maps it
        ("a@ｅxample．com", "a@example.com"),
        ("a\u200b@example.com", None),  # zero-width space: invisible, refused
        ("a\u202e@example.com", None),  # bidi override
        ("a b@example.com", None),
        ("a@@example.com", None),
        ("a@xn--zz.com", None),  # not a valid A-label
        ("a@example", None),
        ("@example.com", None),
    ],
)
def test_normalise_email(raw, expected):
    assert normalise_email(raw) == expected


def test_ingest_sql_gives_the_python_rule_for_ascii_and_non_ascii_addresses():
    values = [
        "Ada@Example.COM",
        "bob.smith+tag@sub.example.co.uk",
        "x@y",
        f"{KELVIN}elvin@example.com",
        "anna@Bücher.DE",
        "anna@XN--BCHER-KVA.de",
        "a\u200b@example.com",
        "a@xn--zz.com",
        "A@B.C0M",
        "Ann--Lee@Ex--Ample.com",
        "x@ab--cd.example",
    ]
    slow = EMAIL_NOT_FAST_SQL.replace("{col}", "v")
    with duckdb.connect() as con:
        register_sql_function(con)
        register_sql_function(con)  # idempotent per connection
        rows = con.execute(
            f"select case when {slow} then leadgate_normalise_email(v)"
            f" when regexp_full_match(lower(v), '{_EMAIL}') then lower(v) end"
            " from unnest(?) with ordinality t(v, i) order by i",
            [values],
        ).fetchall()
    assert [r[0] for r in rows] == [normalise_email(v) for v in values]


def test_crm_keys_never_fold_a_look_alike_onto_the_real_address():
    assert email_key(f"{KELVIN}elvin@Acme.com") != email_key("kelvin@acme.com")
    assert email_key(" Kelvin@ACME.com ") == "kelvin@acme.com"
    assert email_key("not an email") == "not an email"


def test_salesforce_look_up_does_not_adopt_the_real_persons_lead_for_a_look_alike():
    # Salesforce compares emails case-insensitively: a query for the look-alike may return the real Lead.
    found = salesforce.index_by_email([{"Id": "00Q1", "Email": "Kelvin@Acme.com", "IsConverted": False}])
    look_alike = salesforce.plan_lead(
        "ld_fake",
        f"{KELVIN}elvin@acme.com",
        True,
        ext_field="Leadgate_Id__c",
        leads_by_email=found,
        contact_emails={"kelvin@acme.com"},
    )
    assert (look_alike.action, look_alike.record_id) == ("create", None)
    real = salesforce.plan_lead(
        "ld_real", "kelvin@acme.com", True, ext_field="Leadgate_Id__c", leads_by_email=found, contact_emails=set()
    )
    assert (real.action, real.record_id) == ("adopt", "00Q1")


def test_hubspot_results_are_matched_by_the_same_key():
    results = hubspot.results_by_email([{"id": "1", "properties": {"email": "KELVIN@acme.com"}}])
    assert set(results) == {"kelvin@acme.com"} and email_key(f"{KELVIN}elvin@acme.com") not in results
