"""The synthetic sample: deterministic, valid except where it says, rich in scenarios, and the committed copy is current."""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from leadgate.config import REFERENCE_DIR, REPO_DIR
from leadgate.sample.generator import (
    BAD_KINDS,
    FILES,
    SAMPLE_LEADS,
    SAMPLE_NOW,
    SAMPLE_SEED,
    SampleReport,
    write_sample,
)

SAMPLE_DIR = REPO_DIR / "data" / "sample"

SOURCES = {"web", "form", "email", "chat", "crm", "event"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SIZE = re.compile(r"^\d+$|^\d+-\d+$|^\d+\+$")
CONSENT = {True, False, "true", "false", "yes", "no", "1", "0", ""}


def read_records(folder: Path) -> list[tuple[str, int, dict | None, str]]:
    """Every record as (file, physical line, parsed record or None, raw text), parsed independently of the generator."""
    records = []
    for name in FILES:
        path = folder / name
        if name.endswith(".jsonl"):
            for number, text in enumerate(path.read_text(encoding="utf-8").split("\n")[:-1], 1):
                try:
                    records.append((name, number, json.loads(text), text))
                except json.JSONDecodeError:
                    records.append((name, number, None, text))
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header, start = next(reader), 2
            for row in reader:
                records.append(
                    (name, start, {k: v for k, v in zip(header, row, strict=True) if v != ""}, ",".join(row))
                )
                start = reader.line_num + 1
    return records


def contract_problem(rec: dict | None, now: datetime) -> str | None:
    """Why a record breaks the required part of the input contract, or None."""
    if rec is None:
        return "not JSON"
    for field in ("event_id", "source", "event_type", "occurred_at"):
        if not rec.get(field):
            return f"missing {field}"
    if rec["source"] not in SOURCES:
        return "unknown source"
    try:
        at = datetime.fromisoformat(rec["occurred_at"])
    except ValueError:
        return "bad occurred_at"
    at = at if at.tzinfo else at.replace(tzinfo=SAMPLE_NOW.tzinfo)
    if not now - timedelta(days=366) <= at <= now:
        return "occurred_at outside the year"
    email = (rec.get("email") or "").strip().lower()
    if email and not EMAIL.match(email):
        return "bad email"
    if not email and not rec.get("anonymous_id"):
        return "no identity"
    return None


def field_problem(rec: dict) -> str | None:
    if rec.get("company_size") and not SIZE.match(rec["company_size"]):
        return "company_size"
    if rec.get("consent", "") not in CONSENT:
        return "consent"
    return None


def when(rec: dict) -> datetime:
    at = datetime.fromisoformat(rec["occurred_at"])
    return at if at.tzinfo else at.replace(tzinfo=SAMPLE_NOW.tzinfo)


def good_records(folder: Path, report: SampleReport) -> list[dict]:
    """What ingest should accept: no rejects or duplicates; a field with an issue is emptied."""
    bad = {(b.file, b.line): b for b in report.bad}
    good = []
    for name, line, rec, _ in read_records(folder):
        entry = bad.get((name, line))
        if entry is None or entry.outcome == "field_issue":
            good.append({k: v for k, v in rec.items() if entry is None or k != field_problem(rec)})
    return good


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> tuple[Path, SampleReport]:
    out = tmp_path_factory.mktemp("bundled")
    return out, write_sample(out, leads=SAMPLE_LEADS, seed=SAMPLE_SEED, now=SAMPLE_NOW)


def test_committed_sample_is_what_the_generator_writes(bundled):
    out, _ = bundled
    assert sorted(p.name for p in SAMPLE_DIR.iterdir()) == sorted([*FILES, "EXPECTED.md"])
    for name in [*FILES, "EXPECTED.md"]:
        assert (SAMPLE_DIR / name).read_bytes() == (out / name).read_bytes(), (
            f"data/sample/{name} is stale: regenerate it"
        )


def test_bundled_sample_size_and_bad_record_mix(bundled):
    out, report = bundled
    assert 400 <= report.leads <= 600 and 3000 <= report.records <= 9000
    assert sum((out / name).stat().st_size for name in FILES) < 1_600_000
    assert report.bad_records >= 8 and {b.kind for b in report.bad} == set(BAD_KINDS)
    assert f"| **total** | **{report.records}** |" in (out / "EXPECTED.md").read_text(encoding="utf-8")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a, b, c = (write_sample(tmp_path / d, leads=60, seed=s) for d, s in (("a", 3), ("b", 3), ("c", 4)))
    assert a.files == b.files
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert any((tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes() for n in FILES)
    assert c.leads == 60


def test_every_record_meets_the_contract_except_the_deliberately_bad(bundled):
    out, report = bundled
    records = read_records(out)
    assert {name: sum(r[0] == name for r in records) for name in FILES} == report.files
    bad = {(b.file, b.line): b for b in report.bad}
    assert len(bad) == report.bad_records
    seen: dict[tuple, str] = {}
    outcomes = defaultdict(int)
    for name, line, rec, raw in records:
        problem = contract_problem(rec, SAMPLE_NOW)
        entry = bad.get((name, line))
        key = (rec or {}).get("source"), (rec or {}).get("event_id")
        if entry is None:
            assert problem is None, f"{name}:{line} {problem}: {raw[:120]}"
            assert field_problem(rec) is None, f"{name}:{line} {field_problem(rec)}"
            assert key not in seen, f"{name}:{line} repeats {key}"
            seen[key] = raw
        elif entry.outcome == "reject":
            assert problem is not None, f"{name}:{line} ({entry.kind}) would be accepted"
        elif entry.outcome == "field_issue":
            assert problem is None and field_problem(rec) in entry.kind, f"{name}:{line} ({entry.kind})"
            seen[key] = raw
        else:
            assert key in seen and (seen[key] == raw) == (entry.outcome == "duplicate"), f"{name}:{line} ({entry.kind})"
        if entry is not None:
            outcomes[entry.outcome] += 1
    assert outcomes["reject"] == report.expected_rejects >= 6
    assert outcomes["field_issue"] == report.expected_field_issues >= 2
    assert outcomes["duplicate"] + outcomes["conflict"] == report.expected_duplicates >= 2
    assert report.expected_accepted == len(records) - report.expected_rejects - report.expected_duplicates


def test_identities_match_the_report(bundled):
    out, report = bundled
    good = good_records(out, report)
    emails = {r["email"].strip().lower() for r in good if r.get("email")}
    assert len(emails) == report.leads
    linked = {r["anonymous_id"] for r in good if r.get("email") and r.get("anonymous_id")}
    anonymous = {r["anonymous_id"] for r in good if r.get("anonymous_id")} - linked
    assert len(anonymous) == report.anonymous_visitors > 0


def _timelines(good: list[dict]) -> dict[str, list[dict]]:
    """Events per lead after identity stitching: an anonymous id belongs to the email it was first seen with."""
    owner: dict[str, str] = {}
    for rec in sorted((r for r in good if r.get("email") and r.get("anonymous_id")), key=when):
        owner.setdefault(rec["anonymous_id"], rec["email"].strip().lower())
    lines = defaultdict(list)
    for rec in good:
        email = (rec.get("email") or "").strip().lower() or owner.get(rec.get("anonymous_id", ""))
        if email:
            lines[email].append(rec)
    return {email: sorted(events, key=when) for email, events in lines.items()}


def test_scenarios_a_reviewer_expects(bundled):
    out, report = bundled
    good = good_records(out, report)
    lines = _timelines(good)
    first_link = {}
    for rec in sorted((r for r in good if r.get("email") and r.get("anonymous_id")), key=when):
        first_link.setdefault(rec["anonymous_id"], when(rec))
    browsed_first = {
        r["anonymous_id"]
        for r in good
        if not r.get("email") and r.get("anonymous_id") in first_link and when(r) < first_link[r["anonymous_id"]]
    }
    assert len(browsed_first) >= 100, "anonymous visitors who later identify themselves"

    gaps = {
        e: max((when(b) - when(a) for a, b in itertools.pairwise(ev)), default=timedelta(0)) for e, ev in lines.items()
    }
    assert sum(g > timedelta(days=90) for g in gaps.values()) >= 5, "dormant-then-reactivated leads"

    parents = {}
    with open(REFERENCE_DIR / "company_hierarchy.csv", newline="") as fh:
        parents = {row["company_domain"]: row["parent_domain"] for row in csv.DictReader(fh)}
    with open(REFERENCE_DIR / "target_accounts.csv", newline="") as fh:
        targets = {row["account_domain"] for row in csv.DictReader(fh)}

    def target_depth(domain: str) -> int | None:
        for depth in range(5):
            if domain in targets:
                return depth
            if domain not in parents:
                return None
            domain = parents[domain]
        return None

    depths = defaultdict(set)
    for email in lines:
        depths[target_depth(email.split("@")[1])].add(email)
    assert depths[0] and depths[1] and depths[2], "people at target accounts, subsidiaries and sub-subsidiaries"
    assert any(e.endswith("@umbrella-pharma-labs.com") for e in depths[2])
    hooli = [e for e in lines if e.endswith("@hooli-xyz.com")]
    assert hooli and all(e in depths[None] for e in hooli), "hooli-xyz.com: subsidiary of a non-target"
    assert sum(e.endswith("@gmail.com") for e in lines) >= 10

    by_account = defaultdict(list)
    for email, events in lines.items():
        by_account[email.split("@")[1]].append(when(events[-1]))
    assert any(
        len(ends) >= 3 and any(sum(0 <= (t - s).days <= 30 for t in ends) >= 3 for s in ends)
        for ends in by_account.values()
    ), "a buying centre: 3+ people of one account within 30 days"

    types = [r["event_type"] for r in good]
    assert types.count("unsubscribe") >= 3 and "demo_request" in types and "meeting_request" in types
    assert any(r.get("consent") == "no" for r in good if r["source"] == "form")

    def opted_in_again(events: list[dict]) -> bool:
        unsubscribed = [when(r) for r in events if r["event_type"] == "unsubscribe"]
        return bool(unsubscribed) and any(r.get("consent") == "yes" and when(r) > max(unsubscribed) for r in events)

    reconsented = [e for e, ev in lines.items() if opted_in_again(ev)]
    assert reconsented, "a lead who unsubscribed and later opted in again"

    text = "\n".join(r.get("message", "") for r in good)
    intents = {
        "clear": r"demo for our \d+-person",
        "pricing": r"pricing|cost",
        "ambiguous": r"maybe next year|too early",
        "negative": r"Not interested|no thanks",
        "job seeker": r"CV|resume",
        "vendor": r"AI SDRs|office supplies",
        "spam": r"backlinks|gift card",
    }
    for intent, pattern in intents.items():
        assert re.search(pattern, text), intent

    sizes = defaultdict(set)
    for email, events in lines.items():
        sizes[email] |= {r["company_size"] for r in events if r.get("company_size")}
    assert sum(not s for s in sizes.values()) >= 10, "leads without any company size"
    all_sizes = set().union(*sizes.values())
    assert any(re.fullmatch(r"\d+-\d+", s) for s in all_sizes) and any(s.isdigit() for s in all_sizes)
    senior = re.compile(r"(VP|Vice President|SVP|EVP|CEO|CFO|CTO|COO|Chief|Founder|Co-Founder)")
    high_fit_low = [
        e
        for e, ev in lines.items()
        if len(ev) <= 3
        and any(senior.match(r.get("job_title", "")) for r in ev)
        and any(int(s.split("-")[0].rstrip("+")) >= 5000 for s in sizes[e])
    ]
    assert len(high_fit_low) >= 2, "senior people at big companies who barely engaged"


def test_real_export_quirks(bundled):
    out, report = bundled
    good = good_records(out, report)
    stamps = [r["occurred_at"] for r in good]
    assert any(s.endswith("Z") for s in stamps) and any(s.endswith("+02:00") for s in stamps)
    assert any(datetime.fromisoformat(s).tzinfo is None for s in stamps)
    forms = (out / "form_fills.csv").read_text(encoding="utf-8")
    messages = [r.get("message", "") for r in good if r["source"] == "form"]
    assert any("\n" in m for m in messages) and any('"' in m for m in messages) and any("," in m for m in messages)
    assert '""' in forms, "embedded quotes are doubled, CSV style"
    assert any(r.get("lead_source_detail") for r in good) and any(r.get("sfdc_owner") for r in good)
    assert any(r["email"] != r["email"].strip().lower() for r in good if r.get("email")), "emails as people type them"


def test_without_bad_records_everything_is_clean(tmp_path):
    report = write_sample(tmp_path, leads=40, seed=11, bad_records=False)
    assert report.bad_records == report.expected_rejects == report.expected_duplicates == 0 and not report.bad
    records = read_records(tmp_path)
    assert all(contract_problem(rec, SAMPLE_NOW) is None and field_problem(rec) is None for _, _, rec, _ in records)
    assert len({(r["source"], r["event_id"]) for _, _, r, _ in records}) == len(records) == report.records


def test_output_folder_is_created_and_only_our_files_are_replaced(tmp_path):
    out = tmp_path / "deep" / "inbox"
    out.mkdir(parents=True)
    (out / "web_visits.jsonl").write_text("stale\n")
    (out / "notes.txt").write_text("mine")
    report = write_sample(out, leads=30, seed=1)
    assert (out / "notes.txt").read_text() == "mine"
    assert "stale" not in (out / "web_visits.jsonl").read_text()
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, "EXPECTED.md", "notes.txt"])
    assert report.leads == 30
    with pytest.raises(ValueError, match="at least 1"):
        write_sample(tmp_path / "none", leads=0)


