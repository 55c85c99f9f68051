-- Conflicting duplicates are found by hashing the stored columns of the few events that share a
-- (source, event_id), when they are found; a hash column written for every event cost ingest about
-- 10% of its time and was never read otherwise.

alter table raw.engagement_events drop column content_hash;
