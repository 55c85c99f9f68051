-- LLM scoring: every HTTP call to the model, and the answer cache that makes unchanged re-runs free.
-- No personal data: lead ids only, and answers computed from scrubbed input.

create table if not exists scoring.llm_calls (
    call_id varchar primary key,
    run_id varchar,
    request_id varchar,                    -- the endpoint's x-request-id, for its support desk
    model varchar not null,
    prompt_version varchar not null,
    kind varchar not null,                 -- score | validate
    batch_size integer not null,
    lead_ids json not null,
    tokens_in bigint not null,
    tokens_out bigint not null,
    latency_ms double,
    outcome varchar not null,              -- ok | rate_limited | server_error | timeout | connection_error | invalid_json
                                           -- | schema_violation | truncated | refusal | wrong_leads | missing_leads | bad_request
    error varchar,
    estimated_cost_usd double,
    called_at timestamptz not null
);

create table if not exists scoring.llm_cache (
    cache_key varchar primary key,         -- sha256(prompt version + prompt text hash + model + input_hash)
    model varchar not null,
    prompt_version varchar not null,
    input_hash varchar not null,           -- sha256 of the exact scrubbed input
    answer json not null,
    created_at timestamptz not null
);
