-- The review domain (issue 12): every decision by its id (applied, or a conflict found on replay),
-- reviewers' corrections of lead fields beside the original values, clarification drafts with the
-- promise check, and the reject reason code. Lead ids only as keys: `leadgate forget` erases these
-- rows by lead_id like every review table.

create table if not exists review.decision_log (
    decision_uuid varchar primary key,     -- the id the reviewer's client gave the decision (journal replays are idempotent)
    item_id bigint not null,
    lead_id varchar,
    reviewer varchar not null,
    action varchar not null,               -- approve | reject | clarify | reopen
    outcome varchar not null,              -- applied | conflict
    reason varchar,                        -- why a conflict: who decided the item first, or what was invalid
    via varchar not null,                  -- direct | journal
    submitted_at timestamptz not null,
    recorded_at timestamptz not null
);

create sequence if not exists review.edit_seq;
create table if not exists review.lead_edits (
    edit_id bigint primary key default nextval('review.edit_seq'),
    lead_id varchar not null,
    item_id bigint,
    field varchar not null,                -- company_size | company | job_title | country
    original varchar,
    edited varchar not null,
    reviewer varchar not null,
    decision_uuid varchar,
    edited_at timestamptz not null
);

create table if not exists review.clarifications (
    item_id bigint not null,
    lead_id varchar not null,
    decision_uuid varchar,
    draft varchar not null,                -- the email as the reviewer left it; leadgate never sends it
    source varchar not null,               -- template | llm | reviewer
    flagged json,                          -- [{index, hash, sentence, kinds}] promises the reviewer confirmed
    reviewer varchar not null,
    created_at timestamptz not null
);

alter table review.items add column if not exists reject_reason varchar;   -- the policy's review.reject_reasons code
