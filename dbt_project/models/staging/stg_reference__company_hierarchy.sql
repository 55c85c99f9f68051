-- Subsidiary -> direct parent, domains normalised like event domains so they join.
with source as (

    select * from {{ ref('company_hierarchy') }}

)

select
    {{ normalise_domain('company_domain') }} as company_domain,
    {{ normalise_domain('parent_domain') }} as parent_domain,
    nullif(trim(company_name), '') as company_name
from source
