{# Ingest's checks and writes, one Jinja macro per statement, rendered once by sql_check.py with its constants
   and fragment builders (never input values: those are bound as $parameters). {parsed}, {records},
   {earlier} and {needed} are filled in by load.py with other statements of this file or sql_read's. #}

{% macro CHECKED() %}
with raw as (
    select line_no, parse_error, extra,
        {{ _RAW_COLUMNS }}
    from ({parsed})
), normalised as (
    select *,
        event_id_raw as event_id,
        lower(source_raw) as source,
        event_type_raw as event_type,
        case when regexp_full_match(occurred_at_raw, '{{ _ISO }}') then try_cast(occurred_at_raw as timestamptz) end
            as occurred_at,
        {{ email_sql('email_raw') }} as email,
        {{ email_ok_sql('email_raw') }} as email_ok,
        -- The domain and company-size rules are dbt's macros (dbt_project/macros/shared_rules.sql).
        {{ domain_sql('company_domain_raw') }} as company_domain,
        {{ size_candidate_sql('company_size_raw') }} as size_candidate,
        {{ consent_sql('consent_raw') }} as consent
    from raw
), judged as (
    select *,
        {{ company_size_sql('size_candidate') }} as company_size,
        case when parse_error is not null then parse_error
             else nullif(concat_ws('; ',
                 case when event_id is null then 'missing required field event_id' end,
                 case when source_raw is null then 'missing required field source'
                      when not ({{ _KNOWN_SOURCE }})
                      then 'source ' || {{ _quoted('source_raw') }} || ' is not one of {{ _SOURCES.replace("'", '') }}' end,
                 case when event_type is null then 'missing required field event_type' end,
                 case when occurred_at_raw is null then 'missing required field occurred_at'
                      when (occurred_at is null or not isfinite(occurred_at))
                           and regexp_full_match(occurred_at_raw, '{{ _ISO_ANY_OFFSET }}')
                           and try_cast(occurred_at_raw as timestamptz) is not null
                      then 'occurred_at ' || {{ _quoted('occurred_at_raw') }}
                           || ' has an impossible UTC offset (they run from -14:00 to +14:00)'
                      when occurred_at is null or not isfinite(occurred_at)
                      then 'occurred_at ' || {{ _quoted('occurred_at_raw') }} || ' is not an ISO-8601 timestamp'
                      when occurred_at < $earliest
                      then 'occurred_at ' || {{ _quoted('occurred_at_raw') }} || ' is before ' || $earliest_text
                      when occurred_at > $latest
                      then 'occurred_at ' || {{ _quoted('occurred_at_raw') }} || ' is more than a day after the run''s time ('
                           || $run_time_text || ')' end,
                 case when email_raw is null and anonymous_id_raw is null
                      then 'missing email and anonymous_id (at least one is required)'
                      when email_raw is not null and not email_ok
                      then 'email ' || {{ _quoted('email_raw') }} || ' is not a valid email address' end
             ), '')
        end as reject_reason
    from normalised
)
select line_no, reject_reason, source, event_id, event_type, occurred_at, email,
    anonymous_id_raw as anonymous_id, first_name_raw as first_name, last_name_raw as last_name,
    job_title_raw as job_title, phone_raw as phone, company_raw as company, company_domain, industry_raw as industry,
    country_raw as country, company_size, page_url_raw as page_url, message_raw as message,
    utm_source_raw as utm_source, utm_campaign_raw as utm_campaign, consent, extra,
    case when company_domain is null then company_domain_raw end as bad_company_domain,
    case when company_size is null then company_size_raw end as bad_company_size,
    case when consent is null then consent_raw end as bad_consent
from judged
{% endmacro %}

{# --- writes (inside the file's transaction) --- #}

{% macro _ISSUE_FREE() %}reject_reason is null and bad_company_domain is null and bad_company_size is null and bad_consent is null{% endmacro %}

{% macro _INSERT_EVENTS() %}
insert into raw.engagement_events ({{ EVENT_COLUMNS }}, extra, load_id, source_file, line_no, ingested_at)
select {{ EVENT_COLUMNS }}, extra::json, $load_id, $source_file, line_no, $now
{% endmacro %}

{# The bulk of a file goes straight from the checks into the table: no wide intermediate copy. #}
{% macro INSERT_CLEAN() %}{{ _INSERT_EVENTS() }}from ({{ CHECKED() }}) where {{ _ISSUE_FREE() }}{% endmacro %}

{% macro CHECK_LEFTOVER() %}create or replace temp table _checked as {{ CHECKED() }}{% endmacro %}

{% macro INSERT_LEFTOVER() %}{{ _INSERT_EVENTS() }}from _checked where reject_reason is null{% endmacro %}

{# Repeats among this file's events (the first line wins) and events loaded before (they win). Content
   is compared by hashing the stored columns, only for the rows whose key repeats. #}
{% macro _MINE() %}select line_no, source, event_id from raw.engagement_events where load_id = $load_id and source_file = $source_file{% endmacro %}

{% macro ANY_EARLIER() %}select count(*) from (select 1 from raw.engagement_events where load_id <> $load_id or source_file <> $source_file limit 1){% endmacro %}

{% macro EARLIER() %}
select e.source, e.event_id, any_value({{ content_hash('e.') }}) as content_hash, any_value(e.load_id) as load_id
from raw.engagement_events e
semi join (select source, event_id from mine) m on m.source = e.source and m.event_id = e.event_id
where e.load_id <> $load_id or e.source_file <> $source_file
group by e.source, e.event_id
{% endmacro %}

{% macro NO_EARLIER() %}select null::varchar as source, null::varchar as event_id, null::ubigint as content_hash, null::varchar as load_id where false{% endmacro %}

{% macro DUPES() %}
create or replace temp table _dupes as
with mine as ({{ _MINE() }}),
repeated as (  -- grouping on one 64-bit hash is cheaper than on two strings; exact keys are compared next
    select hash(source, event_id) as key_hash from mine group by key_hash having count(*) > 1
),
earlier as ({earlier}),
candidates as (  -- this file's rows whose key repeats in the file or was loaded before, with their content hash
    select e.line_no, e.source, e.event_id, {{ content_hash('e.') }} as content_hash
    from raw.engagement_events e
    where e.load_id = $load_id and e.source_file = $source_file
      and (hash(e.source, e.event_id) in (select key_hash from repeated)
           or exists (select 1 from earlier k where k.source = e.source and k.event_id = e.event_id))
),
firsts as (
    select source, event_id, min(line_no) as first_line, arg_min(content_hash, line_no) as first_hash
    from candidates group by source, event_id having count(*) > 1
)
select c.line_no, c.source, c.event_id,
    c.content_hash is distinct from coalesce(k.content_hash, f.first_hash) as conflicting,
    coalesce(k.load_id, $load_id) as first_load_id
from candidates c
left join earlier k on k.source = c.source and k.event_id = c.event_id
left join firsts f on f.source = c.source and f.event_id = c.event_id
where k.event_id is not null or (f.event_id is not null and c.line_no <> f.first_line)
{% endmacro %}

{# A conflicting copy of an event that refuses consent the first copy did not (a re-export withdrawing it),
   or grants what it refused: the first copy stays, and a consent field issue with the copy's value
   ('false': dbt's staging reads it as a refusal of that event) keeps the refusal from being lost. #}
{% macro INSERT_CONSENT_CONFLICTS() %}
insert into raw.field_issues (load_id, source, event_id, source_file, line_no, field, raw_value, problem, recorded_at)
select $load_id, d.source, d.event_id, $source_file, d.line_no, 'consent', cast(c.consent as varchar),
    case when c.consent then 'grants consent the first copy of this event refused: the refusal counts'
         else 'refuses consent the first copy of this event did not: the refusal counts' end, $now
from _dupes d
join raw.engagement_events c on c.load_id = $load_id and c.source_file = $source_file and c.line_no = d.line_no
where d.conflicting and c.consent is not null and exists (
    select 1 from raw.engagement_events f
    where f.source = d.source and f.event_id = d.event_id
      and (f.consent is distinct from false) = (c.consent = false)
      and not (f.load_id = $load_id and f.source_file = $source_file and f.line_no in (select line_no from _dupes)))
{% endmacro %}

{% macro DELETE_DUPES() %}
delete from raw.engagement_events
where load_id = $load_id and source_file = $source_file and line_no in (select line_no from _dupes)
{% endmacro %}

{# The few raw texts a reject or a conflicting duplicate keeps, looked up by line (small build side). #}
{% macro NEEDED_TEXTS() %}
create or replace temp table _texts as
select t.line_no, t.raw_text from ({records}) t
semi join (select line_no from ({needed})) n on n.line_no = t.line_no
{% endmacro %}

{% macro NEEDED_REJECTS() %}select line_no from _checked where reject_reason is not null{% endmacro %}

{% macro NEEDED_CONFLICTS() %}select line_no from _dupes where conflicting{% endmacro %}

{% macro INSERT_REJECTED() %}
insert into raw.rejected_events (load_id, source_file, line_no, raw_text, reason, rejected_at)
select $load_id, $source_file, c.line_no,
    case when strlen(t.raw_text) > {{ MAX_RECORD_BYTES }}
         then left(t.raw_text, {{ RAW_TEXT_KEPT }}) || ' … [cut: ' || format('{:,}', strlen(t.raw_text)) || ' bytes in total]'
         else t.raw_text end,
    coalesce(j.reason, c.reject_reason), $now
from _checked c
left join _texts t on t.line_no = c.line_no
left join _json_reasons j on j.line_no = c.line_no
where c.reject_reason is not null
order by c.line_no
{% endmacro %}

{% macro INSERT_DUPLICATES() %}
insert into raw.duplicate_events (load_id, source_file, line_no, source, event_id, conflicting, first_load_id,
    raw_text, recorded_at)
select $load_id, $source_file, d.line_no, d.source, d.event_id, d.conflicting, d.first_load_id,
    case when d.conflicting then t.raw_text end, $now
from _dupes d left join _texts t on t.line_no = d.line_no
order by d.line_no
{% endmacro %}

{% macro INSERT_FIELD_ISSUES() %}
insert into raw.field_issues (load_id, source, event_id, source_file, line_no, field, raw_value, problem, recorded_at)
select $load_id, source, event_id, $source_file, line_no, field, raw_value, problem, $now
from (
    select line_no, source, event_id, 'company_domain' as field, bad_company_domain as raw_value,
        'not a domain name such as example.com' as problem
    from _checked where reject_reason is null and bad_company_domain is not null
    union all
    select line_no, source, event_id, 'company_size', bad_company_size,
        case when regexp_full_match({{ size_candidate_sql('bad_company_size') }}, '\d{1,9}-\d{1,9}')
             then 'the range starts above where it ends'
             else 'not a whole number of employees or a range such as 51-200 or 10000+' end
    from _checked where reject_reason is null and bad_company_size is not null
    union all
    select line_no, source, event_id, 'consent', bad_consent,
        'not a consent value in the vocabulary (true/false, yes/no, y/n, 1/0, on/off, opt-in/opt-out, ...)'
    from _checked where reject_reason is null and bad_consent is not null
) i
where not exists (select 1 from _dupes d where d.line_no = i.line_no)
order by line_no, field
{% endmacro %}

{% macro RECORD_INGESTED_FILE() %}
insert into raw.ingested_files (file_hash, path, size_bytes, mtime_ns, format, load_id, records, accepted, rejected,
    duplicates, conflicts, field_issues, ingested_at)
values ($file_hash, $source_file, $size, $mtime_ns, $format, $load_id, $records, $accepted, $rejected,
    $duplicates, $conflicts, $field_issues, $now)
{% endmacro %}

