{#- Small SQL expressions shared by several models, so a rule lives in exactly one place. -#}

{#- A total order on events, so "latest" and "first" are deterministic when timestamps tie. -#}
{% macro event_order() -%}
    (occurred_at, source, event_id)
{%- endmacro %}

{#- Seniority from a job title, most senior match first; assistants of a chief are not chiefs. -#}
{% macro seniority(job_title) -%}
    case
        when {{ job_title }} is null then 'unknown'
        when regexp_matches(lower({{ job_title }}), '\b(assistant|intern|trainee|working student)\b') then 'individual'
        when regexp_matches(lower({{ job_title }}), '\b(vp|svp|evp|avp|vice[ -]president)\b') then 'vp'
        when regexp_matches(
            lower({{ job_title }}),
            '\b(chief|ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|cdo|founder|co-founder|cofounder|owner|president|managing director|geschäftsführer)\b'
        ) then 'c_level'
        when regexp_matches(lower({{ job_title }}), '\b(director|head)\b') then 'director'
        when regexp_matches(lower({{ job_title }}), '\b(manager|team lead|leader|supervisor)\b') then 'manager'
        else 'individual'
    end
{%- endmacro %}

{#- Emails: ingest already normalised them (leadgate/shared/emails.py: IDNA domain, A-Z lower-cased, nothing
    else changed). Here only trim and lower-case A-Z, never lower(), which maps the Kelvin sign to 'k'. -#}
{% macro normalise_email(column) -%}
    nullif(translate(trim({{ column }}), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '')
{%- endmacro %}

{#- A consent value or event type as the vocabulary spells it (seeds/consent_vocabulary.csv): lower case,
    spaces removed, '-' / '_' between letters or digits removed. The patterns are leadgate/policy/consent.py's
    SEPARATORS and JOINERS (a test keeps them equal). -#}
{% macro consent_term(column) -%}
    regexp_replace(
        regexp_replace(lower({{ column }}), '[\t\n\v\f\r \x{00a0}\x{2000}-\x{200a}\x{202f}\x{3000}]+', '', 'g'),
        '([a-z0-9])[_-]+([a-z0-9])', '\1\2', 'g')
{%- endmacro %}

{#- Whether a consent status allows contact: the statuses leadgate's policy allows (leadgate/policy/consent.py
    passes them as a var; without it only an explicit grant does). -#}
{% macro consent_allows(status) -%}
    {%- set allowed = var('consent_allowed_statuses', ['granted']) -%}
    {%- for s in allowed if s not in ('granted', 'unknown') -%}
        {{ exceptions.raise_compiler_error("consent_allowed_statuses: unexpected status " ~ s) }}
    {%- endfor -%}
    {{ status }} in ({% for s in allowed %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- The domain of an email ('bob@acme.com' -> 'acme.com'); null when it has none. -#}
{% macro email_domain(email) -%}
    nullif(regexp_extract({{ email }}, '@([^@]+)$', 1), '')
{%- endmacro %}

{#- A lead's account: its company domain, else its email's domain, but never a free-mail one (it says nothing
    about the employer). `free_mail` names a relation with the LIKE patterns in a column domain_pattern. -#}
{% macro account_id(company_domain, email_domain, free_mail='free_mail') -%}
    case
        when {{ company_domain }} is not null
            and not exists (select 1 from {{ free_mail }} where {{ company_domain }} like {{ free_mail }}.domain_pattern)
            then {{ company_domain }}
        when {{ email_domain }} is not null
            and not exists (select 1 from {{ free_mail }} where {{ email_domain }} like {{ free_mail }}.domain_pattern)
            then {{ email_domain }}
    end
{%- endmacro %}
