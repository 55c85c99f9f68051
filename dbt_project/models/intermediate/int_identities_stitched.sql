-- Anonymous visitor ids linked to an email: an event carrying both links every event of that
-- anonymous id to the email; when one id was seen with several emails the earliest link wins.
with events as (

    select * from {{ ref('stg_engagement__events') }}

),

linking_events as (

    select anonymous_id, email, occurred_at, source, event_id
    from events
    where anonymous_id is not null
      and email is not null

)

select
    anonymous_id,
    arg_min(email, {{ event_order() }}) as email,
    min(occurred_at) as linked_at,
    count(distinct email) as candidate_email_count
from linking_events
group by anonymous_id
