-- LLM calls: when, what kind, the outcome.
select
    call_id,
    called_at,
    kind,
    outcome
from {{ source('scoring_log', 'llm_calls') }}
