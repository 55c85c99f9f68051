-- Reviewers of the browser queue (issue 12): a name and an argon2 hash, nothing else (no plain
-- password, no e-mail). A removed reviewer's row is deleted, so its sessions (which carry the
-- reviewer_id) stop working, and adding the name again gives a new id.
-- Sign-in attempts are counted in the server's memory, not here: signing in must keep working
-- while a pipeline run holds this file for writing.

create sequence if not exists review.reviewer_seq;
create table if not exists review.reviewers (
    reviewer_id bigint primary key default nextval('review.reviewer_seq'),
    name varchar not null unique,
    password_hash varchar not null,        -- argon2id, PHC string ($argon2id$v=19$...)
    created_at timestamptz not null
);
