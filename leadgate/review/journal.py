"""The durable decision journal: a decision is never refused or lost because a run holds the database.

`submit` tries the database with a short wait; when a run (dbt alone holds the file for many seconds)
has it, the decision is appended as one JSON line to `<db>.decisions.jsonl`, fsynced (file and folder),
and applied later by `replay` — which the web server calls on a timer and every pipeline run calls
before it routes. Each decision carries a uuid that is recorded in `review.decision_log` in the same
transaction as the decision, so replay is idempotent and a crash between the append and the apply (or
between the apply and the journal's compaction) loses and doubles nothing. A torn last line (a crash
mid-write) is skipped with a warning and never blocks the lines after it; a decision that turns out
invalid on replay (someone else decided the item meanwhile) is logged as a conflict with the reason.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from filelock import FileLock

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy, load_policy
from leadgate.review.decisions import DecisionRequest, ReviewDecision, apply_decision, check_request, log_decision
from leadgate.review.errors import ReviewError
from leadgate.store import db, read_copy

log = logging.getLogger("leadgate.review.journal")
SUBMIT_LOCK_WAIT = 1.0  # seconds a decision waits for the database before it is journaled
QUEUED_MESSAGE = "saved — applies when the current run finishes"


@dataclass(frozen=True)
class SubmitResult:
    """What happened to a submitted decision: applied now (with the decision) or queued in the journal."""

    request: DecisionRequest
    applied: bool
    decision: ReviewDecision | None = None
    message: str = ""

    @property
    def queued(self) -> bool:
        """Saved in the journal, applied once the database is free."""
        return not self.applied


@dataclass
class ReplayReport:
    """One replay: how many journaled decisions were applied, found in conflict, already applied, or skipped."""

    applied: int = 0
    conflicts: int = 0
    already: int = 0
    torn: int = 0
    failed: int = 0  # a database error: kept in the journal, retried by the next replay
    busy: bool = False  # the database was held: nothing applied, the journal is unchanged
    remaining: int = 0  # lines left in the journal
    conflict_reasons: list[str] = field(default_factory=list)


def journal_path(settings: LeadgateSettings) -> Path:
    """The journal beside the database."""
    return settings.db_path.with_name(settings.db_path.name + ".decisions.jsonl")


def _guard(settings: LeadgateSettings) -> FileLock:
    path = journal_path(settings)
    return FileLock(str(path.with_name(path.name + ".lock")))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append(settings: LeadgateSettings, request: DecisionRequest) -> Path:
    """Append one decision as a JSON line and fsync the file and its folder before returning."""
    path = journal_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = request.to_json().encode("utf-8")
    with _guard(settings):
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            prefix = b""
            size = os.fstat(fd).st_size
            if size:
                # A torn last line (crash mid-write) must not swallow this one: start on a line of its own.
                with open(path, "rb") as existing:
                    existing.seek(size - 1)
                    if existing.read(1) != b"\n":
                        prefix = b"\n"
            os.write(fd, prefix + line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)
    return path


def read_entries(settings: LeadgateSettings) -> tuple[list[DecisionRequest], int]:
    """The journal's decisions in order, and how many lines were unreadable (skipped with a warning)."""
    path = journal_path(settings)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    entries, torn = [], 0
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            entries.append(DecisionRequest.from_json(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError, TypeError):
            torn += 1
            where = "its last line" if number == len(lines) else f"line {number}"
            log.warning("decision journal %s: %s is not a whole decision (a write cut short); skipped", path, where)
    return entries, torn


def _compact(settings: LeadgateSettings, done: set[str]) -> int:
    """Rewrite the journal without decisions the database has recorded (atomically); lines left."""
    path = journal_path(settings)
    with _guard(settings):
        entries, _ = read_entries(settings)  # re-read under the guard: lines appended meanwhile stay
        keep = [e for e in entries if e.uuid not in done]
        if not keep:
            path.unlink(missing_ok=True)
            _fsync_dir(path.parent)
            return 0
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(b"".join(e.to_json().encode("utf-8") + b"\n" for e in keep))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        return len(keep)


def replay(
    settings: LeadgateSettings, policy: Policy | None = None, *, lock_wait: float = SUBMIT_LOCK_WAIT
) -> ReplayReport:
    """Apply every journaled decision not yet recorded (idempotent); a held database leaves it for later."""
    report = ReplayReport()
    entries, report.torn = read_entries(settings)
    if not entries:
        if report.torn:
            report.remaining = _compact(settings, set())
        return report
    policy = policy or load_policy(settings.policy)
    done: set[str] = set()
    try:
        with db.connect(settings, timeout=lock_wait) as con:
            for request in entries:
                if request.uuid in done:
                    continue
                known = con.execute(
                    "select outcome from review.decision_log where decision_uuid = ?", [request.uuid]
                ).fetchall()
                if known:
                    report.already += 1
                else:
                    try:
                        apply_decision(con, settings, policy, request, via="journal")
                        report.applied += 1
                    except ReviewError as exc:
                        log_decision(con, request, _lead_of(con, request), "conflict", str(exc), "journal")
                        report.conflicts += 1
                        report.conflict_reasons.append(str(exc))
                    except duckdb.Error as exc:
                        # Rolled back; it stays in the journal for the next replay and never holds up the others.
                        log.warning(
                            "decision %s on review item %s not applied yet: %s", request.uuid, request.item_id, exc
                        )
                        report.failed += 1
                        continue
                done.add(request.uuid)
            if report.applied or report.conflicts:
                read_copy.mark_pending(settings)
    except db.PipelineBusy:
        report.busy = True
        report.remaining = len(entries)
        return report
    report.remaining = _compact(settings, done)
    if report.applied or report.conflicts:
        read_copy.publish_after_decision(settings)
    return report


def _lead_of(con, request: DecisionRequest) -> str | None:
    try:
        row = con.execute("select lead_id from review.items where item_id = ?", [int(request.item_id)]).fetchall()
    except (TypeError, ValueError):
        return None
    return row[0][0] if row else None


def submit(
    settings: LeadgateSettings,
    request: DecisionRequest,
    policy: Policy | None = None,
    *,
    lock_wait: float = SUBMIT_LOCK_WAIT,
    publish: bool = True,
) -> SubmitResult:
    """Apply a decision now, or (database held) journal it durably; ReviewError when it is invalid either way.

    publish=False leaves the read copy to the caller (a server calls read_copy.publish_pending on a timer), so a
    decision never waits for a copy of a large file.
    """
    from leadgate.review.service import ReviewService

    policy = policy or load_policy(settings.policy)
    request = check_request(request, policy)  # bad input is refused now, never journaled
    if journal_path(settings).exists():
        replay(settings, policy, lock_wait=lock_wait)  # earlier queued decisions first, in order
    try:
        decision = ReviewService(settings, policy).decide(request, lock_wait=lock_wait, publish=publish)
    except db.PipelineBusy:
        append(settings, request)
        return SubmitResult(request, applied=False, message=QUEUED_MESSAGE)
    return SubmitResult(
        request, applied=True, decision=decision, message=f"review item {decision.item_id} {decision.status}"
    )


def submit_many(
    settings: LeadgateSettings,
    requests: list[DecisionRequest],
    policy: Policy | None = None,
    *,
    lock_wait: float = SUBMIT_LOCK_WAIT,
) -> list[tuple[int, SubmitResult | ReviewError]]:
    """Bulk: each decision applied now or journaled, or its own ReviewError, in the order given; one failing never
    blocks the others."""
    policy = policy or load_policy(settings.policy)
    results: list[SubmitResult | ReviewError | None] = [None] * len(requests)
    valid: list[tuple[int, DecisionRequest]] = []
    for n, request in enumerate(requests):
        try:
            valid.append((n, check_request(request, policy)))
        except ReviewError as exc:
            results[n] = exc
    if journal_path(settings).exists():
        replay(settings, policy, lock_wait=lock_wait)
    try:
        with db.connect(settings, timeout=lock_wait) as con:
            for n, request in valid:
                try:
                    decision = apply_decision(con, settings, policy, request)
                    results[n] = SubmitResult(
                        request, True, decision, f"review item {decision.item_id} {decision.status}"
                    )
                except ReviewError as exc:
                    results[n] = exc
            read_copy.mark_pending(settings)
    except db.PipelineBusy:  # raised by connect, before any decision was applied
        for n, request in valid:
            append(settings, request)
            results[n] = SubmitResult(request, applied=False, message=QUEUED_MESSAGE)
    else:
        read_copy.publish_after_decision(settings)
    return [(request.item_id, result) for request, result in zip(requests, results)]


def pending(settings: LeadgateSettings, reviewer: str | None = None) -> list[DecisionRequest]:
    """Journaled decisions not yet applied (optionally one reviewer's), for the page to show as 'saved'."""
    entries, _ = read_entries(settings)
    return [e for e in entries if reviewer is None or e.reviewer == reviewer]


def conflicts(settings: LeadgateSettings, reviewer: str | None = None, limit: int = 100) -> list[dict]:
    """Decisions found invalid on replay, newest first, with the reason (who decided the item first)."""
    from leadgate.store.sql import relation_exists

    with db.read_connection(settings) as con:
        if not relation_exists(con, "review", "decision_log"):  # a read copy from before migration 0016
            return []
        cur = con.execute(
            "select decision_uuid, item_id, reviewer, action, reason, submitted_at, recorded_at from review.decision_log"
            " where outcome = 'conflict' and (?::varchar is null or reviewer = ?) order by recorded_at desc limit ?",
            [reviewer, reviewer, int(limit)],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
