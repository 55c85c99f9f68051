"""The email rule: ASCII-only case folding, IDNA domains, the same in ingest's SQL and in the CRM look-ups."""

from __future__ import annotations

import duckdb
import pytest

from connectors.crm.hubspot import records as hubspot
from connectors.crm.salesforce import records as salesforce
from leadgate.shared.emails import email_key, email_ok_sql, email_sql, normalise_email, register_sql_function
from leadgate.store import forget

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
    with duckdb.connect() as con:
        register_sql_function(con)
        register_sql_function(con)  # idempotent per connection
        rows = con.execute(
            f"select case when {email_ok_sql('v')} then {email_sql('v')} end"
            " from unnest(?) with ordinality t(v, i) order by i",
            [values],
        ).fetchall()
    assert [r[0] for r in rows] == [normalise_email(v) for v in values]


# Where a second email check would drift from ingest's first: shapes at the edge of valid, look-alikes, IDN.
TRICKY = [
    "Ada@Example.COM",
    "bob.smith+tag@sub.example.co.uk",
    "o'brien@example.ie",
    ".a..b.@example.com",  # dots anywhere in the local part: the rule allows them
    '"quoted"@example.com',
    "x@y",
    "a@example",
    "@example.com",
    "a@",
    "a@@example.com",
    "a b@example.com",
    "a\u200b@example.com",
    "a\u202e@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example.com.",
    "a@" + "l" * 64 + ".com",  # a label longer than DNS allows
    "A@B.C0M",
    "Ann--Lee@Ex--Ample.com",
    "a@xn--zz.com",
    f"{KELVIN}ELVIN@ACME-LABS.COM",
    "KELVIN@ACME-LABS.COM",
    "anna@Bücher.DE",
    "anna@XN--BCHER-KVA.de",
    "a@ｅxample．com",
    "A\u030aSA@Firma.SE",
    "ｊｏｅ@example.com",
]


def _forget_takes(address: str) -> str | None:
    try:
        return forget.normalise_email(address)
    except forget.ForgetError:
        return None


def test_forget_takes_exactly_the_addresses_ingest_takes_and_finds_the_same_person():
    with duckdb.connect() as con:
        register_sql_function(con)
        rows = con.execute(
            f"select case when {email_ok_sql('v')} then {email_sql('v')} end"
            " from unnest(?::varchar[]) with ordinality t(v, i) order by i",
            [TRICKY],
        ).fetchall()
    ingested = [r[0] for r in rows]
    assert [_forget_takes(v) for v in TRICKY] == ingested
    assert [normalise_email(v) for v in TRICKY] == ingested  # a lead list's check (and its lead id) too
    assert ingested[:2] == ["ada@example.com", "bob.smith+tag@sub.example.co.uk"] and None in ingested
    assert ingested[TRICKY.index(f"{KELVIN}ELVIN@ACME-LABS.COM")] != ingested[TRICKY.index("KELVIN@ACME-LABS.COM")]


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
