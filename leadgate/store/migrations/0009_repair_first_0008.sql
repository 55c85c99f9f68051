-- The first 0008 (0008_content_hash_ubigint.sql) shipped, then was replaced in place by
-- 0008_drop_content_hash.sql. A database that ran the first one recorded version 8, kept a NOT NULL
-- content_hash column that ingest no longer writes, and so refuses every insert. Bring it to the
-- current schema; on every other database this changes nothing.

alter table raw.engagement_events drop column if exists content_hash;
