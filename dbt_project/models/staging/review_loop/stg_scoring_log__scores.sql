-- What the machine would have done with each score: qualify it or not.
-- depends_on: {{ ref('stg_leadgate__installations') }} (a database mixing two installations builds no metrics either)
select
    score_id,
    qualified
from {{ source('scoring_log', 'scores') }}
