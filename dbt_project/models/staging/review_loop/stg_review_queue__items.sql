-- Review items without personal data: when queued and decided, how, why, and the score they carried.
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
