{#- Rules written once for dbt and leadgate's Python: dbt's staging models call these macros, and leadgate
    renders this same file (leadgate/store/shared_rules.py) into ingest's checks and `forget`, so a domain,
    a company size or a lead id means the same in raw.*, in the marts and in an erasure. Plain Jinja only:
    no dbt functions (leadgate renders it without dbt). -#}

{#- A domain name such as example.com, lower case: LDH labels of at most 63 characters, a letter-led TLD. -#}
{% macro domain_pattern() -%}
    (?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]
{%- endmacro %}

{#- A domain as people type it ('HTTPS://www.Acme.com/about ', 'acme.com.') -> 'acme.com'; not a domain -> null.
    Lower-cased; spaces (Unicode ones too) at either end, a scheme, every leading 'www.', a path, query or
    port and trailing dots removed. Applying it to its own result changes nothing. -#}
{% macro normalise_domain(column) -%}
    {%- set lowered = 'lower(' ~ column ~ ')' -%}
    case
        when regexp_full_match({{ lowered }}, '{{ domain_pattern() }}') and not prefix({{ lowered }}, 'www.')
            then {{ lowered }}
        else nullif(regexp_extract(
            rtrim(regexp_extract(
                regexp_replace({{ lowered }}, '^{{ spaces() }}|{{ spaces() }}$', '', 'g'),
                '^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)*([^/?#:]*)', 1), '.'),
            '^({{ domain_pattern() }})$', 1), '')
    end
{%- endmacro %}

{#- Every space character, Unicode ones included (the consent rule's SEPARATORS, leadgate/policy/consent.py). -#}
{% macro spaces() -%}
    [\t\n\v\f\r \x{00a0}\x{2000}-\x{200a}\x{202f}\x{3000}]+
{%- endmacro %}

{#- Company size, step 1: dashes unified ('51–200'), every space removed ('51 - 200'); canonical values as they are. -#}
{% macro company_size_candidate(column) -%}
    case when regexp_full_match({{ column }}, '\d{1,9}|\d{1,9}\+|\d{1,9}-\d{1,9}') then {{ column }}
         else regexp_replace(replace(replace({{ column }}, '–', '-'), '—', '-'), '\s+', '', 'g')
    end
{%- endmacro %}

{#- Company size, step 2 (on step 1's result): '250', '10000+' or '51-200' without leading zeros; anything
    else (a word, '1,000+', '10k', a range that ends below its start) -> null. -#}
{% macro company_size(candidate) -%}
    case
        when regexp_full_match({{ candidate }}, '\d{1,9}')
            then cast(cast({{ candidate }} as bigint) as varchar)
        when regexp_full_match({{ candidate }}, '\d{1,9}\+')
            then cast(cast({{ candidate }}[:-2] as bigint) as varchar) || '+'
        when regexp_full_match({{ candidate }}, '\d{1,9}-\d{1,9}')
             and try_cast(split_part({{ candidate }}, '-', 1) as bigint)
                 <= try_cast(split_part({{ candidate }}, '-', 2) as bigint)
            then cast(cast(split_part({{ candidate }}, '-', 1) as bigint) as varchar) || '-'
                 || cast(cast(split_part({{ candidate }}, '-', 2) as bigint) as varchar)
    end
{%- endmacro %}

{#- The lead id contract: 'ld_' + 16 hex chars of md5(installation salt || normalised email). -#}
{% macro lead_id(salt, email) -%}
    'ld_' || substr(md5({{ salt }} || {{ email }}), 1, 16)
{%- endmacro %}

{#- The erasure list's key of an email or anonymous id: sha256(installation salt || ':' || value), no personal data
    (leadgate/store/erasure_list.py's subject_hash computes the same in Python). -#}
{% macro erasure_key(salt, value) -%}
    sha256({{ salt }} || ':' || {{ value }})
{%- endmacro %}
