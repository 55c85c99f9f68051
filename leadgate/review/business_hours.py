"""The review SLA clock: business hours (Mon-Fri, 09:00-17:00 UTC) and when an item queued at a time is due.

dbt_project/models/marts/review_metrics_items.sql computes the same deadline in SQL (vars
`review_sla_business_hours`, `review_day_start_hour`, `review_day_end_hour`); tests check they agree.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

DEFAULT_SLA_BUSINESS_HOURS = 4.0
MAX_SLA_BUSINESS_HOURS = 2000.0        # about a year of business days
DAY_START_HOUR = 9          # business day, UTC
DAY_END_HOUR = 17
BUSINESS_DAYS = frozenset(range(5))   # Monday..Friday (datetime.weekday)


def sla_business_hours(policy: Any) -> float:
    """The policy's `review.sla_business_hours` when the policy has it, else 4."""
    review = getattr(policy, "review", None)
    value = getattr(review, "sla_business_hours", None) if review is not None else None
    if value is None and isinstance(review, dict):
        value = review.get("sla_business_hours")
    hours = float(value) if value is not None else DEFAULT_SLA_BUSINESS_HOURS
    if not 0 < hours <= MAX_SLA_BUSINESS_HOURS:      # NaN and infinity too: the deadline must be reachable
        raise ValueError(f"review.sla_business_hours must be above 0 and at most {MAX_SLA_BUSINESS_HOURS}, got {value!r}")
    return hours


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


DAY_SECONDS = 86_400


def sla_due_epoch(queued_s: float, hours: float) -> float:
    """The deadline as epoch seconds, from the queueing time as epoch seconds (fast: no datetime objects)."""
    remaining = hours * 3600.0
    day = int(queued_s // DAY_SECONDS)
    t = queued_s
    while True:
        if (day + 3) % 7 < 5:                     # 1970-01-01 was a Thursday: (day + 3) % 7 is Monday = 0
            opens, closes = day * DAY_SECONDS + DAY_START_HOUR * 3600, day * DAY_SECONDS + DAY_END_HOUR * 3600
            start = max(t, opens)
            if start < closes:
                if closes - start >= remaining:
                    return start + remaining
                remaining -= closes - start
        day += 1
        t = day * DAY_SECONDS


def sla_due(queued_at: datetime, hours: float) -> datetime:
    """When an item queued at `queued_at` has used `hours` business hours (UTC)."""
    return datetime.fromtimestamp(sla_due_epoch(as_utc(queued_at).timestamp(), hours), tz=timezone.utc)


def business_hours_between(start: datetime, end: datetime) -> float:
    """Business hours from `start` to `end` (0 when end is not after start)."""
    s, e = as_utc(start), as_utc(end)
    total = timedelta(0)
    day = s.date()
    while day <= e.date():
        if day.weekday() in BUSINESS_DAYS:
            opens = datetime.combine(day, time(DAY_START_HOUR), tzinfo=timezone.utc)
            closes = datetime.combine(day, time(DAY_END_HOUR), tzinfo=timezone.utc)
            lo, hi = max(s, opens), min(e, closes)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
