-- Imported lead-list records, one row per external key; people `leadgate forget` erased never return.
with source as (

    select * from {{ source('lead_lists', 'records') }}

),

erased as (

    select key from {{ source('leadgate', 'erasure_list') }} where kind = 'lead_id'

)

select
    list_key,
    lead_id,
    email,
    first_name,
    last_name,
    job_title,
    phone,
    company,
    company_domain,
    industry,
    country,
    company_size,
    company_size_min,
    company_size_max,
    import_id,
    source_file,
    imported_at
from source
where lead_id not in (select key from erased)
