"""`leadgate forget`: erase one person everywhere in one transaction (audit rows stay), then finish resumably."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from leadgate.config import LeadgateSettings
from leadgate.shared import emails
from leadgate.store import db
from leadgate.store.duckdb_file import open_file
from leadgate.store.erasure_journal import ErasureUnfinished, drop_read_copy, erasure_lock, finish_locked, open_journal
from leadgate.store.erasure_list import PersonMatcher, is_erased, record_erasure
from leadgate.store.shared_rules import lead_id_sql
from leadgate.store.sql import registered, relation_exists, transaction
from leadgate.store.states import utcnow

# App-owned schemas are erased table by table below; every other schema holds dbt models.
APP_SCHEMAS = (
    "raw",
    "scoring",
    "review",
    "sync",
    "audit",
    "quality",
    "lifecycle",
    "meta",
    "information_schema",
    "pg_catalog",
)
# App schemas erased by lead id / email column; raw is erased by event above, audit and meta keep no personal data.
ERASED_APP_SCHEMAS = ("scoring", "review", "sync", "lifecycle", "quality")
APP_TABLE_FIELDS = {
    "scoring.scores": "scores",
    "review.items": "review_items",
    "sync.outbox": "outbox_rows",
    "sync.state": "sync_states",
    "lifecycle.lead_states": "lifecycle_rows",
}

# Text columns of app tables where a CRM answer or a summary may quote someone (scrubbed in other leads' rows).
QUOTING_COLUMNS = (
    ("sync", "attempts", "response"),
    ("sync", "attempts", "message"),
    ("sync", "state", "last_error"),
    ("review", "items", "summary"),
    ("review", "items", "note"),
    ("review", "items", "question"),
    ("meta", "runs", "error"),
    ("review", "clarifications", "draft"),
    ("review", "lead_edits", "edited"),  # a reviewer may quote another lead
)


class ForgetError(ValueError):
    """The erasure cannot run as asked (e.g. not an email address)."""


class ErasurePending(RuntimeError):
    """The rows were erased, but the file could not be rewritten now (it is open elsewhere)."""


@dataclass
class ForgetReport:
    email: str
    lead_id: str | None = None
    events: int = 0
    rejected_records: int = 0
    duplicate_records: int = 0
    field_issues: int = 0
    model_rows: int = 0
    scores: int = 0
    review_items: int = 0
    outbox_rows: int = 0
    sync_states: int = 0
    lifecycle_rows: int = 0
    llm_answers: int = 0  # cached model answers computed from this lead's (scrubbed) input
    other_rows: int = 0  # app tables added later that hold lead rows (e.g. sync.attempts)
    scrubbed_mentions: int = 0  # other leads' rows (a CRM answer, a run error) that quoted the person
    anonymous_ids: list[str] = field(default_factory=list, repr=False)
    already_erased: bool = False  # the email was on the erasure list before this run
    finished: list[str] = field(default_factory=list)  # erasures whose rewrite and read copy this run finished
    tables: dict[str, int] = field(default_factory=dict)
    source_files: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def total(self) -> int:
        return sum(self.tables.values())


def normalise_email(email: str) -> str:
    """Normalised as ingest does (leadgate/shared/emails.py); a clear error when it is not an email address."""
    value = emails.normalise_email((email or "").strip())
    if value is None:
        raise ForgetError(f"not a valid email address: {email!r}")
    return value


def lead_id_for(con: duckdb.DuckDBPyConnection, email: str) -> str:
    """The lead id dbt gives this email: from the mart when built, else from the installation salt."""
    if relation_exists(con, "marts", "lead_features"):
        row = con.execute("select lead_id from marts.lead_features where email = ?", [email]).fetchall()
        if row:
            return row[0][0]
    return con.execute(f"select {lead_id_sql('lead_id_salt', '?')} from meta.installation limit 1", [email]).fetchall()[
        0
    ][0]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> int:
    return int(con.execute(sql, params).fetchall()[0][0])


def _identity_tables(con: duckdb.DuckDBPyConnection, app: bool) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Base tables (views read raw) with columns that identify a person: dbt's schemas, or the app's."""
    schemas = list(ERASED_APP_SCHEMAS) if app else list(APP_SCHEMAS)
    rows = con.execute(
        """
        select c.table_schema, c.table_name, c.column_name
        from information_schema.columns c
        join information_schema.tables t using (table_catalog, table_schema, table_name)
        where t.table_type = 'BASE TABLE' and c.table_catalog = current_database()
          and (c.table_schema in (select unnest(?)) = ?)
          and c.data_type = 'VARCHAR'
          and (c.column_name = 'lead_id' or c.column_name like '%email%' or c.column_name like '%anonymous_id%')
        order by 1, 2, 3
        """,
        [schemas, app],
    ).fetchall()
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column in rows:
        kind = "lead_id" if column == "lead_id" else ("email" if "email" in column else "anonymous_id")
        found.setdefault((schema, table), []).append((column, kind))
    return found


