-- One row per lead: who they are, their account, what they did and when, and a hash of it all.
with leads as (

    select * from {{ ref('int_leads_merged') }}

),

companies as (

    select company_domain, target_account_name
    from {{ ref('int_companies_resolved') }}

),

features as (

    select
        leads.lead_id,
        leads.email,
        leads.first_name,
        leads.last_name,
        leads.job_title,
        leads.phone,
        leads.seniority,
        leads.company,
        leads.company_domain,
        leads.account_id,
        leads.industry,
        leads.country,
        leads.company_size,
        leads.company_size_min,
        leads.company_size_max,
        companies.target_account_name is not null as is_target_account,
        companies.target_account_name,
        leads.first_touch_at,
        leads.last_touch_at,
        leads.event_count,
        leads.anonymous_event_count,
        leads.page_views,
        leads.pricing_views,
        leads.demo_requests,
        leads.content_downloads,
        leads.form_submits,
        leads.email_replies,
        leads.email_opens,
        leads.meeting_requests,
        leads.chat_messages,
        leads.events_7d,
        leads.events_30d,
        leads.buying_centre_size,
        leads.was_dormant_reactivated,
        leads.longest_gap_days,
        leads.has_consent,
        leads.consent_status,
        leads.latest_message,
        leads.latest_message_at,
        leads.first_utm_source,
        leads.first_utm_campaign,
        leads.sources
    from leads
    left join companies on companies.company_domain = leads.account_id

)

select
    *,
    -- A row cast to text quotes strings and keeps NULL apart from 'NULL'; instants enter as
    -- epoch microseconds so the hash never depends on a session time zone.
    md5(cast(row(
        email, first_name, last_name, job_title, phone, seniority, company, company_domain,
        account_id, industry, country, company_size, company_size_min, company_size_max,
        is_target_account, target_account_name, epoch_us(first_touch_at), epoch_us(last_touch_at),
        event_count, anonymous_event_count, page_views, pricing_views, demo_requests,
        content_downloads, form_submits, email_replies, email_opens, meeting_requests,
        chat_messages, events_7d, events_30d, buying_centre_size, was_dormant_reactivated,
        longest_gap_days, has_consent, consent_status, latest_message, epoch_us(latest_message_at),
        first_utm_source, first_utm_campaign, sources
    ) as varchar)) as feature_hash
from features
