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

firsts as (
    select
        *,
        -- The newest occurrence of each distinct text: the LLM quotes a repeated message once.
        message_text is not null
        and row_number() over (
            partition by lead_id, message_text order by occurred_at desc, event_id desc, source desc
        ) = 1 as is_newest_of_its_text
    from events
),

ranked as (
    select
        lead_id,
        source,
        event_id,
        event_type,
        occurred_at,
        page_url,
        message,
        message_text,
        row_number() over newest_first as event_rank,
        case when message_text is not null then count(message_text) over newest_first end as message_rank,
        case
            when is_newest_of_its_text then count(case when is_newest_of_its_text then 1 end) over newest_first
        end as distinct_message_rank
    from firsts
    window newest_first as (
        partition by lead_id order by occurred_at desc, event_id desc, source desc
        rows between unbounded preceding and current row
    )
)

select *
from ranked
where event_rank <= {{ timeline_events }}
   or message_rank <= {{ messages }}
   or distinct_message_rank <= {{ distinct_messages }}
