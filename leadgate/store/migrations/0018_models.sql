-- Learning from outcomes (issue 13): outcomes per lead, the feature vector each lead was scored with,
-- the model registry (versions, aliases, history), shadow scores and drift. Tables with a `lead_id`
-- (or an `*email*`) column in the scoring schema are erased by `leadgate forget` like the others.

create table if not exists scoring.outcome_imports (
    import_id varchar primary key,
    file varchar not null,
    file_sha256 varchar not null,
    options varchar not null,              -- key, outcome, positive and closed-at columns as given
    imported_at timestamptz not null,
    records bigint not null,
    recorded bigint not null,              -- new or changed outcomes
    unchanged bigint not null,
    rejected bigint not null
);

-- One row per lead: its latest known outcome. Reviewer decisions are another, weaker label
-- (scoring.reviewer_labels below) and never enter this table or any evaluation metric.
create table if not exists scoring.outcomes (
    lead_id varchar primary key,
    external_key varchar,                  -- the key value as the file gave it, when it was not an email
    converted boolean not null,
    closed_at timestamptz,                 -- null: the import time bounds the features used
    recorded_at timestamptz not null,
    import_id varchar not null,
    source_row bigint
);

create table if not exists scoring.outcome_rejects (
    import_id varchar not null,
    source_row bigint not null,            -- physical line, the header is line 1
    email_or_key varchar,                  -- the row's key as given (named so that forget finds an email)
    reason varchar not null,
    rejected_at timestamptz not null
);

-- External keys a lead was imported with (lead lists, CRMs); outcome imports resolve keys through it.
create table if not exists scoring.lead_keys (
    key_source varchar not null,
    external_key varchar not null,
    lead_id varchar not null
);

-- The features a lead was scored with, as of that scoring (no personal data: identities, names and free
-- text are left out; instants are stored as days before scored_at).
create table if not exists scoring.feature_snapshots (
    score_id bigint,
    lead_id varchar not null,
    scored_at timestamptz not null,
    feature_hash varchar,
    last_touch_at timestamptz,             -- the latest event in the row: never after an outcome's closed_at
    completeness double,
    features json not null
);

create table if not exists scoring.model_versions (
    version varchar primary key,
    created_at timestamptz not null,
    family varchar not null,               -- logistic | lightgbm
    calibration varchar not null,          -- isotonic | sigmoid
    fingerprint varchar not null,          -- sha256 of the training rows (features, labels, leads)
    model_dir varchar not null,
    files json not null,                   -- {file name: sha256}, checked on every load
    metrics json not null,                 -- held-out metrics, the selection and calibration scores
    training json not null                 -- rows, positives, split, cut-off, features
);

create table if not exists scoring.model_aliases (
    alias varchar primary key,             -- champion | shadow
    version varchar not null,
    set_at timestamptz not null,
    set_by varchar not null
);

create table if not exists scoring.model_history (
    changed_at timestamptz not null,
    action varchar not null,               -- promote | rollback | shadow | unshadow
    version varchar,
    previous varchar,
    actor varchar not null
);

create table if not exists scoring.model_split (
    version varchar not null,
    lead_id varchar not null,
    part varchar not null                  -- train | test
);

create table if not exists scoring.shadow_scores (
    run_id varchar,
    lead_id varchar not null,
    model_version varchar not null,
    scored_at timestamptz not null,
    feature_hash varchar,
    score double not null,
    confidence double not null,
    qualified boolean not null,
    state varchar not null,                -- the state the shadow's score would have routed to
    champion_score double,
    champion_state varchar                 -- the state the champion's score routed to in the same run
);

create table if not exists scoring.drift (
    run_id varchar,
    model_version varchar not null,
    measured_at timestamptz not null,
    feature varchar not null,              -- `score` or a feature name
    psi double not null,
    drifted boolean not null,
    leads bigint not null
);

create or replace view scoring.reviewer_labels as
select lead_id, decided_at, to_state = 'qualified' as approved, actor
from audit.decisions
where kind = 'review' and to_state in ('qualified', 'rejected');
