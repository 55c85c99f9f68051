-- leadgate app-owned state. dbt never builds into these schemas, so a full refresh cannot wipe
-- a human decision. Personal data lives only in raw.*, review.items and sync.outbox payloads;
-- audit.* and scoring.* are keyed by lead_id and carry none.

create schema if not exists raw;
create schema if not exists scoring;
create schema if not exists review;
create schema if not exists sync;
create schema if not exists audit;
create schema if not exists quality;
create schema if not exists lifecycle;

-- A per-installation secret mixed into lead ids, so a lead id cannot be recomputed from an email
-- outside this database.
create table if not exists meta.installation (
    installation_id varchar not null,
    lead_id_salt varchar not null,
    created_at timestamptz not null default now()
);
insert into meta.installation (installation_id, lead_id_salt)
select cast(uuid() as varchar), md5(cast(uuid() as varchar) || cast(random() as varchar))
where not exists (select 1 from meta.installation);

-- One row per pipeline run (flow or CLI), with its summary.
create table if not exists meta.runs (
    run_id varchar primary key,
    kind varchar not null,                 -- pipeline | ingest | rescore | sync
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,               -- running | completed | failed
    sync_mode varchar,
    crm varchar,
    policy_version varchar,
    prefect_flow_run_id varchar,
    summary json,
    error varchar
);

-- ---------------------------------------------------------------- raw: ingest
create table if not exists raw.ingested_files (
    file_hash varchar primary key,         -- sha256 of the file content
    path varchar not null,
    size_bytes bigint not null,
    mtime_ns bigint,
    format varchar not null,               -- jsonl | csv
    load_id varchar not null,
    records bigint not null,
    accepted bigint not null,
    rejected bigint not null,
    duplicates bigint not null,            -- includes conflicting duplicates
    conflicts bigint not null,             -- duplicates whose content differs from the first
    field_issues bigint not null,
    ingested_at timestamptz not null
);

create table if not exists raw.engagement_events (
    source varchar not null,
    event_id varchar not null,
    event_type varchar not null,
    occurred_at timestamptz not null,
    email varchar,                         -- normalised: trimmed, lower case
    anonymous_id varchar,
    first_name varchar,
    last_name varchar,
    job_title varchar,
    phone varchar,
    company varchar,
    company_domain varchar,                -- normalised: lower case, no scheme/www/path
    industry varchar,
    country varchar,
    company_size varchar,                  -- validated: '250' or '51-200' or '10000+'
    page_url varchar,
    message varchar,
    utm_source varchar,
    utm_campaign varchar,
    consent boolean,
    extra json,                            -- unknown fields, kept as they came
    content_hash varchar not null,         -- hash of the record's content, for conflict detection
    load_id varchar not null,
    source_file varchar not null,
    line_no bigint not null,               -- physical line (CSV header is line 1)
    ingested_at timestamptz not null
);

create table if not exists raw.rejected_events (
    load_id varchar not null,
    source_file varchar not null,
    line_no bigint not null,
    raw_text varchar,
    reason varchar not null,
    rejected_at timestamptz not null
);

create table if not exists raw.field_issues (
    load_id varchar not null,
    source varchar,
    event_id varchar,
    source_file varchar not null,
    line_no bigint not null,
    field varchar not null,
    raw_value varchar,
    problem varchar not null,
    recorded_at timestamptz not null
);

create table if not exists raw.duplicate_events (
    load_id varchar not null,
    source_file varchar not null,
    line_no bigint not null,
    source varchar not null,
    event_id varchar not null,
    conflicting boolean not null,          -- content differs from the event already loaded
    first_load_id varchar,
    raw_text varchar,                      -- kept for conflicting duplicates only
    recorded_at timestamptz not null
);

-- ---------------------------------------------------------------- scoring
create sequence if not exists scoring.score_seq;
create table if not exists scoring.scores (
    score_id bigint primary key default nextval('scoring.score_seq'),
    run_id varchar,
    lead_id varchar not null,
    scored_at timestamptz not null,
    scorer varchar not null,               -- baseline | llm
    scorer_version varchar not null,
    model_version varchar,                 -- LLM model name, when an LLM scored
    prompt_version varchar,
    input_hash varchar,
    policy_version varchar not null,
    feature_hash varchar not null,
    score double not null,
    confidence double not null,
    qualified boolean not null,
    fit_points double,
    engagement_points double,
    reasons json,                          -- [{"feature","points","detail"}] ordered by |points|
    details json
);

-- ---------------------------------------------------------------- quality
create table if not exists quality.validations (
    run_id varchar,
    batch_id varchar not null,
    suite varchar not null,
    expectation varchar not null,          -- expectation type + column
    success boolean not null,
    element_count bigint,
    unexpected_count bigint,
    unexpected_lead_ids json,
    batch_failed_share double,
    batch_blocked boolean not null,
    validated_at timestamptz not null
);

-- ---------------------------------------------------------------- lifecycle
create table if not exists lifecycle.lead_states (
    lead_id varchar primary key,
    state varchar not null,                -- pending|qualified|nurture|needs_review|rejected|clarification_requested|synced
    reason_codes varchar[] not null,
    feature_hash varchar,                  -- features the state was decided on
    score_id bigint,
    policy_version varchar,
    decided_by varchar not null,           -- policy:<scorer> | reviewer:<name> | sync:<crm> | pipeline
    changed_at timestamptz not null
);

-- ---------------------------------------------------------------- review
create sequence if not exists review.item_seq;
create table if not exists review.items (
    item_id bigint primary key default nextval('review.item_seq'),
    lead_id varchar not null,
    feature_hash varchar,
    score_id bigint,
    email varchar,
    full_name varchar,
    company varchar,
    job_title varchar,
    score double,
    confidence double,
    reasons json,                          -- top scoring reasons
    reason_codes varchar[] not null,       -- why it is in review
    summary varchar,                       -- the ambiguity in plain language
    latest_message varchar,
    recent_events json,
    status varchar not null,               -- pending|approved|rejected|clarification_requested|superseded
    reviewer varchar,
    note varchar,
    question varchar,
    policy_version varchar,
    created_at timestamptz not null,
    decided_at timestamptz
);

-- ---------------------------------------------------------------- sync
create table if not exists sync.outbox (
    crm varchar not null,                  -- none | salesforce | hubspot
    lead_id varchar not null,
    payload json not null,
    payload_hash varchar not null,
    reason varchar not null,               -- why it is owed: new | changed | retry
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (crm, lead_id)
);

create table if not exists sync.state (
    crm varchar not null,
    lead_id varchar not null,
    acked_payload_hash varchar,            -- last payload the CRM acknowledged
    crm_record_id varchar,
    acked_at timestamptz,
    status varchar not null,               -- acknowledged | rejected | converted | already_contact
    rejected_payload_hash varchar,         -- not retried until the payload changes
    last_error varchar,
    updated_at timestamptz not null,
    primary key (crm, lead_id)
);

-- ---------------------------------------------------------------- audit
create sequence if not exists audit.decision_seq;
create table if not exists audit.decisions (
    decision_id bigint primary key default nextval('audit.decision_seq'),
    decided_at timestamptz not null,
    run_id varchar,
    lead_id varchar not null,
    kind varchar not null,                 -- route | review | sync | gate | forget
    actor varchar not null,
    from_state varchar,
    to_state varchar,
    reason_codes varchar[] not null,
    policy_version varchar,
    scorer_version varchar,
    model_version varchar,
    feature_hash varchar,
    score double,
    confidence double,
    details json                           -- never personal data
);
