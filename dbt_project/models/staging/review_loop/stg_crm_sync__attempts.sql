-- CRM write attempts without what was sent: when, which CRM, the outcome.
select
    attempt_id,
    attempted_at,
    crm,
    outcome,
    http_status
from {{ source('crm_sync', 'attempts') }}
