"""Red-team variants of the email rule (issue 8 item 9): canonically equivalent spellings are one address,
and no character is ever mapped onto ASCII, by the Python rule and by ingest's SQL alike."""

from __future__ import annotations

import duckdb
import pytest

from leadgate.shared.emails import EMAIL_NOT_FAST_SQL, email_key, normalise_email, register_sql_function


@pytest.mark.parametrize(
    "decomposed, composed",
    [
        ("A\u030asa@firma.se", "\u00c5sa@firma.se"),  # A + combining ring = Å
        ("Jose\u0301@empresa.es", "Jos\u00e9@empresa.es"),
        ("\u1100\u1161@x.kr", "\uac00@x.kr"),  # Hangul jamo = the syllable
    ],
)
def test_canonically_equivalent_spellings_are_one_address(decomposed, composed):
    assert normalise_email(decomposed) == normalise_email(composed) is not None
    assert email_key(decomposed.upper()) == email_key(composed.upper())  # the CRM look-up agrees


@pytest.mark.parametrize(
    "look_alike, real",
    [
        ("\u212aelvin@acme-labs.com", "kelvin@acme-labs.com"),  # Kelvin sign: NFC would make it 'K'
        ("x\u037e@acme-labs.com", "x;@acme-labs.com"),  # Greek question mark: NFC would make it ';'
        ("\u0131van@acme-labs.com", "ivan@acme-labs.com"),  # dotless i
        ("\u017fam@acme-labs.com", "sam@acme-labs.com"),  # long s
        ("\ufb01ona@acme-labs.com", "fiona@acme-labs.com"),  # the fi ligature
        ("\uff42ob@acme-labs.com", "bob@acme-labs.com"),  # full-width b
        ("b\u043eb@acme-labs.com", "bob@acme-labs.com"),  # Cyrillic o
    ],
)
def test_a_look_alike_never_becomes_the_real_address(look_alike, real):
    assert normalise_email(look_alike) not in (None, normalise_email(real))
    assert normalise_email(look_alike).isascii() is False


def test_ingest_sql_gives_the_python_result_for_these_spellings():
    values = ["A\u030aSA@Firma.SE", "\u00c5SA@firma.se", "\u212aELVIN@X.com", "x\u037e@x.com", "Jose\u0301@X.ES"]
    con = duckdb.connect()
    register_sql_function(con)
    slow = EMAIL_NOT_FAST_SQL.replace("{col}", "v")
    rows = con.execute(
        f"select case when {slow} then leadgate_normalise_email(v) else lower(v) end from unnest(?::varchar[]) t(v)",
        [values],
    ).fetchall()
    assert [r[0] for r in rows] == [normalise_email(v) for v in values]
    assert rows[0][0] == rows[1][0] == "\u00c5sa@firma.se"
