-- Decisions without the lead id: kind, outcome, tier and score, for rates and distributions.
-- depends_on: {{ ref('stg_leadgate__installations') }} (a database mixing two installations builds no metrics either)
select
    decision_id,
    decided_at,
    kind,
    actor,
    to_state,
    coalesce(tier, 'untiered') as tier,
    score
from {{ source('audit_log', 'decisions') }}
