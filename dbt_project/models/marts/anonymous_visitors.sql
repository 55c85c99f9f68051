-- Visitors whose anonymous id was never seen together with an email: counted, not leads.
select
    anonymous_id,
    count(*) as event_count,
    min(occurred_at) as first_seen_at,
    max(occurred_at) as last_seen_at
from {{ ref('int_events_attributed') }}
where lead_id is null
  and anonymous_id is not null
group by anonymous_id
