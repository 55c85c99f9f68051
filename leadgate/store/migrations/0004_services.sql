-- Services acting on decided leads (review, sync, status, forget).

-- Rows erased by `leadgate forget`, counted per loaded file, so that
-- accepted + rejected + duplicates = records still holds after an erasure. Counts only: no personal data.
create table if not exists raw.erasures (
    load_id varchar not null,
    source_file varchar not null,
    accepted bigint not null,
    rejected bigint not null,
    duplicates bigint not null,
    erased_at timestamptz not null
);
