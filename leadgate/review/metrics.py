"""How healthy the review loop is, per day and per week: one report for `leadgate metrics` and the web page.

The same numbers are built by dbt as `marts.review_metrics_daily` / `_weekly` (and friends) for analysts;
tests/metrics check that both agree. Definitions (UTC days, ISO weeks from Monday):

- exception rate: route decisions sent to review / route decisions that decided the lead (not `pending`);
- review latency: queued -> decided by a person (approve, reject, clarify), wall-clock hours, on the decision's day;
- SLA breaches: items (not superseded) still undecided at their deadline (`review.sla_business_hours`
  business hours of the policy's `review.business_hours` after queueing: leadgate/review/sla.py), on the
  deadline's UTC day;
- override rate: approvals of what the machine would not have qualified, and rejections of what it
  would have (its score's `qualified`; without a score row, score >= the policy's threshold,
  as `leadgate status` does), over approvals and rejections with a machine label;
- API resilience: CRM attempts that failed (`retry`, `rejected`) or were retried (`retry`); LLM calls
  that failed (not `ok`) or were retried (transient outcomes).
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from leadgate.model.health import model_health
from leadgate.review import sla

HUMAN_DECISIONS = ("approved", "rejected", "clarification_requested")
LLM_RETRIED = ("rate_limited", "server_error", "timeout", "connection_error")
CRM_FAILED = ("retry", "rejected")
UNTIERED = "untiered"
_EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class PeriodMetrics:
    """One day (or one week, from its Monday) of the review loop."""

    period: str
    queued: int = 0
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    clarified: int = 0
    routed: int = 0
    sent_to_review: int = 0
    exception_rate: float | None = None
    latency_median_hours: float | None = None
    latency_p90_hours: float | None = None
    sla_breaches: int = 0
    overrides: int = 0
    override_base: int = 0
    override_rate: float | None = None
    crm_attempts: int = 0
    crm_errors: int = 0
    crm_retries: int = 0
    crm_error_rate: float | None = None
    crm_retry_rate: float | None = None
    llm_calls: int = 0
    llm_errors: int = 0
    llm_retries: int = 0
    llm_error_rate: float | None = None
    llm_retry_rate: float | None = None


COUNT_FIELDS = [f.name for f in fields(PeriodMetrics) if f.type in ("int", int)]


@dataclass
class MetricsReport:
    """The report: daily rows of the window, weekly rows of the weeks it touches, totals, reasons, scores."""

    as_of: str
    days: int
    since: str
    sla_business_hours: float
    business_hours: str
    pending: int
    overdue: int
    totals: PeriodMetrics
    daily: list[PeriodMetrics] = field(default_factory=list)
    weekly: list[PeriodMetrics] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)  # {day, reason, items}
    top_reasons: list[dict[str, Any]] = field(default_factory=list)  # {reason, items} over the window
    score_distribution: list[dict[str, Any]] = field(default_factory=list)  # {tier, bin, decisions}
    # {model_version (a trained version, else the scorer's name), decisions, overrides, override_rate} over the window
    overrides_by_model: list[dict[str, Any]] = field(default_factory=list)
    # per model version: alias, overrides in the window, latest drift, retrain due (leadgate/model/health.py)
    models: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _threshold(policy: Any) -> float | None:
    scoring = getattr(policy, "scoring", None)
    return getattr(scoring, "qualify_threshold", None)


def dbt_vars(policy: Any) -> dict[str, Any]:
    """The SLA clock and the machine's threshold for the review_metrics_* marts, so they count as this module does."""
    return {**sla.dbt_vars(policy), "review_qualify_threshold": _threshold(policy)}


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont, numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@contextmanager
def _connection(source: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(source, duckdb.DuckDBPyConnection):
        yield source
        return
    from leadgate.store import db

    with db.read_connection(source) as con:
        yield con


@functools.lru_cache(maxsize=4096)
def _date(day_number: int) -> date:
    return _EPOCH + timedelta(days=day_number)


def _day(seconds: float) -> date:
    """The UTC day of an epoch-seconds time."""
    return _date(int(seconds // DAY_SECONDS))


@functools.lru_cache(maxsize=4096)
def _week(d: date) -> date:
    return d - timedelta(days=d.weekday())


class _Bucket:
    """Raw facts of one period, finished into a PeriodMetrics."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.latencies: list[float] = []

    def finish(self, period: date) -> PeriodMetrics:
        m = PeriodMetrics(period=period.isoformat(), **{k: int(self.counts[k]) for k in COUNT_FIELDS})
        m.exception_rate = _rate(m.sent_to_review, m.routed)
        m.latency_median_hours = quantile(self.latencies, 0.5)
        m.latency_p90_hours = quantile(self.latencies, 0.9)
        m.override_rate = _rate(m.overrides, m.override_base)
        m.crm_error_rate, m.crm_retry_rate = _rate(m.crm_errors, m.crm_attempts), _rate(m.crm_retries, m.crm_attempts)
        m.llm_error_rate, m.llm_retry_rate = _rate(m.llm_errors, m.llm_calls), _rate(m.llm_retries, m.llm_calls)
        return m


def _day_sql(column: str) -> str:
    return f"cast(timezone('UTC', {column}) as date)"


def metrics_report(source: Any, *, days: int = 30, as_of: datetime | None = None, policy: Any = None) -> MetricsReport:
    """The review loop's numbers for the last `days` days up to `as_of` (default now); `source`: settings or a connection."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if policy is None and not isinstance(source, duckdb.DuckDBPyConnection):
        from leadgate.policy import load_policy

        policy = load_policy(source.policy)
    hours = sla.sla_hours(policy)
    now = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    last = now.date()
    first = last - timedelta(days=days - 1)
    load_from = datetime.combine(_week(first), datetime.min.time(), tzinfo=UTC)
    day_buckets: dict[date, _Bucket] = defaultdict(_Bucket)
    week_buckets: dict[date, _Bucket] = defaultdict(_Bucket)

    def add(d: date, key: str, n: int = 1, latency: float | None = None) -> None:
        for bucket in (day_buckets[d], week_buckets[_week(d)]):
            bucket.counts[key] += n
            if latency is not None:
                bucket.latencies.append(latency)

    reasons: Counter[tuple[date, str]] = Counter()
    scores: Counter[tuple[date, str, int]] = Counter()
    pending = overdue = 0
    with _connection(source) as con:
        # items whose deadline can fall in the window were queued at most a few weeks before it
        items = con.execute(
            "select epoch(i.created_at), epoch(i.decided_at), i.status,"
            " coalesce(s.qualified, i.score >= cast(? as double)),"
            " coalesce(case when s.scorer = 'model' then s.model_version end, s.scorer, 'unknown') from review.items i"
            " left join scoring.scores s on s.score_id = i.score_id"
            " where i.created_at <= ? and (i.created_at >= ? or i.decided_at >= ? or i.status = 'pending')",
            [_threshold(policy), now, load_from - timedelta(days=60), load_from],
        ).fetchall()
        params = [load_from, now]
        queued_reasons = con.execute(
            f"select {_day_sql('created_at')}, code, count(*) from review.items, unnest(reason_codes) as r(code)"
            " where created_at >= ? and created_at <= ? group by all",
            params,
        ).fetchall()
        routes = con.execute(
            f"select {_day_sql('decided_at')}, count(*) filter (where to_state <> 'pending'),"
            " count(*) filter (where to_state = 'needs_review') from audit.decisions"
            " where kind = 'route' and decided_at >= ? and decided_at <= ? group by all",
            params,
        ).fetchall()
        crm = con.execute(
            f"select {_day_sql('attempted_at')}, count(*), count(*) filter (where outcome in {CRM_FAILED}),"
            " count(*) filter (where outcome = 'retry') from sync.attempts"
            " where attempted_at >= ? and attempted_at <= ? group by all",
            params,
        ).fetchall()
        llm = con.execute(
            f"select {_day_sql('called_at')}, count(*), count(*) filter (where outcome <> 'ok'),"
            f" count(*) filter (where outcome in {LLM_RETRIED}) from scoring.llm_calls"
            " where called_at >= ? and called_at <= ? group by all",
            params,
        ).fetchall()
        bins = con.execute(
            f"select {_day_sql('decided_at')}, coalesce(tier, '{UNTIERED}'), least(floor(score * 10), 9)::int, count(*)"
            " from audit.decisions where kind = 'route' and score is not null"
            " and decided_at >= ? and decided_at <= ? group by all",
            params,
        ).fetchall()

    now_s, window_start = now.timestamp(), load_from.date()
    for d, code, n in queued_reasons:
        reasons[(d, code)] += n
    due = iter(sla.deadlines([r[0] for r in items if r[2] != "superseded"], policy))
    by_model: dict[str, list[int]] = {}
    for created_s, decided_s, status, qualified, scored_by in items:
        created_day = _day(created_s)
        if created_day >= window_start:
            add(created_day, "queued")
        human = status in HUMAN_DECISIONS and decided_s is not None and decided_s <= now_s
        if human:
            d = _day(decided_s)
            if d >= window_start:
                add(d, "decided", latency=(decided_s - created_s) / 3600)
                add(d, {"approved": "approved", "rejected": "rejected"}.get(status, "clarified"))
                if status in ("approved", "rejected") and qualified is not None:
                    add(d, "override_base")
                    tally = by_model.setdefault(scored_by, [0, 0]) if first <= d <= last else [0, 0]
                    tally[0] += 1
                    if (status == "approved") != bool(qualified):
                        add(d, "overrides")
                        tally[1] += 1
        if status == "pending":
            pending += 1
        if status == "superseded":
            continue  # the queue replaced it with a newer item, which has its own clock
        due_s = next(due)
        ended = decided_s if human else now_s
        if due_s is not None and due_s <= now_s and ended > due_s:
            overdue += status == "pending"
            if _day(due_s) >= window_start:
                add(_day(due_s), "sla_breaches")
    for d, routed, review in routes:
        add(d, "routed", routed)
        add(d, "sent_to_review", review)
    for prefix, rows in (("crm", crm), ("llm", llm)):
        for d, total, errors, retries in rows:
            add(d, "crm_attempts" if prefix == "crm" else "llm_calls", total)
            add(d, f"{prefix}_errors", errors)
            add(d, f"{prefix}_retries", retries)
    for d, tier, bin_, n in bins:
        scores[(d, tier, bin_)] += n

    window = [first + timedelta(days=i) for i in range(days)]
    total = _Bucket()
    for d in window:
        if d in day_buckets:
            total.counts.update(day_buckets[d].counts)
            total.latencies += day_buckets[d].latencies
    weeks = sorted({_week(d) for d in window})
    overrides_by_model = [
        {"model_version": v, "decisions": n, "overrides": o, "override_rate": _rate(o, n)}
        for v, (n, o) in sorted(by_model.items())
    ]
    with _connection(source) as con:  # the registry and drift tables, after the review loop's reads
        models = model_health(con, policy, overrides_by_model, now)
    top = Counter()
    for (d, code), n in reasons.items():
        if first <= d <= last:
            top[code] += n
    distribution: Counter[tuple[str, int]] = Counter()
    for (d, tier, bin_), n in scores.items():
        if first <= d <= last:
            distribution[(tier, bin_)] += n
    return MetricsReport(
        as_of=now.isoformat(),
        days=days,
        since=first.isoformat(),
        sla_business_hours=hours,
        business_hours=sla.describe(sla.business_hours_of(policy)),
        pending=pending,
        overdue=overdue,
        totals=total.finish(first),
        daily=[day_buckets.get(d, _Bucket()).finish(d) for d in window],
        weekly=[week_buckets.get(w, _Bucket()).finish(w) for w in weeks],
        reasons=[
            {"day": d.isoformat(), "reason": code, "items": n}
            for (d, code), n in sorted(reasons.items())
            if first <= d <= last
        ],
        top_reasons=[{"reason": code, "items": n} for code, n in sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))],
        score_distribution=[
            {"tier": tier, "bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "decisions": n}
            for (tier, b), n in sorted(distribution.items())
        ],
        overrides_by_model=overrides_by_model,
        models=models,
    )


def overdue_items(con: duckdb.DuckDBPyConnection, policy: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Pending items past their SLA deadline (item_id, queued, due, reason codes), oldest first."""
    now = as_utc(now) if now is not None else datetime.now(UTC)
    rows = con.execute(
        "select item_id, epoch(created_at), reason_codes from review.items where status = 'pending' and created_at <= ?"
        " order by created_at, item_id",
        [now],
    ).fetchall()
    now_s, found = now.timestamp(), []
    for (item_id, created_s, codes), due_s in zip(rows, sla.deadlines([r[1] for r in rows], policy)):
        if due_s is not None and due_s < now_s:
            found.append(
                {
                    "item_id": item_id,
                    "queued_at": datetime.fromtimestamp(created_s, tz=UTC),
                    "due_at": datetime.fromtimestamp(due_s, tz=UTC),
                    "reason_codes": list(codes or []),
                }
            )
    return found
