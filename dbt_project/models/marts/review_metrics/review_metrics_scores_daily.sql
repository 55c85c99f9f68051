{{ config(materialized='view') }}  {#- live: always the numbers `leadgate metrics` shows, in the read copy too -#}
-- The score distribution of routing decisions per UTC day and tier, in bins of 0.1 (bin 0 = [0, 0.1)).
select
    {{ utc_day('decided_at') }} as day,
    tier,
    cast(least(floor(score * 10), 9) as integer) as score_bin,
    count(*) as decisions
from {{ ref('stg_audit_log__decisions') }}
where kind = 'route' and score is not null and decided_at <= ({{ review_metrics_as_of() }})
group by all
