"""`leadgate import outcomes`: converted / not converted per lead from a CSV, bad rows rejected with reasons."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from leadgate.shared import emails
from leadgate.store.erasure_list import erased_lead_ids
from leadgate.store.shared_rules import lead_id_sql
from leadgate.store.sql import insert_rows, relation_exists

LEAD_ID = re.compile(r"^ld_[0-9a-f]{16}$")
POSITIVE = {"1", "true", "yes", "y", "won", "closed won", "closed-won", "converted", "customer", "success"}
NEGATIVE = {"0", "false", "no", "n", "lost", "closed lost", "closed-lost", "not converted", "churned", "failure"}


class OutcomeFileError(ValueError):
    """The whole file cannot be read as outcomes (missing column, not UTF-8 text, no header)."""


@dataclass
class OutcomeImport:
    file: str
    import_id: str | None = None
    records: int = 0
    recorded: int = 0
    unchanged: int = 0
    rejected: int = 0
    converted: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    already_imported: str | None = None  # the earlier import of the same bytes with the same options

    @property
    def message(self) -> str:
        if self.already_imported:
            return f"{self.file}: already imported as {self.already_imported} with the same options: nothing changed"
        text = (
            f"{self.file}: {self.records} rows: {self.recorded} outcomes recorded, {self.unchanged} unchanged, "
            f"{self.rejected} rejected"
        )
        if self.reasons:
            text += " (" + "; ".join(f"{r}: {n}" for r, n in sorted(self.reasons.items(), key=lambda kv: -kv[1])) + ")"
        return text


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise OutcomeFileError(f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise OutcomeFileError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise OutcomeFileError(f"{path} is empty: an outcomes CSV needs a header row") from None
    except csv.Error as exc:
        raise OutcomeFileError(f"{path} is not a readable CSV: {exc}") from None
    rows, line = [], reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append((line, {"__error__": str(exc)}))
            line = reader.line_num + 1
            continue
        if values and any(v.strip() for v in values):
            rows.append(
                (
                    line,
                    dict(zip(header, values))
                    | ({"__error__": "more fields than the header"} if len(values) > len(header) else {}),
                )
            )
        line = reader.line_num + 1
    return header, rows


def _column(header: list[str], name: str | None, what: str, path: Path) -> str | None:
    """The header's column for `name`: exact, else the one column equal to it ignoring case; else a clear error."""
    if name is None or name in header:
        return name
    folded = [h for h in header if h.casefold() == name.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    hint = next(
        (
            f"; the file looks '{d}'-delimited (leadgate reads comma-separated CSV)"
            for d in (";", "\t", "|")
            if any(d in h for h in header)
        ),
        "",
    )
    raise OutcomeFileError(f"{path} has no column '{name}' ({what}); its columns: {', '.join(header)}{hint}")


def _outcome(value: str, positive: str | None) -> bool | str:
    v = " ".join(value.split()).casefold()
    if not v:
        return "missing outcome"
    if positive is not None:
        return v == " ".join(positive.split()).casefold()
    if v in POSITIVE:
        return True
    if v in NEGATIVE:
        return False
    return f"outcome '{value.strip()[:40]}' is not a known yes/no value (say which value means converted: --positive)"


def _closed_at(value: str, latest: datetime) -> datetime | str:
    text = value.strip()
    if not text:
        return "missing closed_at"
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return f"closed_at '{text[:40]}' is not a date or ISO-8601 time"
    if ts is pd.NaT:
        return f"closed_at '{text[:40]}' is not a date or ISO-8601 time"
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if ts.year < 2000:
        return f"closed_at '{text[:40]}' is before 2000-01-01"
    if ts.to_pydatetime() > latest:
        return f"closed_at '{text[:40]}' is in the future"
    return ts.to_pydatetime()


class _Keys:
    """Resolves a row's key to a lead id: an email (as ingest normalises it), a lead id, or an imported external key."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key_column: str) -> None:
        self.con, self.by_rule = con, {}
        self.salt = con.execute("select lead_id_salt from meta.installation limit 1").fetchone()[0]
        known = {r[0] for r in con.execute("select lead_id from lifecycle.lead_states").fetchall()}
        known |= {r[0] for r in con.execute("select distinct lead_id from scoring.feature_snapshots").fetchall()}
        known |= {r[0] for r in con.execute("select distinct lead_id from raw.lead_list_records").fetchall()}
        self.known = known
        # keys of `leadgate import leads` (raw.lead_list_records, key column stored in lower case) and of CRMs
        keys = (
            "select key_column as key_source, list_key as external_key, lead_id from raw.lead_list_records"
            " union all select lower(key_source), external_key, lead_id from scoring.lead_keys"
        )
        self.external = dict(
            con.execute(
                f"select external_key, any_value(lead_id) from ({keys}) where key_source = lower(trim(?)) group by 1",
                [key_column],
            ).fetchall()
        )
        self.external_any = dict(
            con.execute(
                f"select external_key, any_value(lead_id) from ({keys}) group by 1 having count(distinct lead_id) = 1"
            ).fetchall()
        )
        self.erased = erased_lead_ids(con)
        # the mart's lead id for an email when built (as `forget` looks it up), else dbt's rule with the salt
        has_mart = relation_exists(con, "marts", "lead_features")
        self.by_email = (
            dict(con.execute("select email, lead_id from marts.lead_features").fetchall()) if has_mart else {}
        )

    def prepare(self, raw_keys) -> None:
        """dbt's lead-id rule (dbt_project/macros/shared_rules.sql) on every email key of the file, in one query."""
        emails_ = sorted({e for k in raw_keys if "@" in k and (e := emails.normalise_email(k.strip()))})
        sql = f"select v, {lead_id_sql('?', 'v')} from unnest(?::varchar[]) t(v)"
        self.by_rule = dict(self.con.execute(sql, [self.salt, emails_]).fetchall()) if emails_ else {}

    def resolve(self, raw: str) -> tuple[str, str | None] | str:
        key = raw.strip()
        if not key:
            return "missing key"
        if "@" in key:
            email = emails.normalise_email(key)
            if email is None:
                return f"key '{key[:60]}' is not a valid email address"
            lead = self.by_email.get(email) or self.by_rule[email]
            ext = None
        elif LEAD_ID.match(key):
            if key not in self.known:
                return f"no lead with id {key}"
            lead, ext = key, None
        else:
            lead = self.external.get(key) or self.external_any.get(key)
            if lead is None:
                return f"no lead with key '{key[:60]}' (not an email, a lead id or an imported external key)"
            ext = key
        if lead in self.erased:
            return "the lead was erased (leadgate forget): its outcome is not kept"
        return lead, ext


def import_outcomes(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    key: str,
    outcome: str,
    positive: str | None = None,
    closed_at: str | None = None,
    now: datetime | None = None,
) -> OutcomeImport:
    """Record each row's outcome (one per lead, the latest import wins); re-importing the same file changes nothing."""
    path = Path(path).expanduser().resolve()
    report = OutcomeImport(file=str(path))
    header, rows = _read(path)
    key, outcome, closed_at = (
        _column(header, name, what, path)
        for name, what in ((key, "--key"), (outcome, "--outcome"), (closed_at, "--closed-at"))
    )
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    options = json.dumps({"key": key, "outcome": outcome, "positive": positive, "closed_at": closed_at}, sort_keys=True)
    earlier = con.execute(
        "select import_id from scoring.outcome_imports where file_sha256 = ? and options = ?", [sha, options]
    ).fetchall()
    if earlier:
        report.already_imported = earlier[0][0]
        return report
    now = now or datetime.now(UTC)
    report.import_id = import_id = f"oi_{now:%Y%m%dT%H%M%S}_{sha[:8]}"
    keys = _Keys(con, key)
    keys.prepare(row.get(key, "") for _, row in rows)
    current = {
        lead: (conv, closed)
        for lead, conv, closed in con.execute("select lead_id, converted, closed_at from scoring.outcomes").fetchall()
    }
    seen: dict[str, tuple[int, bool, datetime | None]] = {}
    rejects, upserts = [], []
    for line, row in rows:
        report.records += 1
        raw_key = row.get(key, "")
        problem = row.get("__error__")
        resolved = conv = closed = None
        if problem is None:
            resolved = keys.resolve(raw_key)
            conv = _outcome(row.get(outcome, ""), positive)
            closed = _closed_at(row.get(closed_at, ""), now + timedelta(days=1)) if closed_at else None
            problem = next((p for p in (resolved, conv, closed) if isinstance(p, str)), None)
        if problem is None:
            lead, ext = resolved
            if lead in seen:
                first, c0, t0 = seen[lead]
                if (c0, t0) != (conv, closed):
                    problem = f"conflicts with line {first} for the same lead"
                else:
                    report.unchanged += 1
                    continue
        if problem is not None:
            report.rejected += 1
            report.reasons[_reason_kind(problem)] = report.reasons.get(_reason_kind(problem), 0) + 1
            rejects.append((import_id, line, raw_key[:200] or None, problem, now))
            continue
        seen[lead] = (line, conv, closed)
        old = current.get(lead)
        if old is not None and old[0] == conv and _same_time(old[1], closed):
            report.unchanged += 1
            continue
        report.recorded += 1
        upserts.append((lead, ext, conv, closed, now, import_id, line))
    report.converted = sum(1 for u in upserts if u[2])
    con.execute("begin transaction")
    try:
        # (lead_id, external_key, converted, closed_at, recorded_at, import_id, source_row): the table's order
        insert_rows(con, "scoring.outcomes", upserts, replace=True)
        insert_rows(con, "scoring.outcome_rejects", rejects)
        con.execute(
            "insert into scoring.outcome_imports values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                str(path),
                sha,
                options,
                now,
                report.records,
                report.recorded,
                report.unchanged,
                report.rejected,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return report


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return pd.Timestamp(a).tz_convert("UTC") == pd.Timestamp(b).tz_convert("UTC")


def _reason_kind(problem: str) -> str:
    """A reason without the row's value, for the counts shown after an import."""
    return re.sub(r"'[^']*'", "'…'", re.sub(r"line \d+", "line N", re.sub(r"ld_[0-9a-f]{16}", "ld_…", problem)))


def outcome_counts(con: duckdb.DuckDBPyConnection) -> Counter:
    """Outcomes on record: converted and not."""
    return Counter(
        {
            ("converted" if c else "not_converted"): n
            for c, n in con.execute("select converted, count(*) from scoring.outcomes group by 1").fetchall()
        }
    )
