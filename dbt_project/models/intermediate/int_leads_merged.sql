-- Every lead: the event-built leads, with imported lead-list records merged in by lead id (same
-- email -> same lead id). Events win for engagement and for any field they carry; a list record
-- only fills what the events left empty (firmographics, names). A list record without events
-- (or without an email) is a lead of its own: no engagement, consent unknown, first and last
-- touch at its import.
with aggregated as (

    select * from {{ ref('int_leads_aggregated') }}

),

free_mail as (

    select domain_pattern from {{ ref('stg_reference__free_mail_domains') }}

),

-- Several keys may carry the same email: the latest imported record speaks for the lead.
listed as (

    select
        *,
        {{ email_domain('email') }} as email_domain
    from {{ ref('stg_lead_lists__records') }}
    qualify row_number() over (partition by lead_id order by imported_at desc, list_key desc) = 1

),

listed_accounted as (

    select
        *,
        {{ account_id('company_domain', 'email_domain') }} as account_id
    from listed

),

with_events as (

    select
        aggregated.* replace (
            coalesce(aggregated.first_name, listed.first_name) as first_name,
            coalesce(aggregated.last_name, listed.last_name) as last_name,
            coalesce(aggregated.job_title, listed.job_title) as job_title,
            coalesce(aggregated.phone, listed.phone) as phone,
            case when aggregated.job_title is null and listed.job_title is not null
                then {{ seniority('listed.job_title') }} else aggregated.seniority end as seniority,
            coalesce(aggregated.company, listed.company) as company,
            coalesce(aggregated.company_domain, listed.company_domain) as company_domain,
            coalesce(aggregated.account_id, listed.account_id) as account_id,
            coalesce(aggregated.industry, listed.industry) as industry,
            coalesce(aggregated.country, listed.country) as country,
            -- A size is one value (text, min, max): take it whole from one side.
            coalesce(aggregated.company_size, listed.company_size) as company_size,
            case when aggregated.company_size is null then listed.company_size_min
                else aggregated.company_size_min end as company_size_min,
            case when aggregated.company_size is null then listed.company_size_max
                else aggregated.company_size_max end as company_size_max,
            case when listed.lead_id is null then aggregated.sources
                else array_to_string(list_sort(list_distinct(list_append(string_split(aggregated.sources, ','), 'list'))), ',')
            end as sources
        )
    from aggregated
    left join listed_accounted as listed on listed.lead_id = aggregated.lead_id

),

list_only as (

    select
        listed.lead_id,
        listed.email,
        listed.email_domain,
        listed.first_name,
        listed.last_name,
        listed.job_title,
        listed.phone,
        {{ seniority('listed.job_title') }} as seniority,
        listed.company,
        listed.company_domain,
        listed.account_id,
        listed.industry,
        listed.country,
        listed.company_size,
        listed.company_size_min,
        listed.company_size_max,
        listed.imported_at as first_touch_at,
        listed.imported_at as last_touch_at,
        0::bigint as event_count,
        0::bigint as anonymous_event_count,
        0::bigint as page_views,
        0::bigint as pricing_views,
        0::bigint as demo_requests,
        0::bigint as content_downloads,
        0::bigint as form_submits,
        0::bigint as email_replies,
        0::bigint as email_opens,
        0::bigint as meeting_requests,
        0::bigint as chat_messages,
        0::bigint as events_7d,
        0::bigint as events_30d,
        1::bigint as buying_centre_size,
        false as was_dormant_reactivated,
        0 as longest_gap_days,
        {{ consent_allows("'unknown'") }} as has_consent,
        'unknown' as consent_status,
        null::varchar as latest_message,
        null::timestamptz as latest_message_at,
        null::varchar as first_utm_source,
        null::varchar as first_utm_campaign,
        'list' as sources
    from listed_accounted as listed
    anti join aggregated on aggregated.lead_id = listed.lead_id

)

select * from with_events
union all by name
select * from list_only
