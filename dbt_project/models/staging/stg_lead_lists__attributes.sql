-- Custom attributes of imported leads: one row per (list key, column) with a present value.
select
    attributes.list_key,
    attributes.lead_id,
    attributes.name,
    attributes.value_text,
    attributes.value_num,
    attributes.kind,
    attributes.import_id
from {{ source('lead_lists', 'attributes') }} as attributes
where attributes.lead_id not in (
    select key from {{ source('leadgate', 'erasure_list') }} where kind = 'lead_id'
)
