"""The erasure list: people `leadgate forget` erased, as salted hashes, consulted by every writer.

A forgotten person must never come back, whatever a writer was doing when `forget` committed: a run
that read the person before the erasure and writes scores, states or review items after it, a live
sync whose answer arrives later, a file that carries their events again. So the shared write helpers
(ingest, scores, lifecycle states, review items, sync results and attempts, the outbox) and dbt's
staging model drop rows of anyone on this list. It holds no personal data: the email (as ingest
stores it, normalised) and the anonymous ids as sha256(installation salt || ':' || value), and the
lead id, itself a salted hash of the email that audit rows keep anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote

import duckdb
import pandas as pd

from leadgate.shared import emails
from leadgate.store.erasure_journal import open_journal
from leadgate.store.shared_rules import erasure_key_sql
from leadgate.store.sql import relation_exists

EMAIL, ANONYMOUS_ID, LEAD_ID = "email", "anonymous_id", "lead_id"


def installation_salt(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select lead_id_salt from meta.installation limit 1").fetchall()[0][0]


def subject_hash(salt: str, value: str) -> str:
    """The key of an email or anonymous id on the list (SQL: shared_rules.erasure_key_sql, the same sha256)."""
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def record_erasure(
    con: duckdb.DuckDBPyConnection,
    erasure_id: str,
    *,
    email: str,
    anonymous_ids: Iterable[str],
    lead_id: str,
    now: object,
) -> None:
    """Put the person on the list (inside forget's transaction); a key already there stays as it was."""
    salt = installation_salt(con)
    keys = [(EMAIL, subject_hash(salt, email)), (LEAD_ID, lead_id)]
    keys += [(ANONYMOUS_ID, subject_hash(salt, a)) for a in sorted(set(anonymous_ids)) if a]
    for kind, key in keys:
        con.execute(
            "insert into meta.erasure_list (kind, key, erasure_id, erased_at) values (?, ?, ?, ?)"
            " on conflict (kind, key) do nothing",
            [kind, key, erasure_id, now],
        )


def _has_list(con: duckdb.DuckDBPyConnection) -> bool:
    return relation_exists(con, "meta", "erasure_list")


def is_erased(con: duckdb.DuckDBPyConnection, email: str) -> bool:
    """Whether this (normalised) email is on the list."""
    key = subject_hash(installation_salt(con), email)
    return bool(
        con.execute("select count(*) from meta.erasure_list where kind = ? and key = ?", [EMAIL, key]).fetchall()[0][0]
    )


def erased_lead_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every erased lead id (the list is small: one row per forgotten person)."""
    if not _has_list(con):
        return set()
    con.complete()
    return {r[0] for r in con.execute("select key from meta.erasure_list where kind = ?", [LEAD_ID]).fetchall()}


def drop_erased(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, column: str = "lead_id") -> pd.DataFrame:
    """`frame` without the rows of erased leads (the same frame when nobody on it was erased)."""
    erased = erased_lead_ids(con)
    if not erased or frame.empty or column not in frame.columns:
        return frame
    keep = ~frame[column].isin(erased)
    return frame if keep.all() else frame[keep]


def erased_events_condition(alias: str = "") -> str:
    """A SQL condition true for an event of an erased person (by email; by anonymous id when it has no email)."""
    salt = "(select lead_id_salt from meta.installation limit 1)"
    return (
        f"({erasure_key_sql(salt, alias + 'email')} in (select key from meta.erasure_list where kind = 'email')"
        f" or ({alias}email is null and {erasure_key_sql(salt, alias + 'anonymous_id')} in"
        f" (select key from meta.erasure_list where kind = 'anonymous_id')))"
    )


# --- finding a person in free text (rejected lines, kept raw texts, CRM answers) -----------------

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\([\"\\/bfnrt])")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# An address as it may sit in any text: the local part up to a separator, the domain up to a character
# no domain has (so `?x=alice@acme.com&y` and `<alice@acme.com>` both give alice@acme.com).
_EMAIL_TOKEN = re.compile(r"[^\s\"'<>,;:()\[\]{}\\|=@/]+@[^\s\"'<>,;:()\[\]{}\\|=@/?#&%+!*$^`~]+")
_ANON_FIELD = re.compile(r'"anonymous_id"\s*:\s*"([^"]*)"')


def _unescape_once(text: str) -> str:
    def one(m: re.Match) -> str:
        if m.group(1):
            return chr(int(m.group(1), 16))
        return _SIMPLE.get(m.group(2), m.group(2))

    out = _JSON_ESCAPE.sub(one, text)
    # \ud83d\ude00-style pairs became two surrogates: join them; a lone surrogate stays as it is
    return (
        out.encode("utf-16", "surrogatepass").decode("utf-16", "replace") if re.search(r"[\ud800-\udfff]", out) else out
    )


def text_variants(text: str) -> list[str]:
    """The text as written and as a reader would see it: JSON escapes undone (repeatedly), %-decoded, NFKC."""
    seen = [text]
    current = text
    for _ in range(3):  # a line escaped twice (\\u0040) is still the person's line
        nxt = _unescape_once(current)
        if nxt == current:
            break
        seen.append(nxt)
        current = nxt
    for variant in list(seen):
        for extra in (unquote(variant), unicodedata.normalize("NFKC", variant)):
            if extra not in seen:
                seen.append(extra)
    return seen


def _normalised(candidate: str) -> str | None:
    """The address a token in free text names, by the one email rule (None when it names none)."""
    return emails.normalise_email(candidate.strip(".").removeprefix("mailto:").strip())


def _anon_pattern(anonymous_ids: Iterable[str]) -> re.Pattern | None:
    ids = sorted({a for a in anonymous_ids if a}, key=len, reverse=True)
    if not ids:
        return None
    return re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(a) for a in ids) + r")(?![\w.-])")


class PersonMatcher:
    """Does a text name this person: their email in any case or escaping, or one of their anonymous ids?"""

    def __init__(self, email: str, anonymous_ids: Iterable[str] = ()) -> None:
        self.email = email
        self.anonymous_ids = {a for a in anonymous_ids if a}
        self._anon = _anon_pattern(self.anonymous_ids)

    def names_email(self, text: str | None) -> bool:
        if not text:
            return False
        for variant in text_variants(text):
            # Whole addresses only: `malice@acme.com` is someone else, not a variant of alice@acme.com.
            if any(_normalised(token) == self.email for token in _EMAIL_TOKEN.findall(variant)):
                return True
        return False

    def names_person(self, text: str | None) -> bool:
        """The email, or one of the visitor ids in a record that names nobody else (like events)."""
        if self.names_email(text):
            return True
        if not (text and self._anon):
            return False
        variants = text_variants(text)
        if not any(self._anon.search(v) for v in variants):
            return False
        others = {_normalised(t) for v in variants for t in _EMAIL_TOKEN.findall(v)} - {None, self.email}
        return not others

    def anonymous_ids_in(self, text: str | None) -> set[str]:
        """anonymous_id values of a JSON-looking record (broken JSON too)."""
        found: set[str] = set()
        for variant in text_variants(text or ""):
            for raw in _ANON_FIELD.findall(variant):
                try:
                    value = json.loads(f'"{raw}"').strip()
                except ValueError:
                    value = raw.strip()
                if value:
                    found.add(value)
        return found


class ListMatcher:
    """Does a text name anyone on the list (an email token or an anonymous id whose hash is listed)?"""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.salt = installation_salt(con)
        rows = con.execute(
            "select kind, key from meta.erasure_list where kind in (?, ?)", [EMAIL, ANONYMOUS_ID]
        ).fetchall()
        self.emails = {k for kind, k in rows if kind == EMAIL}
        self.anonymous = {k for kind, k in rows if kind == ANONYMOUS_ID}

    def __bool__(self) -> bool:
        return bool(self.emails or self.anonymous)

    def names_someone(self, text: str | None) -> bool:
        if not text or not self:
            return False
        for variant in text_variants(text):
            for token in _EMAIL_TOKEN.findall(variant):
                email = _normalised(token)
                if email and subject_hash(self.salt, email) in self.emails:
                    return True
            if self.anonymous and any(
                subject_hash(self.salt, t) in self.anonymous for t in re.split(r"[\s,;\"'{}\[\]:]+", variant) if t
            ):
                return True
        return False


def suppress_erased_load(con: duckdb.DuckDBPyConnection, load_id: str, source_file: str, now: object) -> int:
    """Inside ingest's transaction: take a forgotten person's records of this file out again, counted as erased.

    Their events by email or listed visitor id, the anonymous events (of any file) of a visitor id one of
    those events links (that id joins the list), and kept lines naming them. Returns how many records were
    taken out; raw.erasures says per file how many, so conservation still adds up.
    """
    if not _has_list(con):
        return 0
    matcher = ListMatcher(con)
    if not matcher:
        return 0
    params = [load_id, source_file]
    con.execute(
        "create or replace temp table _suppressed as select source, event_id, anonymous_id, email, load_id, source_file"
        f" from raw.engagement_events where load_id = ? and source_file = ? and {erased_events_condition()}",
        params,
    )
    linked = [
        r[0]
        for r in con.execute(
            "select distinct anonymous_id from _suppressed where email is not null and anonymous_id is not null"
        ).fetchall()
    ]
    linked = [a for a in linked if subject_hash(matcher.salt, a) not in matcher.anonymous]
    if linked:
        con.execute(
            "insert into _suppressed select source, event_id, anonymous_id, email, load_id, source_file"
            " from raw.engagement_events e where email is null and anonymous_id in (select unnest(?::varchar[]))"
            " and not exists (select 1 from _suppressed s where s.source = e.source and s.event_id = e.event_id)",
            [linked],
        )
    texts = {}
    for table in ("rejected_events", "duplicate_events"):
        rows = con.execute(
            f"select rowid, raw_text from raw.{table} where load_id = ? and source_file = ? and raw_text is not null",
            params,
        ).fetchall()  # table names from a fixed list
        texts[table] = [rid for rid, text in rows if matcher.names_someone(text)]
    issues = con.execute(
        "select rowid, raw_value from raw.field_issues where load_id = ? and source_file = ?", params
    ).fetchall()
    issue_ids = [rid for rid, text in issues if matcher.names_someone(text)]
    by_event = "(source, event_id) in (select (source, event_id) from _suppressed)"
    con.execute(f"delete from raw.field_issues where rowid in (select unnest(?::bigint[])) or {by_event}", [issue_ids])
    con.execute(
        "create or replace temp table _suppressed_dups as select rowid as rid, load_id, source_file"
        f" from raw.duplicate_events where rowid in (select unnest(?::bigint[])) or {by_event}",
        [texts["duplicate_events"]],
    )
    counts = con.execute(
        """
        select load_id, source_file, sum(a)::bigint, sum(r)::bigint, sum(d)::bigint from (
            select load_id, source_file, 1 as a, 0 as r, 0 as d from _suppressed
            union all select load_id, source_file, 0, 0, 1 from _suppressed_dups
            union all select ?, ?, 0, 1, 0 from range(?)
        ) group by all
        """,
        [load_id, source_file, len(texts["rejected_events"])],
    ).fetchall()
    con.execute(f"delete from raw.engagement_events where {by_event}")
    con.execute(
        "delete from raw.rejected_events where rowid in (select unnest(?::bigint[]))", [texts["rejected_events"]]
    )
    con.execute("delete from raw.duplicate_events where rowid in (select rid from _suppressed_dups)")
    con.execute("drop table if exists _suppressed")
    con.execute("drop table if exists _suppressed_dups")
    if not counts:
        return 0
    for row in counts:
        con.execute(
            "insert into raw.erasures (load_id, source_file, accepted, rejected, duplicates, erased_at)"
            " values (?, ?, ?, ?, ?, ?)",
            [*row, now],
        )
    # A large file's rows may have reached disk before they were taken out again: rewrite the file.
    erasure_id = open_journal(con, None, now)
    for visitor in linked:
        con.execute(
            "insert into meta.erasure_list (kind, key, erasure_id, erased_at) values (?, ?, ?, ?)"
            " on conflict (kind, key) do nothing",
            [ANONYMOUS_ID, subject_hash(matcher.salt, visitor), erasure_id, now],
        )
    return sum(a + r + d for _, _, a, r, d in counts)
