-- Engagement events, typed and normalised; one row per (source, event_id) even if raw ever held two.
with source as (

    select * from {{ source('engagement', 'events') }}

),

-- Ingest never loads a key twice; should raw ever hold one twice, the first loaded copy wins.
-- Aggregating the bare key columns is far cheaper than windowing every row.
duplicate_keys as (

    select source, event_id, min((ingested_at, load_id, line_no)) as first_copy
    from {{ source('engagement', 'events') }}
    group by source, event_id
    having count(*) > 1

),

deduplicated as (

    select source.*
    from source
    anti join duplicate_keys
        on duplicate_keys.source = source.source
        and duplicate_keys.event_id = source.event_id
        and duplicate_keys.first_copy <> (source.ingested_at, source.load_id, source.line_no)

),

-- Consent field issues: a value outside the vocabulary (ingest emptied it) makes the event's consent
-- unknown, a signal too (never a grant, not even from a granting event type); raw_value 'false' (never
-- an unreadable value: 'false' is in the vocabulary) is a later copy of the event refusing consent.
unreadable_consent as (

    select source, event_id, bool_or(raw_value = 'false') as refused_by_copy
    from {{ source('engagement', 'field_issues') }}
    where field = 'consent'
    group by source, event_id

),

renamed as (

    select
        -- Keys stay exactly as loaded: they are how raw, marts and `forget` find an event.
        deduplicated.source,
        deduplicated.event_id,
        lower(trim(event_type)) as event_type,
        occurred_at,
        -- Ingest's normalised address (leadgate/shared/emails.py); never lower(), which maps U+212A to 'k'.
        {{ normalise_email('email') }} as email,
        nullif(trim(anonymous_id), '') as anonymous_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(job_title), '') as job_title,
        nullif(trim(phone), '') as phone,
        nullif(trim(company), '') as company,
        {{ normalise_domain('company_domain') }} as company_domain,
        nullif(trim(industry), '') as industry,
        nullif(trim(country), '') as country,
        -- Ingest's domain and size rules (macros/shared_rules.sql): no change to what ingest wrote.
        {{ company_size_candidate('company_size') }} as size_candidate,
        nullif(trim(page_url), '') as page_url,
        nullif(trim(message), '') as message,
        nullif(trim(utm_source), '') as utm_source,
        nullif(trim(utm_campaign), '') as utm_campaign,
        consent,
        unreadable_consent.event_id is not null as consent_unreadable,
        coalesce(unreadable_consent.refused_by_copy, false) as consent_refused_by_copy,
        load_id,
        ingested_at,
        line_no
    from deduplicated
    left join unreadable_consent
        on unreadable_consent.source = deduplicated.source
        and unreadable_consent.event_id = deduplicated.event_id

),

sized as (

    select
        * exclude (size_candidate),
        -- '250', '10000+' or '51-200'; anything else (a range whose ends are reversed too) stays empty.
        {{ company_size('size_candidate') }} as company_size
    from renamed

),

typed as (

    select
        *,
        try_cast(regexp_extract(company_size, '^\d+') as integer) as company_size_min,
        case
            when suffix(company_size, '+') then null
            else try_cast(regexp_extract(company_size, '\d+$') as integer)
        end as company_size_max
    from sized

),

erased as (

    -- People `leadgate forget` erased (salted hashes, no personal data): never rebuilt, whatever raw holds.
    select kind, key from {{ source('leadgate', 'erasure_list') }} where kind in ('email', 'anonymous_id')

),

salt as (

    select lead_id_salt from {{ source('leadgate', 'installation') }} limit 1

),

erased_events as (

    select typed.source, typed.event_id, typed.anonymous_id
    from typed
    semi join (select key from erased where kind = 'email') as erased_email
        on erased_email.key = {{ erasure_key('(select lead_id_salt from salt)', 'typed.email') }}

)

select typed.*
from typed
anti join erased_events
    on erased_events.source = typed.source and erased_events.event_id = typed.event_id
-- ... and the anonymous events of their visitor ids, listed or linked by one of their events here
anti join (
    select key from erased where kind = 'anonymous_id'
    union
    select distinct {{ erasure_key('(select lead_id_salt from salt)', 'anonymous_id') }} from erased_events
    where anonymous_id is not null
) as erased_visitor
    on typed.email is null
    and erased_visitor.key = {{ erasure_key('(select lead_id_salt from salt)', 'typed.anonymous_id') }}
