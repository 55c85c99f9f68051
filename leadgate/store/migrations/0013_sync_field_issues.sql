-- What leadgate changed in a lead's text before sending it to a CRM (a formula prefix neutralised, HTML
-- tags, control or bidi characters removed): one row per lead, payload field and problem. No values are
-- kept; the row goes with the lead when `leadgate forget` erases it (found by its lead_id column).

create table if not exists sync.field_issues (
    lead_id varchar not null,
    field varchar not null,
    problem varchar not null,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    primary key (lead_id, field, problem)
);
