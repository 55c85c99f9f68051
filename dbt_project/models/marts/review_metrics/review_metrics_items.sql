{{ config(materialized='view') }}  {#- live: always the numbers `leadgate metrics` shows, in the read copy too -#}
-- One row per review item with its SLA deadline, latency and whether a person overrode the machine.
-- The deadline is `review_sla_business_hours` business hours (Mon-Fri, review_day_start_hour to
-- review_day_end_hour, UTC) after queueing: leadgate/review/business_hours.py computes the same.
{%- set sla = var('review_sla_business_hours', 4) | float %}
{%- set start_h = var('review_day_start_hour', 9) | int %}
{%- set end_h = var('review_day_end_hour', 17) | int %}
{#- enough calendar days to hold the SLA's business days, weekends and a late first day included #}
{%- set horizon = ((sla / (end_h - start_h)) | round(0, 'ceil') | int) * 2 + 7 %}

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

calendar as (
    -- each calendar day from the queueing day on, as epoch seconds of its UTC midnight
    select
        i.item_id,
        epoch(i.queued_at) as queued_s,
        {{ utc_day('i.queued_at') }} + cast(d.n as integer) as day
    from items i
    cross join range(0, {{ horizon }}) as d(n)
    where i.status <> 'superseded'
),

business_days as (
    select
        item_id,
        day,
        greatest(queued_s, epoch(cast(day as timestamp)) + {{ start_h }} * 3600) as opens_s,
        epoch(cast(day as timestamp)) + {{ end_h }} * 3600 as closes_s
    from calendar
    where isodow(day) <= 5
),

usable as (
    select
        item_id,
        day,
        opens_s,
        greatest(0, closes_s - opens_s) as seconds,
        sum(greatest(0, closes_s - opens_s)) over (
            partition by item_id order by day rows between unbounded preceding and current row
        ) as cumulative_seconds
    from business_days
),

deadlines as (
    -- the first business day that completes the SLA, and how far into it
    select
        item_id,
        to_timestamp(min_by(opens_s + ({{ sla }} * 3600 - (cumulative_seconds - seconds)), day)) as sla_due_at
    from usable
    where cumulative_seconds >= {{ sla }} * 3600
    group by item_id
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