def _event_ids(folder: Path) -> set[tuple[str, str]]:
    return {(rec["source"], rec["event_id"]) for _, _, rec, _ in read_records(folder) if rec and rec.get("event_id")}


def test_two_seeds_or_sizes_never_share_an_event_id(tmp_path):
    samples = {(3, 60), (4, 60), (3, 61), (-3, 60)}
    ids = {}
    for seed, leads in samples:
        write_sample(tmp_path / f"{seed}-{leads}", leads=leads, seed=seed)
        ids[seed, leads] = _event_ids(tmp_path / f"{seed}-{leads}")
        assert len(ids[seed, leads]) > 100
    for a in samples:
        for b in samples - {a}:
            assert not ids[a] & ids[b], (a, b)
    clean = tmp_path / "clean"
    write_sample(clean, leads=60, seed=3, bad_records=False)  # other content (no field issues): other ids
    assert not _event_ids(clean) & ids[3, 60]


def test_leadgate_sample_default_seed_does_not_reuse_the_bundled_samples_ids(tmp_path):
    from typer.testing import CliRunner

    from leadgate.cli.app import app

    result = CliRunner().invoke(app, ["sample", "--leads", "200", "--out", str(tmp_path / "default")])
    assert result.exit_code == 0, result.output
    bundled_ids = _event_ids(SAMPLE_DIR)
    assert not _event_ids(tmp_path / "default") & bundled_ids
    explicit = CliRunner().invoke(
        app, ["sample", "--leads", str(SAMPLE_LEADS), "--seed", str(SAMPLE_SEED), "--out", str(tmp_path / "bundled")]
    )
    assert explicit.exit_code == 0, explicit.output
    assert _event_ids(tmp_path / "bundled") == bundled_ids  # asked for explicitly, the bundled sample is reproduced
