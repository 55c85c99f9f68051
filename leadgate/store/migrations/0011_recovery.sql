-- How a run recovers from the one before it (a crash, kill -9 or Ctrl-C):
--   meta.runs gets the process that ran it, so the next start can tell a dead `running` row (abandoned);
--   meta.dbt_builds records what raw data each successful dbt build saw, so "nothing new" means
--   "dbt has built everything in raw", whichever path loaded it;
--   sync.intents is the CRM intent log: written and committed before a send, closed after.

alter table meta.runs add column pid integer;
alter table meta.runs add column host varchar;
alter table meta.runs add column process_started varchar;  -- the process's start mark (tells a reused pid)

create table if not exists meta.dbt_builds (
    run_id varchar,
    built_at timestamptz not null,
    full_refresh boolean not null,
    raw_events bigint not null,            -- raw.engagement_events rows when the build started
    last_ingested_at timestamptz,          -- their latest ingested_at (null: none yet)
    decided_at timestamptz,                -- when scoring/gate/routing finished on this build; null: still owed
    decided_by varchar
);

create table if not exists sync.intents (
    send_id varchar not null,              -- one per send (run_sync call)
    run_id varchar,
    crm varchar not null,
    lead_id varchar not null,
    payload_hash varchar not null,
    status varchar not null,               -- in_flight | completed | unfinished
    outcome varchar,                       -- completed: the recorded outcome
    pid integer,
    host varchar,
    process_started varchar,
    opened_at timestamptz not null,        -- committed before the first request of the send
    closed_at timestamptz,
    note varchar                           -- unfinished: why (the sending process died, or what stopped it)
);
