"""The review SLA: an item's age in business hours (the policy's days, hours and time zone) against
`review.sla_business_hours`. Counting is exact across weekends, evenings and DST changes; the overdue
count is one SQL comparison against the cut-off instant (now minus the SLA in business hours), so it
stays cheap with 100,000 pending items.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

from leadgate.policy import BusinessHours, Policy

MAX_DAYS = 3660        # walking further than ten years means no business day is ever reached


def _clock(text: str) -> tuple[int, int]:
    hours, minutes = text.split(":")
    return int(hours), int(minutes)


def _window(day: date, hours: BusinessHours) -> tuple[datetime, datetime]:
    zone = ZoneInfo(hours.timezone)
    (sh, sm), (eh, em) = _clock(hours.start), _clock(hours.end)
    start = datetime.combine(day, time(sh, sm), tzinfo=zone)
    end = (datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone) if eh == 24
           else datetime.combine(day, time(eh, em), tzinfo=zone))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _days(first: date, step: int) -> Iterator[date]:
    for n in range(MAX_DAYS):
        yield first + timedelta(days=n * step)


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def business_seconds(start: datetime, end: datetime, hours: BusinessHours) -> float:
    """Seconds of business time between two instants (0 when end is not after start)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    zone = ZoneInfo(hours.timezone)
    total, day = 0.0, start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() in hours.days:
            open_, close = _window(day, hours)
            lo, hi = max(open_, start), min(close, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def age_business_hours(created_at: datetime, now: datetime, policy: Policy) -> float:
    """An item's age in business hours."""
    return business_seconds(created_at, now, policy.review.business_hours) / 3600.0


def is_overdue(created_at: datetime, now: datetime, policy: Policy) -> bool:
    """Whether an item created then has passed the review SLA by now."""
    return age_business_hours(created_at, now, policy) > policy.review.sla_business_hours


def shift_business_hours(moment: datetime, hours_: float, hours: BusinessHours) -> datetime:
    """The instant `hours_` business hours after `moment` (before it when negative)."""
    moment, left = _utc(moment), abs(hours_) * 3600.0
    forward = hours_ >= 0
    zone = ZoneInfo(hours.timezone)
    for day in _days(moment.astimezone(zone).date(), 1 if forward else -1):
        if day.weekday() not in hours.days:
            continue
        open_, close = _window(day, hours)
        lo, hi = (max(open_, moment), close) if forward else (open_, min(close, moment))
        span = (hi - lo).total_seconds()
        if span <= 0:
            continue
        if span >= left:
            return lo + timedelta(seconds=left) if forward else hi - timedelta(seconds=left)
        left -= span
    raise ValueError("the policy's business hours never add up to the review SLA")


def due_at(created_at: datetime, policy: Policy) -> datetime:
    """When an item created then becomes overdue."""
    return shift_business_hours(created_at, policy.review.sla_business_hours, policy.review.business_hours)


def overdue_cutoff(now: datetime, policy: Policy) -> datetime:
    """Items created before this instant are overdue at `now`."""
    return shift_business_hours(now, -policy.review.sla_business_hours, policy.review.business_hours)


def overdue_count(con: duckdb.DuckDBPyConnection, policy: Policy, now: datetime | None = None) -> int:
    """How many pending review items have passed the SLA."""
    cutoff = overdue_cutoff(now or datetime.now(timezone.utc), policy)
    return int(con.execute("select count(*) from review.items where status = 'pending' and created_at < ?",
                           [cutoff]).fetchall()[0][0])


def sla_of(created_at: datetime, now: datetime, policy: Policy) -> dict:
    """What the page shows per item: age in business hours, the SLA, whether it is overdue, when it is due."""
    age = age_business_hours(created_at, now, policy)
    return {"age_business_hours": round(age, 2), "sla_business_hours": policy.review.sla_business_hours,
            "overdue": age > policy.review.sla_business_hours, "due_at": due_at(created_at, policy)}
