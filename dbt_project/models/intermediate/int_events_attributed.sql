-- Every event with the lead it belongs to: its own email, else the email its anonymous id was
-- stitched to; lead_id stays null for visitors never linked to an email.
with events as (

    select * from {{ ref('stg_engagement__events') }}

),

identities as (

    select anonymous_id, email from {{ ref('int_identities_stitched') }}

),

attributed as (

    select
        events.* exclude (email, load_id, ingested_at, line_no),
        coalesce(events.email, identities.email) as lead_email,
        identities.email is not null as was_anonymous
    from events
    -- An event's own email always wins over the stitched one.
    left join identities
        on events.email is null
        and events.anonymous_id = identities.anonymous_id

)

select
    *,
    -- A scalar subquery: a second installation row is an error, never a silent duplication.
    {{ lead_id("(select lead_id_salt from " ~ ref('stg_leadgate__installations') ~ ")", 'lead_email') }}
        as lead_id
from attributed
