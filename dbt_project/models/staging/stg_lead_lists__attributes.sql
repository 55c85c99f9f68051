-- Custom attributes of imported leads: one row per (list key, column) with a present value.
select
    attributes.key_column,
    attributes.list_key,
    records.lead_id,
    attributes.name,
    attributes.value_text,
    attributes.value_num,
    attributes.kind,
    attributes.import_id
from {{ source('lead_lists', 'attributes') }} as attributes
join {{ ref('stg_lead_lists__records') }} as records on records.key_column = attributes.key_column and records.list_key = attributes.list_key
