-- Lead lists (issue 13): lead-level records imported from a CSV (CRM exports, attendee lists,
-- purchased or historical leads) without an event stream, their custom attributes (one row per
-- lead and column, typed per column), the rows refused with a reason, and one row per imported file.

create table if not exists raw.lead_list_imports (
    import_id varchar primary key,
    source_file varchar not null,
    file_sha256 varchar not null unique,      -- the same bytes again change nothing
    key_column varchar not null,
    mapping json not null,                     -- {target field: column}
    rows_read bigint not null,
    accepted bigint not null,
    rejected bigint not null,
    unchanged bigint not null,                 -- rows whose key was already imported with the same values
    imported_at timestamptz not null
);

-- Keys are per key column: badge 17 of an attendee list is not CRM id 17.
create table if not exists raw.lead_list_records (
    key_column varchar not null,               -- the --key column's name, trimmed and lower case
    list_key varchar not null,                 -- the external id people already have (the --key value)
    lead_id varchar not null,                  -- the salted lead-id rule, on the email when there is one
    email varchar,
    first_name varchar,
    last_name varchar,
    job_title varchar,
    phone varchar,
    company varchar,
    company_domain varchar,
    industry varchar,
    country varchar,
    company_size varchar,
    company_size_min integer,
    company_size_max integer,
    content_hash varchar not null,             -- of the mapped fields and attributes, to spot a changed row
    import_id varchar not null,
    source_file varchar not null,
    row_no bigint not null,
    imported_at timestamptz not null,
    primary key (key_column, list_key)
);

create table if not exists raw.lead_attributes (
    key_column varchar not null,
    list_key varchar not null,
    lead_id varchar not null,
    name varchar not null,
    value_text varchar,                        -- as written (trimmed); null when missing
    value_num double,                          -- set for numeric columns
    kind varchar not null,                     -- 'numeric' | 'categorical'
    import_id varchar not null,
    primary key (key_column, list_key, name)
);

create table if not exists raw.rejected_lead_rows (
    import_id varchar not null,
    source_file varchar not null,
    row_no bigint not null,
    list_key varchar,
    raw_text varchar,
    reason varchar not null,
    rejected_at timestamptz not null
);
