{{ config(materialized='view') }}  {#- live: always the numbers `leadgate metrics` shows, in the read copy too -#}
-- Why items were queued, per UTC day and reason code (an item with two codes counts under each).
select
    {{ utc_day('queued_at') }} as day,
    reason_code,
    count(*) as items
from {{ ref('review_metrics_items') }}, unnest(reason_codes) as r(reason_code)
group by all
