-- One row per lead: what leadgate thinks of it now (latest score, state, tier), findable by the
-- external key it was imported with. A view: scores and states are written after dbt builds, so
-- a table would always be one run behind.
{{ config(materialized='view') }}

with leads as (

    select lead_id, email from {{ ref('lead_features') }}

),

keys as (

    -- A lead imported under several keys (same email) is found by any of them; the latest names it.
    select
        lead_id,
        arg_max(list_key, (imported_at, key_column, list_key)) as external_key,
        arg_max(key_column, (imported_at, key_column, list_key)) as external_key_column
    from {{ ref('stg_lead_lists__records') }}
    group by lead_id

),

latest_scores as (

    select *
    from {{ source('scoring', 'scores') }}
    qualify row_number() over (partition by lead_id order by scored_at desc, score_id desc) = 1

),

states as (

    select lead_id, state, tier from {{ source('lifecycle', 'lead_states') }}

)

select
    leads.lead_id,
    keys.external_key,
    keys.external_key_column,
    leads.email,
    latest_scores.score,
    latest_scores.confidence,
    states.state,
    states.tier,
    latest_scores.scorer,
    latest_scores.scorer_version,
    latest_scores.model_version,
    latest_scores.scored_at
from leads
left join keys on keys.lead_id = leads.lead_id
left join latest_scores on latest_scores.lead_id = leads.lead_id
left join states on states.lead_id = leads.lead_id
