-- Decisions without the lead id: kind, outcome, tier and score, for rates and distributions.
select
    decision_id,
    decided_at,
    kind,
    actor,
    to_state,
    coalesce(tier, 'untiered') as tier,
    score
from {{ source('audit_log', 'decisions') }}
