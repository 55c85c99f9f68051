{{ config(materialized='view') }}  {#- live: always the numbers `leadgate metrics` shows, in the read copy too -#}
-- The review loop per UTC day: exception rate, latency, SLA breaches, overrides, CRM and LLM errors.
{{ review_metrics_by('day', 'day') }}
