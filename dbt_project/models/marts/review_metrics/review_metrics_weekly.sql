{{ config(materialized='view') }}  {#- live: always the numbers `leadgate metrics` shows, in the read copy too -#}
-- The review loop per ISO week (week_start is its Monday): the same numbers as review_metrics_daily.
{{ review_metrics_by('week', 'week_start') }}
