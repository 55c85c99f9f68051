"""A small hand-built review loop with known numbers (UTC; 2026-11-16 and -23 are Mondays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

# The report's "now" for the known numbers: Monday 2026-11-23 14:00 UTC.
AS_OF = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def t(day: int, hour: float) -> datetime:
    """2026-11-<day> at <hour> UTC."""
    return datetime(2026, 11, day, tzinfo=UTC) + timedelta(hours=hour)


# (queued, decided, status, machine would qualify, reason codes, tier)
ITEMS = [
    (t(16, 9), t(16, 10), "approved", False, ["low_confidence"], "B"),  # 1 h, override
    (t(16, 10), t(16, 12), "rejected", False, ["low_confidence"], "B"),  # 2 h
    (t(16, 11), t(16, 14), "approved", True, ["target_account"], "A"),  # 3 h
    (t(16, 12), t(16, 16), "rejected", True, ["missing_company"], None),  # 4 h, override; decided at the deadline
    (
        t(16, 8),
        t(16, 18),
        "clarification_requested",
        None,
        ["low_confidence"],
        None,
    ),  # 10 h, due 13:00: breach on the 16th
    (t(20, 16), t(23, 10), "approved", True, ["target_account"], "A"),  # over the weekend: 2 business hours
    (
        t(20, 15),
        t(23, 12),
        "rejected",
        False,
        ["low_confidence", "missing_company"],
        "B",
    ),  # due Mon 11:00: breach on the 23rd
    (t(21, 10), None, "pending", True, ["low_confidence"], "B"),  # queued Saturday, due Mon 13:00: overdue
    (t(23, 13.5), None, "pending", False, ["missing_company"], None),  # due Tue 09:30: not yet
    (t(19, 9), t(20, 9), "superseded", True, ["low_confidence"], "B"),  # replaced: no SLA
]

# route decisions on the 16th: (to_state, score, tier)
ROUTES = [
    ("needs_review", 0.41, "B"),
    ("needs_review", 0.62, "A"),
    ("qualified", 0.71, "A"),
    ("qualified", 0.75, "A"),
    ("qualified", 0.93, "A"),
    ("qualified", 1.0, "A"),
    ("qualified", 0.58, None),
    ("nurture", 0.12, None),
    ("pending", 0.30, None),
]
CRM_OUTCOMES = ["acknowledged", "acknowledged", "retry", "rejected"]  # on the 16th
LLM_OUTCOMES = ["ok", "ok", "ok", "server_error", "invalid_json"]  # on the 16th


def shifted(value: datetime | None, weeks: int) -> datetime | None:
    return None if value is None else value + timedelta(weeks=weeks)


def fill(con: duckdb.DuckDBPyConnection, *, weeks: int = 0) -> None:
    """Insert the loop, moved by `weeks` whole weeks (weekdays and hours stay as they are)."""
    for n, (queued, decided, status, qualified, codes, tier) in enumerate(ITEMS, start=1):
        score_id = None
        if qualified is not None:
            score_id = con.execute(
                "insert into scoring.scores (lead_id, scored_at, scorer, scorer_version, policy_version, feature_hash,"
                " score, confidence, qualified) values (?, ?, 'baseline', 'b1', 'p1', 'h', ?, 0.5, ?) returning score_id",
                [f"ld_{n:016d}", shifted(queued, weeks), 0.7 if qualified else 0.3, qualified],
            ).fetchone()[0]
        con.execute(
            "insert into review.items (lead_id, score_id, email, reason_codes, status, created_at, decided_at, tier,"
            " reviewer) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f"ld_{n:016d}",
                score_id,
                f"person{n}@example.com",
                codes,
                status,
                shifted(queued, weeks),
                shifted(decided, weeks),
                tier,
                None if status == "pending" else "ana",
            ],
        )
    for n, (state, score, tier) in enumerate(ROUTES):
        con.execute(
            "insert into audit.decisions (decided_at, run_id, lead_id, kind, actor, to_state, reason_codes, score, tier)"
            " values (?, 'r1', ?, 'route', 'policy:baseline', ?, [], ?, ?)",
            [
                shifted(
                    t(
                        16,
                        6,
                    )
                    + timedelta(minutes=n),
                    weeks,
                ),
                f"ld_r{n:015d}",
                state,
                score,
                tier,
            ],
        )
    for n, outcome in enumerate(CRM_OUTCOMES):
        con.execute(
            "insert into sync.attempts (run_id, crm, lead_id, outcome, http_status, attempted_at)"
            " values ('r1', 'hubspot', ?, ?, ?, ?)",
            [f"ld_c{n:015d}", outcome, {"retry": 503, "rejected": 400}.get(outcome, 200), shifted(t(16, 7), weeks)],
        )
    for n, outcome in enumerate(LLM_OUTCOMES):
        con.execute(
            "insert into scoring.llm_calls (call_id, run_id, model, prompt_version, kind, batch_size, lead_ids,"
            " tokens_in, tokens_out, outcome, called_at) values (?, 'r1', 'm', 'v1', 'score', 1, '[]', 1, 1, ?, ?)",
            [f"c{n}", outcome, shifted(t(16, 7), weeks)],
        )
