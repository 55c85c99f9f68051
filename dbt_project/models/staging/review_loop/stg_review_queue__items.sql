-- Review items without personal data: when queued and decided, how, why, and the score they carried.
-- depends_on: {{ ref('stg_leadgate__installations') }} (a database mixing two installations builds no metrics either)
select
    item_id,
    score_id,
    score,
    status,
    reason_codes,
    coalesce(tier, 'untiered') as tier,
    created_at as queued_at,
    decided_at
from {{ source('review_queue', 'items') }}
