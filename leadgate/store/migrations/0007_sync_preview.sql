-- The payload the CRM last acknowledged, per CRM and lead, so `leadgate sync --preview` can say which
-- CRM fields a new payload changes. Personal data: erased with the row by `leadgate forget`.

alter table sync.state add column if not exists acked_payload json;
