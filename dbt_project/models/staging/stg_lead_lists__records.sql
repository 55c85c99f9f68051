-- Imported lead-list records, one row per external key; people `leadgate forget` erased never return.
with source as (

    select * from {{ source('lead_lists', 'records') }}

),

erased as (

    select key from {{ source('leadgate', 'erasure_list') }} where kind = 'lead_id'

)

select
    key_column,
    list_key,
    -- The one lead-id rule (ingest computed the same into raw for `forget`); a second salt fails the build.
    {{ lead_id("(select lead_id_salt from " ~ ref('stg_leadgate__installations') ~ ")", "coalesce(email, 'key:' || key_column || ':' || list_key)") }}
        as lead_id,
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
