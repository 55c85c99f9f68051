{#- The review metrics' clock and one definition of every per-period number (leadgate/review/metrics.py mirrors it). -#}

{#- The report's "now": var review_metrics_as_of (ISO-8601) when given, else the build's time. -#}
{% macro review_metrics_as_of() -%}
    {%- set as_of = var('review_metrics_as_of', none) -%}
    {%- if as_of -%} cast('{{ as_of }}' as timestamptz) {%- else -%} now() {%- endif -%}
{%- endmacro %}

{#- A timestamptz's UTC calendar day, whatever the session's time zone. -#}
{% macro utc_day(column) -%}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}

{#- Every review-loop number per `grain` ('day' or 'week', weeks from Monday), one row per period with any activity. -#}
{% macro review_metrics_by(grain, period_name) %}
{%- set period -%} cast(date_trunc('{{ grain }}', PERIOD) as date) {%- endset -%}
with as_of as (
    select {{ review_metrics_as_of() }} as as_of
),

items as (
    select * from {{ ref('review_metrics_items') }}
),

queued as (
    select {{ period | replace('PERIOD', utc_day('queued_at')) }} as period, count(*) as queued
    from items
    group by all
),

decided as (
    select
        {{ period | replace('PERIOD', utc_day('decided_at')) }} as period,
        count(*) as decided,
        count(*) filter (where status = 'approved') as approved,
        count(*) filter (where status = 'rejected') as rejected,
        count(*) filter (where status = 'clarification_requested') as clarified,
        quantile_cont(latency_hours, 0.5) as latency_median_hours,
        quantile_cont(latency_hours, 0.9) as latency_p90_hours,
        count(*) filter (where is_override) as overrides,
        count(is_override) as override_base
    from items
    where decided_by_person
    group by all
),

breaches as (
    select {{ period | replace('PERIOD', 'sla_breached_on') }} as period, count(*) as sla_breaches
    from items
    where sla_breached
    group by all
),

routes as (
    select
        {{ period | replace('PERIOD', utc_day('decided_at')) }} as period,
        count(*) filter (where to_state <> 'pending') as routed,
        count(*) filter (where to_state = 'needs_review') as sent_to_review
    from {{ ref('stg_audit_log__decisions') }}, as_of
    where kind = 'route' and decided_at <= as_of.as_of
    group by all
),

crm as (
    select
        {{ period | replace('PERIOD', utc_day('attempted_at')) }} as period,
        count(*) as crm_attempts,
        count(*) filter (where outcome in ('retry', 'rejected')) as crm_errors,
        count(*) filter (where outcome = 'retry') as crm_retries
    from {{ ref('stg_crm_sync__attempts') }}, as_of
    where attempted_at <= as_of.as_of
    group by all
),

llm as (
    select
        {{ period | replace('PERIOD', utc_day('called_at')) }} as period,
        count(*) as llm_calls,
        count(*) filter (where outcome <> 'ok') as llm_errors,
        count(*) filter (where outcome in ('rate_limited', 'server_error', 'timeout', 'connection_error')) as llm_retries
    from {{ ref('stg_scoring_log__llm_calls') }}, as_of
    where called_at <= as_of.as_of
    group by all
),

periods as (
    select period from queued
    union select period from decided
    union select period from breaches
    union select period from routes
    union select period from crm
    union select period from llm
)

select
    p.period as {{ period_name }},
    coalesce(q.queued, 0) as queued,
    coalesce(d.decided, 0) as decided,
    coalesce(d.approved, 0) as approved,
    coalesce(d.rejected, 0) as rejected,
    coalesce(d.clarified, 0) as clarified,
    coalesce(r.routed, 0) as routed,
    coalesce(r.sent_to_review, 0) as sent_to_review,
    r.sent_to_review / nullif(r.routed, 0) as exception_rate,
    d.latency_median_hours,
    d.latency_p90_hours,
    coalesce(b.sla_breaches, 0) as sla_breaches,
    coalesce(d.overrides, 0) as overrides,
    coalesce(d.override_base, 0) as override_base,
    d.overrides / nullif(d.override_base, 0) as override_rate,
    coalesce(c.crm_attempts, 0) as crm_attempts,
    coalesce(c.crm_errors, 0) as crm_errors,
    coalesce(c.crm_retries, 0) as crm_retries,
    c.crm_errors / nullif(c.crm_attempts, 0) as crm_error_rate,
    c.crm_retries / nullif(c.crm_attempts, 0) as crm_retry_rate,
    coalesce(l.llm_calls, 0) as llm_calls,
    coalesce(l.llm_errors, 0) as llm_errors,
    coalesce(l.llm_retries, 0) as llm_retries,
    l.llm_errors / nullif(l.llm_calls, 0) as llm_error_rate,
    l.llm_retries / nullif(l.llm_calls, 0) as llm_retry_rate
from periods p
left join queued q using (period)
left join decided d using (period)
left join breaches b using (period)
left join routes r using (period)
left join crm c using (period)
left join llm l using (period)
where p.period is not null
{% endmacro %}
