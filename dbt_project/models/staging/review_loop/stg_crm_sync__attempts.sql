-- CRM write attempts without what was sent: when, which CRM, the outcome.
-- depends_on: {{ ref('stg_leadgate__installations') }} (a database mixing two installations builds no metrics either)
select
    attempt_id,
    attempted_at,
    crm,
    outcome,
    http_status
from {{ source('crm_sync', 'attempts') }}
