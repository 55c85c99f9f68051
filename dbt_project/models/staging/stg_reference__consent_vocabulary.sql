-- The consent vocabulary (seeds/consent_vocabulary.csv, also read by ingest): canonical term -> grant or refusal.
select
    term,
    grants
from {{ ref('consent_vocabulary') }}