def _erase_identity_tables(con: duckdb.DuckDBPyConnection, lead_id: str, email: str, *, app: bool) -> dict[str, int]:
    erased = {}
    for (schema, table), columns in _identity_tables(con, app).items():
        tests, params = [], []
        for column, kind in columns:
            # Identifiers come from information_schema (quoted); every value is bound.
            name = _quoted(column)
            if kind == "lead_id":
                tests.append(f"{name} = ?")
                params.append(lead_id)
            elif kind == "email":
                tests.append(f"{emails.ascii_lower_sql(name)} = ?")  # the email rule: A-Z only
                params.append(email)
            else:
                tests.append(f"{name} in (select anonymous_id from _forget_anonymous_ids)")
        n = _count(con, f"delete from {_quoted(schema)}.{_quoted(table)} where {' or '.join(tests)}", params)
        if n:
            erased[f"{schema}.{table}"] = n
    return erased


def forget_person(
    settings: LeadgateSettings,
    email: str,
    actor: str = "operator",
    *,
    rewrite: bool = True,
    wait: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> ForgetReport:
    """Erase every row about this person (raw, models, scores, review, sync, lifecycle); audit rows stay.

    Under the writer lock (waiting up to `wait` seconds, saying so): one transaction deletes the rows,
    puts the person on the erasure list and opens a journal row; then the file is rewritten and the read
    copy republished. A run killed anywhere is finished by re-running it or by the next writer.
    """
    email = normalise_email(email)
    report = ForgetReport(email=email)
    wait = settings.lock_timeout if wait is None else wait
    tell = progress or (lambda _: None)
    with erasure_lock(settings, wait, tell):
        con = open_file(settings.db_path, read_only=False, deadline=time.monotonic() + wait)
        try:
            db.migrate(con)
            report.already_erased = is_erased(con, email)
            lead_id = report.lead_id = lead_id_for(con, email)
            previous = con.execute("select state from lifecycle.lead_states where lead_id = ?", [lead_id]).fetchall()
            previous = previous[0] if previous else None
            with transaction(con):
                _erase(con, lead_id, email, report)
                if report.total:
                    now = utcnow()
                    erasure_id = open_journal(con, lead_id, now)
                    record_erasure(
                        con, erasure_id, email=email, anonymous_ids=report.anonymous_ids, lead_id=lead_id, now=now
                    )
                    con.execute(
                        """
                        insert into audit.decisions (decided_at, lead_id, kind, actor, from_state, to_state,
                                                     reason_codes, details)
                        values (?, ?, 'forget', ?, ?, null, ['erasure_request'], ?::json)
                        """,
                        [now, lead_id, f"forget:{actor}", previous[0] if previous else None, _counts_json(report)],
                    )
                    # Before the commit: a copy published earlier must not outlive the erasure, even if we die next.
                    drop_read_copy(settings)
        finally:
            con.close()
        if rewrite:
            try:
                report.finished = finish_locked(settings, tell)
            except (db.PipelineBusy, ErasureUnfinished) as exc:
                # The rows are gone and the person is on the list; only the file's old bytes wait.
                raise ErasurePending(
                    f"erased {report.total} row(s) about {email}, but the file rewrite and the read-only copy are"
                    f" still pending ({exc}); re-run `leadgate forget {email}` or the next run finishes them"
                ) from None
    report.message = _message(report)
    return report


def _message(report: ForgetReport) -> str:
    email, finished = report.email, report.finished
    if report.total:
        text = f"erased {report.total} row(s) about {email} (lead {report.lead_id}); audit rows kept"
        if report.source_files:
            text += f"; the original files still contain this person: {', '.join(report.source_files)}"
        return text
    if report.already_erased:
        text = f"{email} was already erased: no rows left about them"
        if finished:
            text += f"; finished {len(finished)} interrupted erasure(s): file rewritten, read-only copy republished"
        return text
    text = f"nothing found for {email}: no rows erased"
    if finished:
        text += f"; finished {len(finished)} interrupted erasure(s) of someone else"
    return text


def _counts_json(report: ForgetReport) -> str:
    return json.dumps(dict(sorted(report.tables.items())), sort_keys=True)


def _register(con: duckdb.DuckDBPyConnection, name: str, column: str, values: list, dtype: str) -> None:
    with registered(con, _forget_frame=pd.DataFrame({column: pd.Series(values, dtype=dtype)})):
        con.execute(f"create or replace temp table {name} as select * from _forget_frame")  # names are ours


def _erase(con: duckdb.DuckDBPyConnection, lead_id: str, email: str, report: ForgetReport) -> None:
    # Visitor ids linked to the email: by its events, and by its own kept lines (a rejected record with both).
    anonymous = {
        r[0]
        for r in con.execute(
            "select distinct anonymous_id from raw.engagement_events where email = ? and anonymous_id is not null",
            [email],
        ).fetchall()
    }
    rejected = con.execute("select rowid, raw_text from raw.rejected_events where raw_text is not null").fetchall()
    duplicates = con.execute("select rowid, raw_text from raw.duplicate_events where raw_text is not null").fetchall()
    by_email = PersonMatcher(email)
    for _, text in rejected + duplicates:
        if by_email.names_email(text):
            anonymous |= by_email.anonymous_ids_in(text)
    matcher = PersonMatcher(email, anonymous)
    report.anonymous_ids = sorted(anonymous)
    _register(con, "_forget_anonymous_ids", "anonymous_id", report.anonymous_ids, "string")
    # Events of the person: by email, and anonymous events of every visitor id ever linked to it.
    # Events that carry someone else's email stay: they are that other person's data.
    con.execute(
        """
        create or replace temp table _forget_events as
        select source, event_id, load_id, source_file from raw.engagement_events
        where email = ? or (email is null and anonymous_id in (select anonymous_id from _forget_anonymous_ids))
        """,
        [email],
    )
    # Kept raw lines: the email in any case or JSON/%-escaping, or only the person's visitor ids.
    _register(con, "_forget_dup_ids", "rid", [rid for rid, text in duplicates if matcher.names_person(text)], "int64")
    _register(con, "_forget_rej_ids", "rid", [rid for rid, text in rejected if matcher.names_person(text)], "int64")
    con.execute(
        """
        create or replace temp table _forget_dups as
        select rowid as rid, load_id, source_file from raw.duplicate_events d
        where rowid in (select rid from _forget_dup_ids)
           or exists (select 1 from _forget_events e where e.source = d.source and e.event_id = d.event_id)
        """
    )
    con.execute(
        "create or replace temp table _forget_rejected as select rowid as rid, load_id, source_file"
        " from raw.rejected_events where rowid in (select rid from _forget_rej_ids)"
    )
    issues = con.execute("select rowid, raw_value from raw.field_issues where raw_value is not null").fetchall()
    _register(con, "_forget_issue_ids", "rid", [rid for rid, text in issues if matcher.names_person(text)], "int64")
    report.source_files = [
        r[0]
        for r in con.execute(
            "select distinct source_file from (select source_file from _forget_events"
            " union all select source_file from _forget_dups union all select source_file from _forget_rejected)"
            " order by 1"
        ).fetchall()
    ]
    # Keep conservation provable: per file, how many records the erasure removed.
    if relation_exists(con, "raw", "erasures"):
        con.execute(
            """
            insert into raw.erasures (load_id, source_file, accepted, rejected, duplicates, erased_at)
            select load_id, source_file, sum(a), sum(r), sum(d), ? from (
                select load_id, source_file, 1 as a, 0 as r, 0 as d from _forget_events
                union all select load_id, source_file, 0, 1, 0 from _forget_rejected
                union all select load_id, source_file, 0, 0, 1 from _forget_dups
            ) group by load_id, source_file
            """,
            [utcnow()],
        )
    raw_deletes = [
        (
            "field_issues",
            "raw.field_issues",
            "delete from raw.field_issues f where exists (select 1 from _forget_events e"
            " where e.source = f.source and e.event_id = f.event_id)"
            " or rowid in (select rid from _forget_issue_ids)",
            [],
        ),
        (
            "events",
            "raw.engagement_events",
            "delete from raw.engagement_events where email = ? or (email is null and anonymous_id in"
            " (select anonymous_id from _forget_anonymous_ids))",
            [email],
        ),
        (
            "duplicate_records",
            "raw.duplicate_events",
            "delete from raw.duplicate_events where rowid in (select rid from _forget_dups)",
            [],
        ),
        (
            "rejected_records",
            "raw.rejected_events",
            "delete from raw.rejected_events where rowid in (select rid from _forget_rejected)",
            [],
        ),
    ]
    for attr, table, sql, params in raw_deletes:
        _tally(report, attr, table, _count(con, sql, params))
    from leadgate.ingest.lead_lists import erase_listed  # imported lead lists: records, attributes, rejected rows

    for table, n in erase_listed(con, lead_id, email, matcher.names_email).items():
        _tally(report, "other_rows", table, n)
    for table, n in _erase_identity_tables(con, lead_id, email, app=False).items():
        _tally(report, "model_rows", table, n)
    # Cached LLM answers were computed from this lead's scrubbed profile (its summary may quote it): the
    # lead's scores name them by input hash. Gone first, while the scores still point at them.
    _tally(
        report,
        "llm_answers",
        "scoring.llm_cache",
        _count(
            con,
            "delete from scoring.llm_cache where input_hash in"
            " (select input_hash from scoring.scores where lead_id = ? and input_hash is not null)",
            [lead_id],
        ),
    )
    # App tables by lead id / email, found by column so tables added later (e.g. sync.attempts) are covered.
    for table, n in _erase_identity_tables(con, lead_id, email, app=True).items():
        _tally(report, APP_TABLE_FIELDS.get(table, "other_rows"), table, n)
    _scrub_mentions(con, matcher, report)
    for temp in (
        "_forget_anonymous_ids",
        "_forget_events",
        "_forget_dups",
        "_forget_rejected",
        "_forget_dup_ids",
        "_forget_rej_ids",
        "_forget_issue_ids",
    ):
        con.execute(f"drop table if exists {temp}")


def _scrub_mentions(con: duckdb.DuckDBPyConnection, matcher: PersonMatcher, report: ForgetReport) -> None:
    """Blank texts of other rows that quote the person (a batch-level CRM answer, a run's error)."""
    local = matcher.email.split("@")[0]
    for schema, table, column in QUOTING_COLUMNS:
        if not relation_exists(con, schema, table):
            continue
        name = _quoted(column)
        target = f"{_quoted(schema)}.{_quoted(table)}"
        text = f"cast({_quoted(column)} as varchar)"
        # A cheap filter first (the local part, or any escaping), then the full match in Python.
        rows = con.execute(
            f"select rowid, {text} from {target} where {text} is not null and (contains(lower({text}), ?)"
            f" or contains({text}, '\\') or contains({text}, '%') or contains({text}, '\uff20'))",
            [local],
        ).fetchall()
        hits = [rid for rid, value in rows if matcher.names_email(value)]
        if hits:
            blank = "null" if column in ("response",) else "'[erased: it named a forgotten person]'"
            con.execute(f"update {target} set {name} = {blank} where rowid in (select unnest(?::bigint[]))", [hits])
            _tally(report, "scrubbed_mentions", f"{schema}.{table}.{column}", len(hits))


def _tally(report: ForgetReport, attr: str, table: str, n: int) -> None:
    setattr(report, attr, getattr(report, attr) + n)
    if n:
        report.tables[table] = report.tables.get(table, 0) + n
