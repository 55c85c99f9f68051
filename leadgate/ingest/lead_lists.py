"""`leadgate import leads`: load a CSV of lead-level records (no events) into raw.lead_list_records.

Contract: one file is one transaction. The --key column is the external id (required, unique per file);
mapped columns (--map target=column, or a column named like the target) fill the standard lead fields;
every other column is a custom attribute in raw.lead_attributes, typed per column (numeric when every
present value is a number, else categorical; `Select`, `N/A`, `-`, `none`, empty are missing). A row
without email is valid: its lead id is the salted rule on the key. Bad rows go to raw.rejected_lead_rows
with reasons; the same file again (sha256) changes nothing, and a row whose key was imported with the
same values is unchanged. A later file with new values for a key replaces that key's record.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from leadgate.shared.emails import normalise_email
from leadgate.shared.lead_fields import LEAD_FIELDS
from leadgate.store.erasure_list import erased_lead_ids, installation_salt
from leadgate.store.shared_rules import company_size_sql, domain_sql, lead_id_sql, size_candidate_sql
from leadgate.store.sql import insert_rows
from leadgate.store.states import utcnow

MISSING = {"", "select", "n/a", "na", "-", "--", "none", "null", "nil"}
MAX_VALUE_CHARS = 2000
MAX_FILE_BYTES = 512 * 1024 * 1024
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|[\ud800-\udfff]")  # NUL/binary, or bytes not UTF-8


class LeadListError(ValueError):
    """The file cannot be imported as asked (unreadable, no header, unknown key or mapped column)."""


@dataclass
class LeadListReport:
    source_file: str
    rows_read: int = 0
    accepted: int = 0  # new or changed records
    unchanged: int = 0  # key already imported with the same values
    rejected: int = 0
    erased: int = 0  # rows of people `leadgate forget` erased: never stored again
    skipped_file: bool = False  # the same bytes were imported before
    attributes: dict[str, str] = field(default_factory=dict)  # column -> numeric | categorical
    reasons: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        if self.skipped_file:
            return [f"{self.source_file}: unchanged (this file was imported before); nothing to do"]
        out = [
            f"{self.source_file}: {self.rows_read} rows: {self.accepted} imported, {self.unchanged} unchanged,"
            f" {self.rejected} rejected" + (f", {self.erased} erased people skipped" if self.erased else "")
        ]
        if self.attributes:
            out.append("  custom attributes: " + ", ".join(f"{k} ({v})" for k, v in self.attributes.items()))
        out += [f"  rejected {n}: {reason}" for reason, n in sorted(self.reasons.items(), key=lambda kv: -kv[1])]
        return out


def is_missing(value: str | None) -> bool:
    return value is None or value.strip().lower() in MISSING


def as_number(value: str) -> float | None:
    text = value.strip()
    return float(text) if _NUMBER.fullmatch(text) else None


def column_kind(values: list[str]) -> str:
    """numeric when every present value is a number (and one is present), else categorical."""
    present = [v for v in values if not is_missing(v)]
    return "numeric" if present and all(as_number(v) is not None for v in present) else "categorical"


def size_parts(size: str) -> tuple[str, int, int | None]:
    """The shared rule's size ('250', '51-200', '10000+') with its bounds: (size, min, max; None when open)."""
    if size.endswith("+"):
        return size, int(size[:-1]), None
    low, _, high = size.partition("-")
    return size, int(low), int(high or low)


def _digits(size: str) -> str:
    """A size as a spreadsheet export writes it ('1,000', '1,001-5,000'): its thousands separators dropped."""
    return size.replace(",", "")


def lead_subject(email: str | None, key_column: str, key: str) -> str:
    """What the lead id hashes: the email (so events of the same person merge), else 'key:<column>:<key>'."""
    return email if email else f"key:{key_column}:{key}"


def shared_rules(
    con: duckdb.DuckDBPyConnection, salt: str, sizes: set[str], domains: set[str], subjects: set[str]
) -> tuple[dict[str, str | None], dict[str, str | None], dict[str, str]]:
    """dbt's own rules (dbt_project/macros/shared_rules.sql) on every distinct value of one file, in three queries:
    company size -> canonical size or None, domain -> normalised or None, subject -> lead id."""

    def apply(values: set[str], sql: str, *params: str) -> dict:
        rows = con.execute(sql, [*params, sorted(values)]).fetchall() if values else []
        return dict(rows)

    values = "unnest(?::varchar[]) t(v)"
    size = apply(
        sizes, f"select v, {company_size_sql('c')} from (select v, {size_candidate_sql('v')} as c from {values})"
    )
    domain = apply(domains, f"select v, {domain_sql('v')} from {values}")
    lead = apply(subjects, f"select v, {lead_id_sql('?', 'v')} from {values}", salt)
    return size, domain, lead


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (first physical line, fields) of each non-blank row; delimiter sniffed (, ; tab)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LeadListError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise LeadListError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            data = data.decode("utf-16").encode()
        except UnicodeError:
            raise LeadListError(f"{path}: not a readable CSV (broken UTF-16)") from None
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    if not text.strip():
        raise LeadListError(f"{path}: empty file, expected a CSV with a header row")
    first = text.split("\n", 1)[0]
    if _CONTROL.search(first.rstrip("\r")):
        raise LeadListError(f"{path}: not a readable CSV (binary or non-UTF-8 header)")
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # An over-long cell is a rejected row (MAX_VALUE_CHARS), not an unreadable file.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    line = 1
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not any(f.strip() for f in fields):  # blank lines and a spreadsheet's ';;;' rows
                continue
            if header is None:
                header = [h.strip() for h in fields]
            else:
                rows.append((start, fields))
    except csv.Error as exc:
        raise LeadListError(f"{path}: not a readable CSV near line {line}: {exc}") from None
    if not header or not any(header):
        raise LeadListError(f"{path}: no header row")
    seen = [h.lower() for h in header]
    dupes = sorted({h for h in header if seen.count(h.lower()) > 1})
    if dupes or "" in header:
        raise LeadListError(
            f"{path}: header has {'duplicate columns ' + ', '.join(dupes) if dupes else 'an empty column name'}"
        )
    return header, rows


