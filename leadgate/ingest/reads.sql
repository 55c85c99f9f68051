{# Reading a file, one Jinja macro per statement, rendered once by sql_read.py with its constants (never input
   values: those are bound as $parameters). {lines}, {records} and {extra} are filled in by load.py. #}

{% macro LINES_PLAIN() %}select rowid + 1 as line_no, line, null::varchar as flaw from _lines{% endmacro %}

{% macro LINES_PATCHED() %}select l.rowid + 1 as line_no, coalesce(s.line, l.line) as line, s.flaw from _lines l left join _specials s on s.line_no = l.rowid + 1{% endmacro %}

{% macro JSONL_RECORDS() %}
select line_no, line as raw_text, flaw from ({lines})
where flaw is not null or case when prefix(line, '{') then true else trim(coalesce(line, '')) <> '' end
{% endmacro %}

{% macro JSONL_PARSED() %}
select line_no, parse_error, s,
    case when parse_error is null and len(json_keys(raw_text)) > {{ _PRESENT }}
         then nullif(json_merge_patch(raw_text, '{{ _PATCH }}')::varchar, '{}') end as extra
from (
    select line_no, raw_text, parse_error,
        case when parse_error is null then from_json(raw_text, '{{ _STRUCT }}') end as s
    from (
        select line_no, raw_text,
            case when flaw is not null then flaw
                 when strlen(raw_text) > {{ MAX_RECORD_BYTES }} then {{ _too_large('raw_text') }}
                 {{ _VALIDATE }}
                 when case when prefix(raw_text, '{') then false else json_type(raw_text) <> 'OBJECT' end
                      then 'line is a JSON ' || case when json_type(raw_text) in ('BIGINT', 'UBIGINT', 'DOUBLE') then 'number'
                                                     when json_type(raw_text) = 'VARCHAR' then 'string'
                                                     else lower(json_type(raw_text)) end || ', not an object'
            end as parse_error
        from ({records})
    )
)
{% endmacro %}

{% macro LAST_LINE_INVALID() %}
select count(*) from _lines
where rowid = (select max(rowid) from _lines) and trim(line) <> '' and not json_valid(line)
{% endmacro %}

{% macro CSV_LINES() %}
create or replace temp table _csv_lines as
select line_no, line, flaw,
    coalesce(contains(line, '"') and regexp_full_match(line, '{{ _OPENS }}'), false) as opens,
    coalesce(contains(line, '"') and not regexp_full_match(line, '{{ _STAYS }}'), false) as closes
from ({lines})
{% endmacro %}

{% macro CSV_RECORDS_SIMPLE() %}
create or replace temp table _records as
select line_no, line as raw_text, flaw, false as unterminated
from _csv_lines where flaw is not null or trim(coalesce(line, '')) <> ''
{% endmacro %}

{# A record opened on line o runs to the first closing line after o (or to the end of the file).
   Openers sharing that closing line lie inside the earliest one's record; an opener that is the
   previous record's closing line was read from inside a quoted field and does not open a record.
   (A run of lines that each close and reopen a broken quote may be split differently than a
   sequential parser would; every such record is rejected as invalid CSV either way.) #}
{% macro CSV_RECORDS_SPANNING() %}
create or replace temp table _records as
with openers as (
    select line_no from _csv_lines where opens
), closers as (
    select line_no from _csv_lines where closes
), nexts as (
    select o.line_no as opener, c.line_no as closer
    from openers o asof left join closers c on c.line_no > o.line_no
), closings as (
    select closer, lag(closer) over (order by closer nulls last) as previous_closer
    from (select distinct closer from nexts)
), spans as (
    select min(n.opener) as first_line, n.closer as last_line
    from nexts n join closings g on g.closer is not distinct from n.closer
    where n.opener is distinct from g.previous_closer
    group by n.closer
), placed as (
    select l.line_no, l.line, l.flaw,
        case when s.first_line is not null and (s.last_line is null or l.line_no <= s.last_line)
             then s.first_line else l.line_no end as record_line,
        s.first_line is not null and s.last_line is null as unterminated
    from _csv_lines l asof left join spans s on l.line_no >= s.first_line
), records as (
    select record_line as line_no, string_agg(coalesce(line, ''), chr(10) order by line_no) as raw_text,
        min(flaw) as flaw, bool_or(unterminated) as unterminated
    from placed group by record_line
)
select * from records where flaw is not null or trim(raw_text) <> ''
{% endmacro %}

{% macro CSV_HEADER() %}select line_no, raw_text, flaw from _records order by line_no limit 1{% endmacro %}

{% macro CSV_DATA_RECORDS() %}select line_no, raw_text, flaw, unterminated from _records where line_no > $header_line{% endmacro %}

{% macro CSV_PARSED() %}
select line_no, parse_error,
    case when parse_error is null then {{ '{' }}{{ _CSV_STRUCT }}} end as s,
    {extra} as extra
from (
    select line_no, fields,
        case when $file_error is not null then $file_error
             when flaw is not null then flaw
             when unterminated then 'record is not valid CSV: the quoted field opened on this line is never closed'
             when strlen(raw_text) > {{ MAX_RECORD_BYTES }} then {{ _too_large('raw_text') }}
             when not quoted_ok then 'record is not valid CSV: a quoted field has text after its closing quote'
             when len(fields) <> $columns
                  then 'record has ' || len(fields) || ' fields but the header has ' || $columns
        end as parse_error
    from (
        select line_no, raw_text, flaw, unterminated,
            not contains(raw_text, '"') or regexp_full_match(raw_text, '(?s){{ _F }}(?:,{{ _F }})*') as quoted_ok,
            case when not contains(raw_text, '"') then string_split(raw_text, ',')
                 else list_transform(
                     -- each match starts at a comma, so a failed match never restarts inside a quoted field
                     regexp_extract_all(',' || raw_text, '(?s),({{ _F }})', 1),
                     lambda f: case when prefix(ltrim(f, ' ' || chr(9)), '"')
                                    then replace(trim(f, ' ' || chr(9))[2:-2], '""', '"') else f end)
            end as fields
        from ({records})
    )
)
{% endmacro %}

{% macro CSV_EXTRA() %}case when parse_error is null then nullif(to_json(map_from_entries(list_filter(
    list_zip($extra_names, list_transform($extra_positions, lambda i: fields[i])),
    lambda e: trim(e[2]) <> ''))), '{}') end{% endmacro %}

{% macro NO_EXTRA() %}null::varchar{% endmacro %}

{% macro COUNT_RECORDS() %}select count(*) from ({records}){% endmacro %}

{# Records the clean insert did not take (rejects and events with a field issue), read again. #}
{% macro LEFTOVER() %}
select r.* from ({records}) r
anti join (select line_no from raw.engagement_events where load_id = $load_id and source_file = $source_file) e
    on e.line_no = r.line_no
{% endmacro %}

