{#-
  Incremental by reconciliation: each run computes the wanted rows and MERGEs them, writing only
  what changed. That stays correct when identity stitching re-attributes old anonymous events,
  and when `leadgate forget` erased rows from raw and from this table directly: rows whose event
  left raw are deleted here too ("not matched by source"). A --full-refresh rebuilds the same rows.
-#}
{%- set compared = ['lead_id', 'event_type', 'occurred_at', 'page_url', 'message',
                    'utm_source', 'utm_campaign', 'was_anonymous'] -%}
{%- set changed -%}
    ({%- for column in compared -%}
        DBT_INTERNAL_DEST.{{ column }} is distinct from DBT_INTERNAL_SOURCE.{{ column }}
        {%- if not loop.last %} or {% endif -%}
    {%- endfor -%})
{%- endset -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['source', 'event_id'],
        on_schema_change='fail',
        merge_clauses={
            'when_matched': [{'action': 'update', 'mode': 'by_name', 'condition': changed}],
            'when_not_matched': [
                {'action': 'insert', 'mode': 'by_name'},
                {'by': 'source', 'action': 'delete'},
            ],
        },
    )
}}

-- One row per identified event (own email or stitched anonymous id), for the review's timeline.
select
    lead_id,
    source,
    event_id,
    event_type,
    occurred_at,
    page_url,
    message,
    utm_source,
    utm_campaign,
    was_anonymous
from {{ ref('int_events_attributed') }}
where lead_id is not null
