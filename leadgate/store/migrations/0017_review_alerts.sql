-- Review alerts (leadgate/review/alerts.py): one row per message attempt to the Slack/Teams webhook, and
-- the ledger of SLA-overdue items already announced (claimed before the send, released when it fails),
-- so an item is announced once. No personal data: counts, item ids, HTTP status; never the webhook URL.

create sequence if not exists review.alert_seq;
create table if not exists review.alerts (
    alert_id bigint primary key default nextval('review.alert_seq'),
    run_id varchar,                        -- the pipeline run that sent it; null for an SLA check alone
    kind varchar not null,                 -- run | sla
    sent_at timestamptz not null,
    format varchar not null,               -- slack | teams
    new_items integer not null,            -- pending items the run queued
    overdue_items integer not null,        -- pending items past their SLA at the time
    newly_overdue integer not null,        -- of those, announced for the first time
    delivered boolean not null,
    http_status integer,                   -- the webhook's answer; null when none came
    error varchar                          -- why it was not delivered
);

create table if not exists review.sla_alerts (
    item_id bigint primary key,
    alert_id bigint not null,
    alerted_at timestamptz not null
);
