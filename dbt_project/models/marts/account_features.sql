-- One row per account (company domain, or a non-free-mail email domain), rolled up from its leads.
with leads as (

    select
        *,
        max(last_touch_at) over (partition by account_id) as account_last_touch_at
    from {{ ref('lead_features') }}
    where account_id is not null

)

select
    account_id,
    -- Firmographics from the most recently active lead that gave them.
    arg_max(company, (last_touch_at, lead_id)) filter (where company is not null) as company,
    arg_max(industry, (last_touch_at, lead_id)) filter (where industry is not null) as industry,
    arg_max(country, (last_touch_at, lead_id)) filter (where country is not null) as country,
    arg_max(company_size, (last_touch_at, lead_id)) filter (where company_size is not null) as company_size,
    bool_or(is_target_account) as is_target_account,
    max(target_account_name) as target_account_name,
    count(*) as lead_count,
    sum(event_count) as event_count,
    min(first_touch_at) as first_touch_at,
    max(last_touch_at) as last_touch_at,
    sum(pricing_views) as pricing_views,
    sum(demo_requests) as demo_requests,
    count_if(last_touch_at >= account_last_touch_at - interval 30 days) as engaged_leads_30d
from leads
group by account_id
