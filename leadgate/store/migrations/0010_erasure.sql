-- `leadgate forget`: the erasure list every writer consults, and the journal that lets an interrupted
-- erasure be finished. No personal data: emails and anonymous ids only as salted SHA-256 hashes.

-- Who was forgotten. kind = email | anonymous_id: key = sha256(installation salt || ':' || value), the
-- value as ingest stores it (the normalised email, the anonymous id). kind = lead_id: the lead id itself
-- (already a salted hash of the email, kept by audit rows too).
create table if not exists meta.erasure_list (
    kind varchar not null,
    key varchar not null,
    erasure_id varchar not null,
    erased_at timestamptz not null,
    primary key (kind, key)
);

-- One row per erasure still being finished: step erased (rows deleted, the file still has the old bytes)
-- -> rewritten (the database file was rewritten) -> done (the read-only copy was published without them).
create table if not exists meta.erasure_journal (
    erasure_id varchar primary key,
    lead_id varchar,
    step varchar not null,
    started_at timestamptz not null,
    updated_at timestamptz not null
);
