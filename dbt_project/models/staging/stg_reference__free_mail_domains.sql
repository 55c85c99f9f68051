-- Free-mail providers as lower-case LIKE patterns.
select
    lower(trim(domain_pattern)) as domain_pattern,
    provider
from {{ ref('free_mail_domains') }}
