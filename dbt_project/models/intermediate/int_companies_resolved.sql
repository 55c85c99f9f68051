-- Every company domain known to the reference lists, with the nearest named target account at or
-- above it in the parent hierarchy (any number of levels; cycles in the list are cut).
with hierarchy as (

    select company_domain, parent_domain, company_name
    from {{ ref('stg_reference__company_hierarchy') }}

),

target_accounts as (

    select account_domain, account_name, tier, owner_team
    from {{ ref('stg_reference__target_accounts') }}

),

companies as (

    select company_domain as domain from hierarchy
    union
    select parent_domain from hierarchy
    union
    select account_domain from target_accounts

),

-- The recursive walk sits in a subquery (not the top-level WITH) so dbt unit tests can inject
-- their fixtures as CTEs.
ancestors as (

    select *
    from (
        with recursive walk(domain, ancestor_domain, hops, visited) as (
            select domain, domain, 0, [domain]
            from companies
            union all
            select walk.domain, hierarchy.parent_domain, walk.hops + 1,
                list_append(walk.visited, hierarchy.parent_domain)
            from walk
            join hierarchy on hierarchy.company_domain = walk.ancestor_domain
            where not list_contains(walk.visited, hierarchy.parent_domain)
        )
        select domain, ancestor_domain, hops from walk
    )

),

nearest_target as (

    select
        ancestors.domain,
        arg_min(
            {'domain': target_accounts.account_domain, 'name': target_accounts.account_name,
             'tier': target_accounts.tier, 'owner_team': target_accounts.owner_team, 'hops': ancestors.hops},
            ancestors.hops
        ) as target
    from ancestors
    join target_accounts on target_accounts.account_domain = ancestors.ancestor_domain
    group by ancestors.domain

)

select
    companies.domain as company_domain,
    coalesce(hierarchy.company_name, target_accounts.account_name) as company_name,
    hierarchy.parent_domain,
    nearest_target.target.domain is not null as is_target_account,
    nearest_target.target.domain as target_account_domain,
    nearest_target.target.name as target_account_name,
    nearest_target.target.tier as target_account_tier,
    nearest_target.target.owner_team as target_account_owner_team,
    nearest_target.target.hops as hops_to_target_account
from companies
left join hierarchy on hierarchy.company_domain = companies.domain
left join target_accounts on target_accounts.account_domain = companies.domain
left join nearest_target on nearest_target.domain = companies.domain
