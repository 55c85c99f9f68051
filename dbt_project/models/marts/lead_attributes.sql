-- Custom attributes of imported leads for analysts and the model: numeric ones as value_num,
-- categorical ones as value_text (missing placeholders were never stored).
select
    lead_id,
    key_column,
    list_key,
    name,
    kind,
    value_text,
    value_num
from {{ ref('stg_lead_lists__attributes') }}
