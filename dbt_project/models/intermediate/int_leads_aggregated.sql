-- One row per lead (normalised email): latest attributes, account, behaviour counts, recency
-- windows, gaps, consent and buying-centre size, all relative to the lead's own events (never to
-- today).
with events as (

    select * from {{ ref('int_events_attributed') }}
    where lead_email is not null

),

free_mail as (

    select domain_pattern from {{ ref('stg_reference__free_mail_domains') }}

),

consent_event_types as (

    select term, grants from {{ ref('stg_reference__consent_vocabulary') }}

),

-- An event's explicit consent signal: its consent field, or an event type in the consent vocabulary
-- (unsubscribe, opt_out, resubscribe, ...); a refusal in either wins. A consent field outside the
-- vocabulary ('ｎｏ', 'declined_all') is an 'unknown' signal: it never reads as a grant (not even
-- from a granting event type such as 'consent'), and it ends an earlier grant.
signalled as (

    select
        events.*,
        case
            when events.consent = false or consent_event_types.grants = false or events.consent_refused_by_copy
                then 'withdrawn'
            when events.consent_unreadable then 'unknown'
            when events.consent or consent_event_types.grants then 'granted'
        end as consent_signal
    from events
    left join consent_event_types
        on consent_event_types.term = {{ consent_term('events.event_type') }}

),

aggregated as (

    select
        lead_id,
        any_value(lead_email) as email,
        arg_max(first_name, {{ event_order() }}) filter (where first_name is not null) as first_name,
        arg_max(last_name, {{ event_order() }}) filter (where last_name is not null) as last_name,
        arg_max(job_title, {{ event_order() }}) filter (where job_title is not null) as job_title,
        arg_max(phone, {{ event_order() }}) filter (where phone is not null) as phone,
        arg_max(company, {{ event_order() }}) filter (where company is not null) as company,
        arg_max(company_domain, {{ event_order() }}) filter (where company_domain is not null) as company_domain,
        arg_max(industry, {{ event_order() }}) filter (where industry is not null) as industry,
        arg_max(country, {{ event_order() }}) filter (where country is not null) as country,
        arg_max(
            {'text': company_size, 'min': company_size_min, 'max': company_size_max}, {{ event_order() }}
        ) filter (where company_size is not null) as latest_size,
        min(occurred_at) as first_touch_at,
        max(occurred_at) as last_touch_at,
        count(*) as event_count,
        count(*) filter (where was_anonymous) as anonymous_event_count,
        count_if(event_type = 'page_view') as page_views,
        count_if(event_type = 'pricing_view') as pricing_views,
        count_if(event_type = 'demo_request') as demo_requests,
        count_if(event_type = 'content_download') as content_downloads,
        count_if(event_type = 'form_submit') as form_submits,
        count_if(event_type = 'email_reply') as email_replies,
        count_if(event_type = 'email_open') as email_opens,
        count_if(event_type = 'meeting_request') as meeting_requests,
        count_if(event_type = 'chat_message') as chat_messages,
        -- At equal timestamps a withdrawal beats an unknown, which beats a grant: when in doubt, do not contact.
        arg_max(
            consent_signal, (occurred_at, consent_signal = 'withdrawn', consent_signal = 'unknown', source, event_id)
        ) filter (where consent_signal is not null) as latest_consent_signal,
        arg_max(message, {{ event_order() }}) filter (where message is not null) as latest_message,
        max(occurred_at) filter (where message is not null) as latest_message_at,
        arg_min(utm_source, {{ event_order() }}) filter (where utm_source is not null) as first_utm_source,
        arg_min(utm_campaign, {{ event_order() }}) filter (where utm_campaign is not null) as first_utm_campaign,
        -- list_distinct rather than a DISTINCT aggregate, which would make DuckDB buffer every column.
        array_to_string(list_sort(list_distinct(list(source))), ',') as sources
    from signalled
    group by lead_id

),

-- Windows and gaps only need (lead, instant): windowing that narrow projection (read straight
-- from the table, not from the wide CTE above) is much cheaper than sorting every column.
touches as (

    select
        lead_id,
        occurred_at,
        max(occurred_at) over (partition by lead_id) as lead_last_touch_at,
        lag(occurred_at) over by_time as previous_at,
        lead(occurred_at) over by_time as next_at
    from {{ ref('int_events_attributed') }}
    where lead_email is not null
    window by_time as (partition by lead_id order by occurred_at)

),