def resolve_mapping(header: list[str], key: str, mapping: dict[str, str]) -> tuple[int, dict[str, int]]:
    """Column index of the key and of each standard field (explicit --map, else a column of that name)."""
    index = {h.lower(): i for i, h in enumerate(header)}

    def column(name: str) -> int:
        if name.strip().lower() not in index:
            raise LeadListError(f"no column {name!r} in the file (columns: {', '.join(header)})")
        return index[name.strip().lower()]

    unknown = sorted(set(mapping) - set(LEAD_FIELDS))
    if unknown:
        raise LeadListError(f"unknown lead field {unknown[0]!r} in --map (fields: {', '.join(LEAD_FIELDS)})")
    key_at = column(key)
    fields = {target: column(col) for target, col in mapping.items()}
    for target in LEAD_FIELDS:
        auto = index.get(target) if target not in fields else None
        if auto is None:
            auto = index.get(target.replace("_", " ")) if target not in fields else None
        if auto is not None and auto != key_at and auto not in fields.values():
            fields[target] = auto
    return key_at, fields


def _printable(text: str) -> str:
    """The row as text a database and a terminal can hold: undecodable bytes and control characters as U+FFFD."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub("\ufffd", text)


def _row_problems(values: list[str], header: list[str]) -> list[str]:
    problems = []
    for name, value in zip(header, values):
        if _CONTROL.search(value):
            problems.append(f"binary or non-UTF-8 content: column {name}")
        elif len(value) > MAX_VALUE_CHARS:
            problems.append(f"value longer than {MAX_VALUE_CHARS} characters: column {name}")
    return problems


def import_lead_list(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    key: str,
    mapping: dict[str, str] | None = None,
) -> LeadListReport:
    """Import one CSV of leads in one transaction (see the module docstring for the contract)."""
    path = Path(path)
    header, rows = read_table(path)
    key_at, fields = resolve_mapping(header, key, mapping or {})
    report = LeadListReport(source_file=str(path), rows_read=len(rows))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if con.execute("select 1 from raw.lead_list_imports where file_sha256 = ?", [digest]).fetchall():
        report.skipped_file = True
        return report
    attr_cols = [i for i in range(len(header)) if i != key_at and i not in fields.values()]
    good = [vals for _, vals in rows if len(vals) == len(header)]
    kinds = {i: column_kind([v[i] for v in good]) for i in attr_cols}
    report.attributes = {header[i]: kinds[i] for i in attr_cols}
    salt, erased, now, import_id = installation_salt(con), erased_lead_ids(con), utcnow(), uuid.uuid4().hex
    records, attributes, rejected = {}, [], []
    by_key: dict[str, str] = {}
    key_column = header[key_at].lower()
    known = dict(
        con.execute(
            "select list_key, content_hash from raw.lead_list_records where key_column = ?", [key_column]
        ).fetchall()
    )

    def reject(row_no: int, list_key: str | None, values: list[str], reasons: list[str]) -> None:
        for reason in reasons:  # summarised by kind: the text before the first ':'
            kind = reason.split(":", 1)[0]
            report.reasons[kind] = report.reasons.get(kind, 0) + 1
        rejected.append(
            [
                import_id,
                str(path),
                row_no,
                list_key,
                _printable(",".join(values))[:MAX_VALUE_CHARS],
                "; ".join(reasons),
                now,
            ]
        )

    def given(values: list[str], name: str) -> str | None:
        at = fields.get(name)
        return None if at is None or is_missing(values[at]) else values[at].strip()

    sizes, domains, lead_ids = shared_rules(
        con,
        salt,
        {_digits(v) for vals in good if (v := given(vals, "company_size"))},
        {v for vals in good if (v := given(vals, "company_domain"))},
        {
            lead_subject(normalise_email(e) if (e := given(vals, "email")) else None, key_column, vals[key_at].strip())
            for vals in good
        },
    )
    for row_no, values in rows:
        if len(values) != len(header):
            reject(row_no, None, values, [f"wrong number of fields: {len(values)}, the header has {len(header)}"])
            continue
        problems = _row_problems(values, header)
        list_key = values[key_at].strip()
        if is_missing(list_key):
            problems.insert(0, f"missing key: column {header[key_at]}")
        record = {f: (None if is_missing(values[i]) else values[i].strip()) for f, i in fields.items()}
        record.update({f: None for f in LEAD_FIELDS if f not in record})
        if record["email"] is not None:
            email = normalise_email(record["email"])
            if email is None:
                problems.append(f"malformed email: {record['email'][:100]!r}")
            record["email"] = email
        size = (None, None, None)
        if record["company_size"] is not None:
            canonical = sizes[_digits(record["company_size"])]
            if canonical is None:
                problems.append(f"company_size is not a number or range: {record['company_size'][:100]!r}")
            else:
                size = size_parts(canonical)
        if record["company_domain"] is not None:
            record["company_domain"] = domains[record["company_domain"]]
        if problems:
            reject(row_no, None if is_missing(list_key) else list_key[:MAX_VALUE_CHARS], values, problems)
            continue
        attrs = {header[i]: values[i].strip() for i in attr_cols if not is_missing(values[i])}
        content = json.dumps([record, size, attrs], sort_keys=True, default=str)
        if list_key in by_key:
            if by_key[list_key] != content:
                reject(row_no, list_key, values, [f"duplicate key with conflicting values: {list_key[:100]!r}"])
            else:
                report.unchanged += 1
            continue
        by_key[list_key] = content
        lead_id = lead_ids[lead_subject(record["email"], key_column, list_key)]
        if lead_id in erased:  # forget lists the lead id, the same salted rule on the email
            report.erased += 1
            continue
        content_hash = hashlib.sha256(content.encode()).hexdigest()
        if known.get(list_key) == content_hash:
            report.unchanged += 1
            continue
        records[list_key] = [
            key_column,
            list_key,
            lead_id,
            *(record[f] for f in LEAD_FIELDS[:9]),
            size[0],
            size[1],
            size[2],
            content_hash,
            import_id,
            str(path),
            row_no,
            now,
        ]
        for i in attr_cols:
            if not is_missing(values[i]):
                text = values[i].strip()
                num = as_number(text) if kinds[i] == "numeric" else None
                attributes.append([key_column, list_key, lead_id, header[i], text, num, kinds[i], import_id])
    report.accepted, report.rejected = len(records), len(rejected)
    _write(
        con,
        import_id,
        path,
        digest,
        key_column,
        {f: header[i] for f, i in fields.items()},
        report,
        list(records.values()),
        attributes,
        rejected,
        now,
    )
    return report


def _write(
    con: duckdb.DuckDBPyConnection,
    import_id: str,
    path: Path,
    digest: str,
    key: str,
    mapping: dict,
    report: LeadListReport,
    records: list,
    attributes: list,
    rejected: list,
    now: object,
) -> None:
    con.execute("begin transaction")
    try:
        keys = [r[1] for r in records]
        if keys:
            for table in ("raw.lead_attributes", "raw.lead_list_records"):  # a fixed list of names
                con.execute(
                    f"delete from {table} where key_column = ? and list_key in (select unnest(?::varchar[]))",
                    [key, keys],
                )
            insert_rows(con, "raw.lead_list_records", records)
        insert_rows(con, "raw.lead_attributes", attributes)
        insert_rows(con, "raw.rejected_lead_rows", rejected)
        con.execute(
            "insert into raw.lead_list_imports values (?, ?, ?, ?, ?::json, ?, ?, ?, ?, ?)",
            [
                import_id,
                str(path),
                digest,
                key,
                json.dumps(mapping),
                report.rows_read,
                report.accepted,
                report.rejected,
                report.unchanged,
                now,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def erase_listed(con: duckdb.DuckDBPyConnection, lead_id: str, email: str, names_email) -> dict[str, int]:
    """Inside forget's transaction: the person's list records, attributes and rejected rows naming them."""
    found = {}
    con.execute(
        "create or replace temp table _forget_list_keys as select key_column, list_key"
        " from raw.lead_list_records where lead_id = ? or email = ?",
        [lead_id, email],
    )
    n = con.execute(
        "delete from raw.lead_attributes a where lead_id = ? or exists (select 1 from _forget_list_keys k"
        " where k.key_column = a.key_column and k.list_key = a.list_key)",
        [lead_id],
    ).fetchall()[0][0]
    con.execute("drop table _forget_list_keys")
    found["raw.lead_attributes"] = n
    found["raw.lead_list_records"] = con.execute(
        "delete from raw.lead_list_records where lead_id = ? or email = ?", [lead_id, email]
    ).fetchall()[0][0]
    rows = con.execute("select rowid, raw_text from raw.rejected_lead_rows").fetchall()
    ids = [rid for rid, text in rows if names_email(text)]
    found["raw.rejected_lead_rows"] = con.execute(
        "delete from raw.rejected_lead_rows where rowid in (select unnest(?::bigint[]))", [ids]
    ).fetchall()[0][0]
    return {k: v for k, v in found.items() if v}
