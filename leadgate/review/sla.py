"""The review SLA, the one definition: an item's age in business hours (the policy's days, hours and time
zone) against `review.sla_business_hours`. Counting is exact across weekends, evenings and DST changes; the
overdue count is one SQL comparison against the cut-off instant (now minus the SLA in business hours), so it
stays cheap with 100,000 pending items. Metrics and alerts take deadlines in bulk from `deadlines()`; the
dbt mart review_metrics_items builds the same windows in SQL from `dbt_vars()` (tests check they agree).

A wall time the clock passes twice means its later occurrence; one it skips means the instant it would
have been on the old clock: DuckDB's timezone() (ICU) resolves both the same way.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from leadgate.policy import BusinessHours, Policy

MAX_DAYS = 3660  # walking further than ten years means no business day is ever reached


def _clock(text: str) -> tuple[int, int]:
    hours, minutes = text.split(":")
    return int(hours), int(minutes)


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: the later reading when it is ambiguous or skipped (as ICU does)."""
    local = datetime.combine(day, clock, tzinfo=zone)
    return max(local.astimezone(UTC), local.replace(fold=1).astimezone(UTC))


def _window(day: date, hours: BusinessHours) -> tuple[datetime, datetime]:
    zone = ZoneInfo(hours.timezone)
    (sh, sm), (eh, em) = _clock(hours.start), _clock(hours.end)
    start = _instant(day, time(sh, sm), zone)
    end = _instant(day + timedelta(days=1), time(0, 0), zone) if eh == 24 else _instant(day, time(eh, em), zone)
    return start, max(start, end)


def _days(first: date, step: int) -> Iterator[date]:
    for n in range(MAX_DAYS):
        yield first + timedelta(days=n * step)


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


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
    cutoff = overdue_cutoff(now or datetime.now(UTC), policy)
    return int(
        con.execute(
            "select count(*) from review.items where status = 'pending' and created_at < ?", [cutoff]
        ).fetchall()[0][0]
    )


def sla_of(created_at: datetime, now: datetime, policy: Policy) -> dict:
    """What the page shows per item: age in business hours, the SLA, whether it is overdue, when it is due."""
    age = age_business_hours(created_at, now, policy)
    return {
        "age_business_hours": round(age, 2),
        "sla_business_hours": policy.review.sla_business_hours,
        "overdue": age > policy.review.sla_business_hours,
        "due_at": due_at(created_at, policy),
    }


DEFAULT_SLA_BUSINESS_HOURS = 4.0


def sla_hours(policy: Any) -> float:
    """The policy's `review.sla_business_hours` (4 without a review section); above 0 and finite."""
    review = getattr(policy, "review", None)
    value = getattr(review, "sla_business_hours", None)
    hours = float(value) if value is not None else DEFAULT_SLA_BUSINESS_HOURS
    if not (hours > 0 and math.isfinite(hours)):
        raise ValueError(f"review.sla_business_hours must be above 0 and finite, got {value!r}")
    return hours


def business_hours_of(policy: Any) -> BusinessHours:
    """The policy's `review.business_hours` (the documented default without a review section)."""
    hours = getattr(getattr(policy, "review", None), "business_hours", None)
    return hours if isinstance(hours, BusinessHours) else BusinessHours()


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def describe(hours: BusinessHours) -> str:
    """The business hours in a few words, e.g. 'Mon-Fri 09:00-17:00 America/New_York'."""
    days = sorted(set(hours.days))
    span = (
        f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2
        else ",".join(DAY_NAMES[d] for d in days)
    )
    return f"{span} {hours.start}-{hours.end} {hours.timezone}"


def dbt_vars(policy: Any) -> dict[str, Any]:
    """The SLA for the review_metrics_items mart: the same windows, built in SQL with DuckDB's timezone()."""
    hours = business_hours_of(policy)
    return {
        "review_sla_business_hours": sla_hours(policy),
        "review_business_days": sorted(set(hours.days)),
        "review_day_start": hours.start,
        "review_day_end": hours.end,
        "review_timezone": hours.timezone,
        "review_sla_horizon_days": MAX_DAYS,
    }


class _Calendar:
    """The business windows from a first local day on, as epoch seconds with running totals (extended on demand)."""

    def __init__(self, hours: BusinessHours, first: date) -> None:
        self.hours, self.next_day = hours, first
        self.days: list[int] = []  # local days, as ordinals
        self.opens: list[float] = []
        self.closes: list[float] = []
        self.before: list[float] = []  # business seconds in the windows before this one
        self.total = 0.0

    def extend(self, last: date) -> None:
        while self.next_day <= last:
            day, self.next_day = self.next_day, self.next_day + timedelta(days=1)
            if day.weekday() not in self.hours.days:
                continue
            open_, close = _window(day, self.hours)
            if close > open_:  # an empty window (a skipped hour) adds nothing
                self.days.append(day.toordinal())
                self.opens.append(open_.timestamp())
                self.closes.append(close.timestamp())
                self.before.append(self.total)
                self.total += close.timestamp() - open_.timestamp()

    def due(self, start_s: float, seconds: float, last: int) -> float | None:
        """The instant `seconds` business seconds after `start_s`, None when not reached by the local day `last` (ordinal)."""
        i = bisect.bisect_right(self.opens, start_s) - 1
        position = (
            0.0 if i < 0 else self.before[i] + min(max(start_s - self.opens[i], 0.0), self.closes[i] - self.opens[i])
        )
        target = position + seconds
        while self.total < target and self.next_day.toordinal() <= last:
            self.extend(min(date.fromordinal(last), self.next_day + timedelta(days=366)))
        j = bisect.bisect_left(self.before, target) - 1  # the last window starting before the target is reached
        if j < 0 or self.total < target or self.days[j] > last:
            return None
        return self.opens[j] + (target - self.before[j])


def deadlines(created: Iterable[float], policy: Any) -> list[float | None]:
    """The SLA deadline (epoch seconds) of items created at these epoch seconds; None when never reached."""
    created = list(created)
    if not created:
        return []
    hours, seconds = business_hours_of(policy), sla_hours(policy) * 3600.0
    local = _local_days(created, ZoneInfo(hours.timezone))
    calendar = _Calendar(hours, date.fromordinal(min(local) - 1))
    calendar.extend(date.fromordinal(max(local)))
    return [calendar.due(s, seconds, day + MAX_DAYS - 1) for s, day in zip(created, local)]


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _local_days(created: list[float], zone: ZoneInfo) -> list[int]:
    """Each instant's local day (ordinal); the zone's offset is looked up once per UTC hour it does not change in."""
    offsets: dict[int, float | None] = {}
    days = []
    for s in created:
        hour = int(s // 3600)
        if hour not in offsets:
            first, last = (datetime.fromtimestamp(t, tz=zone).utcoffset() for t in (hour * 3600, hour * 3600 + 3599))
            offsets[hour] = first.total_seconds() if first == last else None
        offset = offsets[hour]
        days.append(
            _EPOCH_ORDINAL + int((s + offset) // 86400)
            if offset is not None
            else datetime.fromtimestamp(s, tz=zone).date().toordinal()
        )
    return days
