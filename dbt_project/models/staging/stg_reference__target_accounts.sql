-- Named target accounts, domains normalised like event domains so they join.
with source as (

    select * from {{ ref('target_accounts') }}

)

select
    {{ normalise_domain('account_domain') }} as account_domain,
    trim(account_name) as account_name,
    tier,
    nullif(trim(owner_team), '') as owner_team
from source
