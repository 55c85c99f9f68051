-- Drift alerts (leadgate/review/drift_alerts.py): one row per drift message attempt to the Slack/Teams
-- webhook, with the PSI per drifted feature it announced, so a drift episode is announced once and again
-- only when it gets markedly worse, a new feature drifts, after a calm run, or when the last send failed.
-- No personal data: versions, feature names, PSI values, HTTP status; never the webhook URL.

create sequence if not exists review.drift_alert_seq;
create table if not exists review.drift_alerts (
    alert_id bigint primary key default nextval('review.drift_alert_seq'),
    run_id varchar,                        -- the run whose drift was announced
    model_version varchar not null,
    sent_at timestamptz not null,
    format varchar not null,               -- slack | teams
    why varchar not null,                  -- first | new_feature | worse | after_calm | retry
    psi json not null,                     -- {feature: PSI} of the drifted features announced
    delivered boolean not null,
    http_status integer,
    error varchar
);
