-- What the machine would have done with each score: qualify it or not.
select
    score_id,
    qualified
from {{ source('scoring_log', 'scores') }}
