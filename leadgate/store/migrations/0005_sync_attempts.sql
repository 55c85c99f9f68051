-- Every write attempt to a CRM, one row per record per attempt (retries included), so an analyst can
-- answer "what did we send for this lead, and when". Append-only; request/response hold what went
-- over the wire for that record (personal data: `leadgate forget` must erase rows by lead_id).

create sequence if not exists sync.attempt_seq;
create table if not exists sync.attempts (
    attempt_id bigint primary key default nextval('sync.attempt_seq'),
    run_id varchar,
    crm varchar not null,                  -- salesforce | hubspot
    lead_id varchar not null,
    payload_hash varchar,                  -- the outbox payload this attempt carried
    request json,                          -- the record as sent (CRM field names and values)
    response json,                         -- the CRM's answer for this record, or the batch-level error
    outcome varchar not null,              -- acknowledged | rejected | converted | already_contact | retry
    crm_record_id varchar,
    error_code varchar,
    message varchar,
    http_status integer,                   -- null when no answer came (timeout, dropped connection)
    attempted_at timestamptz not null
);
create index if not exists sync_attempts_lead on sync.attempts (crm, lead_id);
