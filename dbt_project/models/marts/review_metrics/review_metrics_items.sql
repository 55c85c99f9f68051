{{ config(materialized='view') }}  {#- live: always the numbers `leadgate metrics` shows, in the read copy too -#}
-- One row per review item with its SLA deadline, latency and whether a person overrode the machine.
-- The deadline is `review_sla_business_hours` business hours after queueing, counted in the policy's
-- business windows (days, start, end, time zone; vars from leadgate/review/sla.py dbt_vars(), the one
-- definition). Windows are local wall times made instants by DuckDB's built-in ICU timezone(), so DST
-- changes count right; the calendar is built once per query and each item finds its deadline by two
-- ASOF joins on running totals, so 100,000 items stay fast.
{%- set sla_s = (var('review_sla_business_hours', 4) | float) * 3600 %}
{%- set days = var('review_business_days', [0, 1, 2, 3, 4]) %}
{%- set tz = "'" ~ (var('review_timezone', 'UTC') | replace("'", "''")) ~ "'" %}
{%- set start = var('review_day_start', '09:00').split(':') %}
{%- set end = var('review_day_end', '17:00').split(':') %}
{%- set start_min = (start[0] | int) * 60 + (start[1] | int) %}
{%- set end_min = (end[0] | int) * 60 + (end[1] | int) %}
{%- set horizon = var('review_sla_horizon_days', 3660) | int %}

with as_of as (
    select {{ review_metrics_as_of() }} as as_of
),

items as (
    -- what the machine would have done: its score's flag; without a score row, the policy's threshold
    select i.*, coalesce(s.qualified, i.score >= cast({{ var('review_qualify_threshold', none) or 'null' }} as double)) as machine_qualified
    from {{ ref('stg_review_queue__items') }} i
    left join {{ ref('stg_scoring_log__scores') }} s using (score_id)
    where i.queued_at <= (select as_of from as_of)
),

clocked as (
    select item_id, epoch(queued_at) as queued_s, cast(timezone({{ tz }}, queued_at) as date) as queued_day
    from items
    where status <> 'superseded'
),

calendar as (
    -- each local day from the day before the first queueing to the horizon after the last
    select cast(d.day as date) as day
    from (select min(queued_day) as first_day, max(queued_day) as last_day from clocked) b,
        range(cast(b.first_day - 1 as timestamp), cast(b.last_day + {{ horizon }} as timestamp), interval 1 day) as d(day)
    where b.first_day is not null
),

opening as (
    select
        day,
        epoch(timezone({{ tz }}, cast(day as timestamp) + to_minutes({{ start_min }}))) as opens_s,
        epoch(timezone({{ tz }}, cast(day as timestamp) + to_minutes({{ end_min }}))) as closes_s
    from calendar
    where isodow(day) - 1 in ({{ days | join(', ') }})
),

windows as (
    -- business seconds in the windows before each one (an empty window, a skipped hour, adds nothing)
    select
        day,
        opens_s,
        closes_s,
        sum(closes_s - opens_s) over (order by day rows between unbounded preceding and current row)
            - (closes_s - opens_s) as before_s
    from opening
    where closes_s > opens_s
),

positioned as (
    -- where the item was queued on the running total, plus the SLA
    select
        c.item_id,
        c.queued_day,
        coalesce(w.before_s + least(greatest(c.queued_s - w.opens_s, 0), w.closes_s - w.opens_s), 0)
            + {{ sla_s }} as target_s
    from clocked c
    asof left join windows w on c.queued_s >= w.opens_s
),

deadlines as (
    -- the window in which the running total reaches the target, and how far into it
    select p.item_id, to_timestamp(w.opens_s + (p.target_s - w.before_s)) as sla_due_at
    from positioned p
    asof join windows w on p.target_s > w.before_s
    where p.target_s <= w.before_s + (w.closes_s - w.opens_s)
        and w.day <= p.queued_day + {{ horizon - 1 }}
),

timed as (
    select
        i.item_id,
        i.status,
        i.tier,
        i.reason_codes,
        i.queued_at,
        i.decided_at,
        i.machine_qualified,
        coalesce(
            i.status in ('approved', 'rejected', 'clarification_requested') and i.decided_at <= a.as_of, false
        ) as decided_by_person,
        d.sla_due_at,
        a.as_of
    from items i
    cross join as_of a
    left join deadlines d using (item_id)
)

select
    item_id,
    status,
    tier,
    reason_codes,
    queued_at,
    decided_at,
    decided_by_person,
    case when decided_by_person then (epoch(decided_at) - epoch(queued_at)) / 3600 end as latency_hours,
    sla_due_at,
    coalesce(
        sla_due_at <= as_of and (case when decided_by_person then decided_at else as_of end) > sla_due_at, false
    ) as sla_breached,
    case
        when sla_due_at <= as_of and (case when decided_by_person then decided_at else as_of end) > sla_due_at
            then {{ utc_day('sla_due_at') }}
    end as sla_breached_on,
    status = 'pending' and coalesce(sla_due_at < as_of, false) as is_overdue,
    machine_qualified,
    case
        when decided_by_person and status in ('approved', 'rejected') and machine_qualified is not null
            then (status = 'approved') <> machine_qualified
    end as is_override
from timed
