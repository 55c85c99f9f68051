"""Reviewer accounts of the browser queue: names with argon2 password hashes in the staging database."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from leadgate.config import LeadgateSettings
from leadgate.store import db, read_copy
from leadgate.store.states import utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is a denial of service
MAX_NAME = 64
_HASHER = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile


class ReviewerError(ValueError):
    """A reviewer command cannot be done as asked; the message says why in one line."""


@dataclass(frozen=True)
class Reviewer:
    reviewer_id: int
    name: str
    created_at: datetime | None = None


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so "no such reviewer" costs as long as a wrong password."""
    return _HASHER.hash("leadgate-no-such-reviewer")


def check_name(name: str | None) -> str:
    """A reviewer name as stored: trimmed, NFC, printable, no spaces inside, at most 64 characters."""
    value = unicodedata.normalize("NFC", (name or "").strip())
    if not value:
        raise ReviewerError("a reviewer name is required")
    if len(value) > MAX_NAME:
        raise ReviewerError(f"a reviewer name has at most {MAX_NAME} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ReviewerError("a reviewer name cannot contain spaces or control characters")
    return value


def check_password(password: str | None) -> str:
    value = password or ""
    if len(value) < MIN_PASSWORD:
        raise ReviewerError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise ReviewerError(f"the password has at most {MAX_PASSWORD} characters")
    return value


def _published(settings: LeadgateSettings) -> None:
    """A server reading the copy while a run holds the file must see the change too."""
    read_copy.publish_after_decision(settings)


def add_reviewer(settings: LeadgateSettings, name: str, password: str) -> Reviewer:
    """Create a reviewer; only the argon2 hash of the password is stored."""
    name, password = check_name(name), check_password(password)
    hashed = _HASHER.hash(password)
    with db.connect(settings) as con:
        if con.execute("select 1 from review.reviewers where name = ?", [name]).fetchall():
            raise ReviewerError(f"reviewer {name} already exists (`leadgate reviewers remove {name}` first)")
        row = con.execute(
            "insert into review.reviewers (name, password_hash, created_at) values (?, ?, ?)"
            " returning reviewer_id, name, created_at",
            [name, hashed, utcnow()],
        ).fetchone()
        read_copy.mark_pending(settings)
    _published(settings)
    return Reviewer(*row)


def remove_reviewer(settings: LeadgateSettings, name: str) -> None:
    """Delete a reviewer: its sessions stop working at their next request; its decisions stay attributed."""
    name = check_name(name)
    with db.connect(settings) as con:
        gone = con.execute("delete from review.reviewers where name = ? returning reviewer_id", [name]).fetchall()
        if not gone:
            raise ReviewerError(f"no reviewer named {name} (`leadgate reviewers list` shows them)")
        read_copy.mark_pending(settings)
    _published(settings)


def list_reviewers(settings: LeadgateSettings) -> list[Reviewer]:
    with db.connect(settings) as con:  # a writer: creates the table on a database that predates it
        rows = con.execute("select reviewer_id, name, created_at from review.reviewers order by name").fetchall()
    return [Reviewer(*row) for row in rows]


def has_reviewers_table(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a database that predates migration 0015 (no writer has opened it since)."""
    return bool(
        con.execute(
            "select 1 from information_schema.tables where table_schema = 'review' and table_name = 'reviewers'"
        ).fetchall()
    )


def verify(con: duckdb.DuckDBPyConnection, name: str, password: str) -> Reviewer | None:
    """The reviewer when name and password match, else None (same work either way)."""
    try:
        name = check_name(name)
    except ReviewerError:
        name = ""
    row = (
        con.execute(
            "select reviewer_id, name, created_at, password_hash from review.reviewers where name = ?", [name]
        ).fetchall()
        if name and has_reviewers_table(con)
        else []
    )
    hashed = row[0][3] if row else _dummy_hash()
    try:
        _HASHER.verify(hashed, (password or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    return Reviewer(*row[0][:3]) if row else None


def by_id(con: duckdb.DuckDBPyConnection, reviewer_id: int) -> Reviewer | None:
    """The reviewer a session names, if it still exists."""
    try:
        row = con.execute(
            "select reviewer_id, name, created_at from review.reviewers where reviewer_id = ?", [int(reviewer_id)]
        ).fetchall()
    except duckdb.CatalogException:  # a database from before migration 0015
        return None
    return Reviewer(*row[0]) if row else None
