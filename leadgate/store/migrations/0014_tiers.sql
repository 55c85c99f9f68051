-- Routing by tier (issue 11): each decision records its qualification tier and recommended next
-- action; review items carry a priority (the queue's default order) and what the unknown fields
-- decide (the score's range over the values they could take). Nullable: rows decided before this
-- migration have none.

alter table review.items add column if not exists tier varchar;
alter table review.items add column if not exists next_action varchar;
alter table review.items add column if not exists priority double;
alter table review.items add column if not exists unknowns json;     -- [{field, low, high, decides}]
alter table lifecycle.lead_states add column if not exists tier varchar;
alter table lifecycle.lead_states add column if not exists next_action varchar;
alter table audit.decisions add column if not exists tier varchar;
alter table audit.decisions add column if not exists next_action varchar;
