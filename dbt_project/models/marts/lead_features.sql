-- One row per lead: who they are, their account, what they did and when, and a hash of it all.
with leads as (

    select * from {{ ref('int_leads_merged') }}

),

companies as (

    select company_domain, target_account_name
    from {{ ref('int_companies_resolved') }}

),

-- The latest imported record speaks for a lead (as in int_leads_merged); its custom attributes as one
-- JSON object, numbers as numbers, for the model (leadgate/model/attributes.py). Values that look
-- like an email address stay out: personal data never reaches a feature snapshot.
latest_records as (

    select lead_id, key_column, list_key
    from {{ ref('stg_lead_lists__records') }}
    qualify row_number() over (partition by lead_id order by imported_at desc, list_key desc) = 1

),

attributes as (

    select
        latest_records.lead_id,
        to_json(map_from_entries(list({
            'k': attrs.name,
            'v': case when attrs.kind = 'numeric' then to_json(attrs.value_num) else to_json(attrs.value_text) end
        } order by attrs.name))) as custom_attributes
    from latest_records
    join {{ ref('stg_lead_lists__attributes') }} as attrs
        on attrs.key_column = latest_records.key_column and attrs.list_key = latest_records.list_key
    where not regexp_full_match(coalesce(attrs.value_text, ''), '[^@\s]+@[^@\s]+\.[^@\s]+')
    group by latest_records.lead_id

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
        leads.sources,
        attributes.custom_attributes
    from leads
    left join companies on companies.company_domain = leads.account_id
    left join attributes on attributes.lead_id = leads.lead_id

)

select
    *,
    -- A row cast to text quotes strings and keeps NULL apart from 'NULL'; instants enter as
    -- epoch microseconds so the hash never depends on a session time zone. Custom attributes are
    -- appended only when there are some: the hash of a lead without them is the one it always had.
    md5(cast(row(
        email, first_name, last_name, job_title, phone, seniority, company, company_domain,
        account_id, industry, country, company_size, company_size_min, company_size_max,
        is_target_account, target_account_name, epoch_us(first_touch_at), epoch_us(last_touch_at),
        event_count, anonymous_event_count, page_views, pricing_views, demo_requests,
        content_downloads, form_submits, email_replies, email_opens, meeting_requests,
        chat_messages, events_7d, events_30d, buying_centre_size, was_dormant_reactivated,
        longest_gap_days, has_consent, consent_status, latest_message, epoch_us(latest_message_at),
        first_utm_source, first_utm_campaign, sources
    ) as varchar) || coalesce(cast(custom_attributes as varchar), '')) as feature_hash
from features
