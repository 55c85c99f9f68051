{#-
  "The recent events of a lead", ranked once for every reader: the review item's timeline
  (`event_rank <= 10`), the review page's messages (`message_rank <= 50`) and the messages the LLM
  scorer quotes (`distinct_message_rank <= 3`). Newest first in one total order: occurred_at, then
  event_id, then source, all descending, so ties between events always come out the same way.

  A row is kept when any reader can show it; the caps below are the most any reader shows today.
  Raise a cap here before a reader asks for more.
-#}
{%- set timeline_events = 10 -%}
{%- set messages = 50 -%}
{%- set distinct_messages = 3 -%}

with events as (
    select
        lead_id,
        source,
        event_id,
        event_type,
        occurred_at,
        page_url,
        message,
        -- What counts as a message: some text once trimmed (the page shows `message` as written).
        nullif(trim(message), '') as message_text
    from {{ ref('lead_events') }}
),

ranked as (
    -- One sort of all events; the message count rides on the same window.
    select
        *,
        row_number() over newest_first as event_rank,
        case when message_text is not null then count(message_text) over newest_first end as message_rank
    from events
    window newest_first as (
        partition by lead_id order by occurred_at desc, event_id desc, source desc
        rows between unbounded preceding and current row
    )
),

newest_of_each_text as (
    -- The LLM quotes a repeated message once, where it was last written. Only rows with a message.
    select lead_id, event_rank
    from ranked
    where message_text is not null
    qualify row_number() over (partition by lead_id, message_text order by event_rank) = 1
),

distinct_texts as (
    select
        lead_id,
        event_rank,
        row_number() over (partition by lead_id order by event_rank) as distinct_message_rank
    from newest_of_each_text
    qualify distinct_message_rank <= {{ distinct_messages }}
)

select
    r.lead_id,
    r.source,
    r.event_id,
    r.event_type,
    r.occurred_at,
    r.page_url,
    r.message,
    r.message_text,
    r.event_rank,
    r.message_rank,
    d.distinct_message_rank
from ranked as r
left join distinct_texts as d using (lead_id, event_rank)
where r.event_rank <= {{ timeline_events }}
   or r.message_rank <= {{ messages }}
   or d.distinct_message_rank is not null
