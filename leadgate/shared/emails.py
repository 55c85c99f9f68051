"""The one email rule: how an address is normalised before it identifies a person (ingest, dbt, forget, CRM).

- The domain is compared as the mail system resolves it: an ASCII domain is lower-cased; an
  internationalised one (non-ASCII, or with an `xn--` label) goes through IDNA's UTS46 mapping and is
  kept as its ASCII (punycode) A-label, so 'bücher.de', 'BÜCHER.de' and 'xn--bcher-kva.de' are one domain.
- The local part: composed to NFC (canonically equivalent spellings such as 'A' + U+030A and 'Å' are
  one address, as RFC 6532 asks), then only the ASCII letters A-Z are lower-cased. No character is
  ever mapped onto ASCII (no case folding; NFC is skipped when it would turn one into ASCII: the
  Kelvin sign U+212A stays U+212A, so 'KELVIN@x.com' written with it is another address, not 'kelvin@x.com').
  Control, format (zero-width, bidi) and space characters make an address invalid.
- Exactly one '@'; the local part uses RFC 5322 atext, dots and non-ASCII characters; the domain is
  dot-separated LDH labels ending in a letter-led TLD.

`normalise_email` is the definition. Ingest runs it in SQL (`email_sql`, `email_ok_sql`): ASCII addresses
without `xn--` by the equivalent SQL (lower-casing ASCII is all it does to them), others through the Python
function registered as `EMAIL_SQL_FUNCTION`. dbt keeps ingest's value (its `normalise_email` macro only trims
and lower-cases A-Z, which changes nothing ingest wrote).
"""

from __future__ import annotations

import re
import unicodedata

import duckdb
import idna

ASCII_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+"
DOMAIN = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z][a-z0-9-]*[a-z0-9]"
EMAIL = ASCII_LOCAL + "@" + DOMAIN  # an ASCII address, once lower-cased
EMAIL_SQL_FUNCTION = "leadgate_normalise_email"
# An address the SQL fast path cannot normalise alone (DuckDB's lower() is Unicode-aware: never on these).
# '--' (cheaper than a case-insensitive 'xn--'): a few plain addresses take the function, with the same result.
EMAIL_NOT_FAST_SQL = "(strlen({col}) <> length({col}) or contains({col}, '--'))"
_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TO_LOWER = str.maketrans(_ASCII_UPPER, _ASCII_UPPER.lower())
_LOCAL_ASCII = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")
_DOMAIN = re.compile(DOMAIN)
_BAD_CATEGORIES = ("C", "Z")  # controls, format, unassigned, private use; every space


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only; every other character unchanged."""
    return text.translate(_TO_LOWER)


def normalise_email(value: str | None) -> str | None:
    """The normalised address, or None when it is not a valid email address."""
    if value is None:
        return None
    text = value.strip(" ")  # as ingest trims text fields
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if not local or not all(_LOCAL_ASCII.fullmatch(ch) or _allowed_non_ascii(ch) for ch in local):
        return None
    if domain.isascii() and "xn--" not in domain.lower():
        domain = ascii_lower(domain)
    else:
        try:
            domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    if not _DOMAIN.fullmatch(domain):
        return None
    return ascii_lower(_composed(local)) + "@" + domain


def email_sql(column: str) -> str:
    """SQL (DuckDB): `normalise_email` of the column, for a value that `email_ok_sql` accepts."""
    return f"case when {_not_fast(column)} then {EMAIL_SQL_FUNCTION}({column}) else lower({column}) end"


def email_ok_sql(column: str) -> str:
    """SQL (DuckDB): whether `normalise_email` accepts the column (the EMAIL pattern on the fast path)."""
    literal = EMAIL.replace("'", "''")
    return (
        f"case when {_not_fast(column)} then {EMAIL_SQL_FUNCTION}({column}) is not null"
        f" else regexp_full_match(lower({column}), '{literal}') end"
    )


def ascii_lower_sql(expr: str) -> str:
    """SQL (DuckDB) lower-casing A-Z only: never lower(), which maps the Kelvin sign U+212A to 'k'."""
    return f"translate({expr}, '{_ASCII_UPPER}', '{_ASCII_UPPER.lower()}')"


def email_key(value: object) -> str:
    """The key two addresses from elsewhere (a CRM) are matched by: normalised, else trimmed with A-Z lower-cased."""
    text = "" if value is None else str(value)
    return normalise_email(text) or ascii_lower(text.strip())


def register_sql_function(con: duckdb.DuckDBPyConnection) -> None:
    """Make `normalise_email` callable from SQL on this connection (ingest's checks use it)."""
    try:
        con.create_function(
            EMAIL_SQL_FUNCTION, normalise_email, ["VARCHAR"], "VARCHAR", null_handling="special", side_effects=False
        )  # special: it returns NULL for an invalid address
    except duckdb.NotImplementedException:  # already registered on this connection
        pass


def _not_fast(column: str) -> str:
    return EMAIL_NOT_FAST_SQL.replace("{col}", column)


def _composed(local: str) -> str:
    """The local part in NFC ('A' + U+030A is 'Å'), unless that would turn a character into ASCII (U+212A -> 'K')."""
    if local.isascii():
        return local
    if any(not ch.isascii() and any(c.isascii() for c in unicodedata.normalize("NFC", ch)) for ch in local):
        return local  # a confusable stays exactly as typed: another address
    return unicodedata.normalize("NFC", local)


def _allowed_non_ascii(ch: str) -> bool:
    return not ch.isascii() and not unicodedata.category(ch).startswith(_BAD_CATEGORIES)
