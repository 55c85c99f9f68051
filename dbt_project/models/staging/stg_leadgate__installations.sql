-- The installation's lead-id salt (exactly one row; tests/assert_one_installation.sql checks it).
select
    installation_id,
    lead_id_salt,
    created_at
from {{ source('leadgate', 'installation') }}
