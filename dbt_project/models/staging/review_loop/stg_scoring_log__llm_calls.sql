-- LLM calls: when, what kind, the outcome.
-- depends_on: {{ ref('stg_leadgate__installations') }} (a database mixing two installations builds no metrics either)
select
    call_id,
    called_at,
    kind,
    outcome
from {{ source('scoring_log', 'llm_calls') }}
