"""Realistic synthetic engagement exports (web, forms, email, chat, CRM, events) for demos and benchmarks."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from leadgate.sample.journeys import JourneyGenerator, SampleLead

# re-exported so that every name importable from leadgate.sample.generator before the split still is
from leadgate.sample.vocab import (
    CAMPAIGNS,
    DAY,
    FILES,
    GUARANTEED,  # noqa: F401
    LAST,
    SITE,
    local_text,
    opaque_id,
    utc_text,
)

SAMPLE_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # fixed, so the bundled sample is reproducible
SAMPLE_SEED = 7
SAMPLE_LEADS = 480
_EVENT_ID = re.compile(r'("event_id": "[^"]*)"')
BAD_SHARE = 0.003
_COMMON = ["event_id", "source", "event_type", "occurred_at", "email"]
_PERSON = ["first_name", "last_name", "job_title"]
_FIRM = ["company", "company_domain", "company_size", "industry", "country"]
COLUMNS = {
    "form_fills.csv": _COMMON
    + ["anonymous_id"]
    + _PERSON
    + ["phone"]
    + _FIRM
    + ["page_url", "message", "utm_source", "utm_campaign", "consent", "lead_source_detail"],
    "crm_events.csv": _COMMON + _PERSON + ["phone"] + _FIRM + ["message", "consent", "sfdc_owner"],
    "event_attendance.csv": _COMMON
    + _PERSON
    + ["company", "company_size", "country", "consent", "utm_campaign", "event_name"],
}
# kind -> (file, outcome at ingest, what is wrong); outcomes: reject | field_issue | duplicate | conflict
BAD_KINDS = {
    "invalid_json": ("web_visits.jsonl", "reject", "line cut off: not valid JSON"),
    "missing_event_id": ("email_engagement.jsonl", "reject", "no event_id"),
    "invalid_email": ("form_fills.csv", "reject", "email 'bob@@example' and no anonymous_id"),
    "bad_timestamp": ("chat_transcripts.jsonl", "reject", "occurred_at 'yesterday'"),
    "unknown_source": ("crm_events.csv", "reject", "source 'fax'"),
    "no_identity": ("event_attendance.csv", "reject", "neither email nor anonymous_id (walk-in badge)"),
    "company_size_lots": ("form_fills.csv", "field_issue", "company_size 'lots' (event kept, size empty)"),
    "consent_maybe": ("event_attendance.csv", "field_issue", "consent 'maybe' (event kept, consent empty)"),
    "exact_duplicate": ("email_engagement.jsonl", "duplicate", "webhook re-sent an identical event"),
    "conflicting_duplicate": ("crm_events.csv", "conflict", "same source+event_id, different content"),
}


@dataclass(frozen=True)
class BadRecord:
    """One deliberately bad record: where it is and what ingest should do with it."""

    file: str
    line: int  # physical line; a CSV header is line 1
    kind: str
    outcome: str  # reject | field_issue | duplicate | conflict


@dataclass(frozen=True)
class SampleReport:
    """What write_sample wrote, and what ingest should report for it."""

    out_dir: Path
    files: dict[str, int]  # records per file (CSV: records, not physical lines)
    leads: int
    anonymous_visitors: int
    bad_records: int
    expected_rejects: int
    expected_field_issues: int
    expected_duplicates: int  # conflicting duplicates included
    expected_conflicts: int
    bad: tuple[BadRecord, ...]

    @property
    def records(self) -> int:
        return sum(self.files.values())

    @property
    def expected_accepted(self) -> int:
        return self.records - self.expected_rejects - self.expected_duplicates


def _spoil(gen: JourneyGenerator, people: list[SampleLead], per_kind: int) -> dict[str, list[tuple[int, object, str]]]:
    """Bad records to slot in, as {file: [(before good row, payload, kind)]}; field issues are made in place."""
    rng = gen.rng
    inserts: dict[str, list[tuple[int, object, str]]] = {name: [] for name in FILES}
    for kind, (name, outcome, _) in BAD_KINDS.items():
        rows = gen.out[name]
        for _ in range(per_kind):
            lead, ts = rng.choice(people), gen.now - rng.uniform(1, 300) * DAY
            i = rng.randrange(len(rows)) if rows else -1
            if outcome == "field_issue":
                col, value = (12, "lots") if kind == "company_size_lots" else (11, "maybe")
                free = [
                    j
                    for j in rng.sample(range(len(rows)), min(len(rows), 50))
                    if rows[j][1][col] and j not in gen.marked[name]
                ]
                if free:
                    rows[free[0]][1][col] = value
                    gen.marked[name][free[0]] = kind
            elif i >= 0 or kind not in ("invalid_json", "exact_duplicate", "conflicting_duplicate"):
                start = i + 1 if outcome in ("duplicate", "conflict") else 0
                inserts[name].append(
                    (rng.randint(start, len(rows)), _bad(gen, kind, lead, ts, rows[i] if rows else None), kind)
                )
    return inserts


def _bad(gen: JourneyGenerator, kind: str, lead: SampleLead, ts: float, good: tuple | None) -> object:
    """One bad record; `good` is a (time, payload) the duplicates and the cut-off line are made from."""
    rng = gen.rng
    if kind == "exact_duplicate":
        return good[1]
    if kind == "conflicting_duplicate":  # the CRM re-exported the meeting after someone edited it
        row = list(good[1])
        row[3], row[14] = utc_text(good[0] + 3600), (row[14] + " Rescheduled.").strip()
        return row
    if kind == "invalid_json":
        rec = json.loads(good[1])
        rec["event_id"] = f"wv_{opaque_id(gen.next_number('web'), 1):012x}"
        line = gen.dumps(rec)
        return line[: len(line) * 2 // 3]
    if kind == "missing_event_id":
        return gen.dumps(
            {
                "source": "email",
                "event_type": "email_open",
                "occurred_at": utc_text(ts) + "Z",
                "email": lead.email,
                "utm_campaign": rng.choice(CAMPAIGNS),
            }
        )
    if kind == "bad_timestamp":
        return gen.dumps(
            {
                "event_id": f"cv_{opaque_id(gen.next_number('chat'), 3):010x}-1",
                "source": "chat",
                "event_type": "chat_message",
                "occurred_at": "yesterday",
                "anonymous_id": lead.anon,
                "email": lead.email,
                "message": gen.message("question"),
            }
        )
    if kind == "invalid_email":
        return [
            f"ff-{100000 + gen.next_number('form')}",
            "form",
            "form_submit",
            local_text(ts, "eu1"),
            "bob@@example",
            "",
            "Bob",
            rng.choice(LAST),
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            SITE + "/contact",
            "",
            "",
            "",
            "yes",
            "",
        ]
    if kind == "unknown_source":
        return [
            f"00U{opaque_id(gen.next_number('crm'), 4):012X}",
            "fax",
            "form_submit",
            utc_text(ts),
            lead.email,
            lead.first,
            lead.last,
            lead.title,
            "",
            lead.company,
            lead.domain,
            "",
            "",
            "",
            "Order form received by fax",
            "",
            "",
        ]
    return [
        f"att-walk-in-{gen.next_number('event'):05d}",
        "event",
        "event_attended",
        local_text(ts, "utc"),
        "",
        lead.first,
        lead.last,
        lead.title,
        lead.company,
        "",
        lead.country,
        "",
        "revops-summit-berlin",
        "RevOps Summit Berlin",
    ]


def _merge(rows: list, inserts: list[tuple[int, object, str]], marked: dict[int, str]) -> tuple[list, dict[int, str]]:
    """Good rows (already sorted) with bad ones slotted in; returns payloads and {final index: kind}."""
    inserts = sorted(inserts, key=lambda item: item[0])
    out, kinds, k = [], {}, 0
    for j, (_, payload) in enumerate(rows):
        while k < len(inserts) and inserts[k][0] == j:
            kinds[len(out)] = inserts[k][2]
            out.append(inserts[k][1])
            k += 1
        if j in marked:
            kinds[len(out)] = marked[j]
        out.append(payload)
    for _, payload, kind in inserts[k:]:
        kinds[len(out)] = kind
        out.append(payload)
    return out, kinds


def id_suffix(seed: int, leads: int, bad_records: bool, now: datetime) -> str:
    """What this sample's event ids end with, so that two samples never share an id (bundled sample: nothing).

    The generator numbers events per source from 1 whatever the seed; without this, a sample made with
    another seed or size would repeat the bundled sample's ids with other content (conflicting duplicates).
    The suffix spells out every argument that changes the content ('.' never occurs in the base ids).
    """
    if (seed, leads, bad_records, now) == (SAMPLE_SEED, SAMPLE_LEADS, True, SAMPLE_NOW):
        return ""
    clean = "" if bad_records else "c"
    at = "" if now == SAMPLE_NOW else f"t{int(now.timestamp())}"
    return f".s{seed}n{leads}{clean}{at}"


def _with_id_suffix(payloads: list, suffix: str) -> list:
    """Payloads with the suffix on each event id (new rows: an exact duplicate shares its row with the original)."""
    if not suffix:
        return payloads
    out = []
    for payload in payloads:
        if isinstance(payload, str):
            out.append(_EVENT_ID.sub(lambda m: m.group(1) + suffix + '"', payload, count=1))
        else:
            out.append([payload[0] + suffix if payload[0] else payload[0], *payload[1:]])
    return out


def _write_file(path: Path, payloads: list, kinds: dict[int, str]) -> list[BadRecord]:
    """Write one export; returns where its bad records ended up (physical lines)."""
    name, bad = path.name, []
    if name.endswith(".jsonl"):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(line + "\n" for line in payloads)
        return [BadRecord(name, i + 1, kind, BAD_KINDS[kind][1]) for i, kind in sorted(kinds.items())]
    columns = COLUMNS[name]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        # the event platform exports like a spreadsheet: CRLF line ends
        writer = csv.writer(fh, lineterminator="\r\n" if name == "event_attendance.csv" else "\n")
        writer.writerow(columns)
        writer.writerows(payloads)
    if kinds:
        msg = columns.index("message") if "message" in columns else None
        line = 2
        for i, row in enumerate(payloads):
            if i in kinds:
                bad.append(BadRecord(name, line, kinds[i], BAD_KINDS[kinds[i]][1]))
            line += 1 + (row[msg].count("\n") if msg is not None else 0)
    return bad


def _expected_md(report: SampleReport, seed: int, now: datetime) -> str:
    lines = [
        f"# What this sample contains (seed {seed}, leads {report.leads}, ending {now.isoformat()})",
        "",
        "Generated by `leadgate.sample.generator.write_sample`; do not edit by hand. Counts are records (a CSV record",
        "may span lines: messages contain newlines).",
        "",
        "| file | records |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {count} |" for name, count in report.files.items()]
    lines += [
        f"| **total** | **{report.records}** |",
        "",
        f"Expected at ingest: accepted {report.expected_accepted}, rejected {report.expected_rejects}, "
        f"duplicates {report.expected_duplicates} (of which conflicting {report.expected_conflicts}), "
        f"field issues {report.expected_field_issues}; identified leads {report.leads}, "
        f"anonymous visitors never identified {report.anonymous_visitors}.",
        "",
        "Deliberately bad records (line = physical line, CSV header is line 1):",
        "",
        "| kind | file | expected | count | lines |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for kind, (name, outcome, what) in BAD_KINDS.items():
        at = [b.line for b in report.bad if b.kind == kind]
        shown = ", ".join(map(str, at[:6])) + (", ..." if len(at) > 6 else "")
        lines.append(f"| {kind}: {what} | {name} | {outcome} | {len(at)} | {shown} |")
    lines += [
        "",
        "Unknown extra fields kept in `extra`: `lead_source_detail` (form_fills.csv), `sfdc_owner` (crm_events.csv),",
        "`event_name` (event_attendance.csv), `referrer` (web_visits.jsonl), `subject` (email_engagement.jsonl),",
        "`conversation_id` (chat_transcripts.jsonl).",
        "",
    ]
    return "\n".join(lines)


def write_sample(
    out_dir: Path, *, leads: int, seed: int = SAMPLE_SEED, bad_records: bool = True, now: datetime | None = None
) -> SampleReport:
    """Write one export per source plus EXPECTED.md into out_dir; same arguments, same bytes (now defaults to SAMPLE_NOW)."""
    if leads < 1:
        raise ValueError(f"leads must be at least 1, got {leads}")
    now = SAMPLE_NOW if now is None else now if now.tzinfo else now.replace(tzinfo=UTC)
    gen = JourneyGenerator(seed, now, leads)
    people = gen.plan(leads)
    for lead in people:
        gen.journey(lead)
    for _ in range(leads // 4):
        gen.anonymous_visitor()
    for rows in gen.out.values():
        rows.sort(key=lambda item: item[0])
    for i, (_, row) in enumerate(gen.out["form_fills.csv"]):  # form tools number submissions in time order
        row[0] = f"ff-{100001 + i}"
    for i, (_, row) in enumerate(gen.out["event_attendance.csv"]):
        row[0] = f"att-{row[12]}-{i + 1:05d}"
    events = sum(len(rows) for rows in gen.out.values())
    inserts = _spoil(gen, people, max(1, round(events * BAD_SHARE / len(BAD_KINDS)))) if bad_records else {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files, bad = {}, []
    suffix = id_suffix(seed, leads, bad_records, now)
    for name in FILES:
        payloads, kinds = _merge(gen.out[name], inserts.get(name, []), gen.marked[name])
        payloads = _with_id_suffix(payloads, suffix)
        files[name] = len(payloads)
        bad += _write_file(out_dir / name, payloads, kinds)
    outcomes = [b.outcome for b in bad]
    report = SampleReport(
        out_dir=out_dir,
        files=files,
        leads=len(people),
        anonymous_visitors=len(gen.seen_anon - gen.linked_anon),
        bad_records=len(bad),
        expected_rejects=outcomes.count("reject"),
        expected_field_issues=outcomes.count("field_issue"),
        expected_duplicates=outcomes.count("duplicate") + outcomes.count("conflict"),
        expected_conflicts=outcomes.count("conflict"),
        bad=tuple(bad),
    )
    (out_dir / "EXPECTED.md").write_text(_expected_md(report, seed, now), encoding="utf-8")
    return report