recency as (

    select
        lead_id,
        count_if(occurred_at >= lead_last_touch_at - interval 7 days) as events_7d,
        count_if(occurred_at >= lead_last_touch_at - interval 30 days) as events_30d,
        coalesce(max(epoch_us(occurred_at) - epoch_us(previous_at)), 0) as longest_gap_us
    from touches
    group by lead_id

),

with_domains as (

    select
        aggregated.*,
        recency.* exclude (lead_id),
        {{ email_domain('aggregated.email') }} as email_domain
    from aggregated
    join recency on recency.lead_id = aggregated.lead_id

),

-- A free-mail domain says nothing about the employer, even when typed as the company domain.
accounted as (

    select
        *,
        {{ account_id('company_domain', 'email_domain') }} as account_id
    from with_domains

),

-- Buying centre: distinct leads of the same account (this one included) with an event in the 30
-- days up to this lead's last touch. A lead counts at instant t when t lies in [e, e + 30 days]
-- for one of its events e. Those intervals merge into runs (events at most 30 days apart), so
-- a sweep over each account's run starts (+1) and run ends + 30 days (-1) in time order counts
-- the leads active at every instant in O(n log n), where pairing leads would be quadratic in big
-- accounts.
sweep as (

    -- At equal instants starts come before a lead's own question and ends after it (closed intervals).
    select accounted.account_id, touches.occurred_at as instant, 0 as step, 1 as delta, null as lead_id
    from touches
    join accounted on accounted.lead_id = touches.lead_id
    where accounted.account_id is not null
      and (touches.previous_at is null or touches.occurred_at > touches.previous_at + interval 30 days)
    union all
    select account_id, last_touch_at, 1, 0, lead_id
    from accounted
    where account_id is not null
    union all
    select accounted.account_id, touches.occurred_at + interval 30 days, 2, -1, null
    from touches
    join accounted on accounted.lead_id = touches.lead_id
    where accounted.account_id is not null
      and (touches.next_at is null or touches.next_at > touches.occurred_at + interval 30 days)

),

buying_centres as (

    select lead_id, buying_centre_size
    from (
        select
            lead_id,
            sum(delta) over (partition by account_id order by instant, step rows unbounded preceding)
                as buying_centre_size
        from sweep
    )
    where lead_id is not null

)

select
    accounted.lead_id,
    accounted.email,
    accounted.email_domain,
    accounted.first_name,
    accounted.last_name,
    accounted.job_title,
    accounted.phone,
    {{ seniority('accounted.job_title') }} as seniority,
    accounted.company,
    accounted.company_domain,
    accounted.account_id,
    accounted.industry,
    accounted.country,
    accounted.latest_size.text as company_size,
    accounted.latest_size.min as company_size_min,
    accounted.latest_size.max as company_size_max,
    accounted.first_touch_at,
    accounted.last_touch_at,
    accounted.event_count,
    accounted.anonymous_event_count,
    accounted.page_views,
    accounted.pricing_views,
    accounted.demo_requests,
    accounted.content_downloads,
    accounted.form_submits,
    accounted.email_replies,
    accounted.email_opens,
    accounted.meeting_requests,
    accounted.chat_messages,
    accounted.events_7d,
    accounted.events_30d,
    -- Without an account the buying centre is the lead alone.
    coalesce(buying_centres.buying_centre_size, 1) as buying_centre_size,
    accounted.longest_gap_us >= 90 * 86400 * 1000000::bigint as was_dormant_reactivated,
    cast(accounted.longest_gap_us // (86400 * 1000000::bigint) as integer) as longest_gap_days,
    -- Whether the status allows contact is the policy's call (consent.unknown), passed in by leadgate.
    {{ consent_allows("coalesce(accounted.latest_consent_signal, 'unknown')") }} as has_consent,
    coalesce(accounted.latest_consent_signal, 'unknown') as consent_status,
    accounted.latest_message,
    accounted.latest_message_at,
    accounted.first_utm_source,
    accounted.first_utm_campaign,
    accounted.sources
from accounted
left join buying_centres on buying_centres.lead_id = accounted.lead_id
