-- Lead ids are derived from the installation's salt: with none, or several, every lead id would be
-- missing or duplicated, so nothing downstream may be built.
select count(*) as installations
from {{ ref('stg_leadgate__installations') }}
having count(*) <> 1
