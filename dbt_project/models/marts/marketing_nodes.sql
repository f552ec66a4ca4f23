-- One row per date x region, one column per node of the causal graph.
-- The spine is every day between the first and last day of shop data (demand index, web
-- sessions, orders), times every region seen in any source, so missing activity shows up as
-- 0 spend/sessions/revenue and a missing demand value fails the not_null test instead of
-- silently dropping the row.
--
-- TV acts with a delay: tv_adstock is the geometric adstock of daily TV spend (macro
-- `adstock`, dbt vars tv_adstock_decay and tv_adstock_max_lag). It is computed over the
-- whole spend history, which may start before the shop data (the demo's ad_spend starts
-- max_lag days earlier), on a dense zero-filled day x region grid. A day whose window reaches
-- back before the first day of spend history has no complete adstock: such days are left out
-- of the spine rather than filled with a shortened sum (the test
-- marketing_nodes_adstock_history warns when this drops shop days).
with shop_days_seen as (
    select "date" from {{ ref('stg_demand_index') }}
    union all
    select "date" from {{ ref('stg_web_sessions') }}
    union all
    select order_date from {{ ref('stg_orders') }}
),

regions as (
    select region from {{ ref('stg_demand_index') }}
    union
    select region from {{ ref('stg_ad_spend') }}
    union
    select region from {{ ref('stg_web_sessions') }}
    union
    select region from {{ ref('stg_orders') }}
),

bounds as (
    select
        (select min("date") from shop_days_seen) as first_shop_day,
        (select max("date") from shop_days_seen) as last_shop_day,
        least(
            (select min("date") from shop_days_seen),
            coalesce((select min("date") from {{ ref('stg_ad_spend') }}), (select min("date") from shop_days_seen))
        ) as first_spend_day
),

spend_days as (
    {{ day_series(
        '(select first_spend_day from bounds)',
        '(select last_shop_day from bounds)'
    ) }}
),

spend as (
    select
        "date",
        region,
        sum(case when channel = 'tv' then spend_eur end) as tv_spend,
        sum(case when channel = 'social' then spend_eur end) as social_spend
    from {{ ref('stg_ad_spend') }}
    group by "date", region
),

-- Daily spend over the whole spend history, dense and zero-filled, with TV's adstock.
spend_history as (
    select
        spend_days."date",
        regions.region,
        cast(coalesce(spend.tv_spend, 0) as {{ type_double() }}) as tv_spend,
        cast(coalesce(spend.social_spend, 0) as {{ type_double() }}) as social_spend
    from spend_days
    cross join regions
    left join spend
        on spend_days."date" = spend."date" and regions.region = spend.region
),

spend_adstocked as (
    select
        *,
        {{ adstock('tv_spend', 'region', '"date"', var('tv_adstock_decay'), var('tv_adstock_max_lag')) }}
            as tv_adstock
    from spend_history
),

spine as (
    select spend_adstocked.*
    from spend_adstocked
    cross join bounds
    where
        spend_adstocked."date" between bounds.first_shop_day and bounds.last_shop_day
        and spend_adstocked.tv_adstock is not null
),

sessions as (
    select
        "date",
        region,
        sum(case when "source" = 'google' and medium = 'organic' then sessions end) as organic_clicks,
        sum(case when medium = 'paid_social' then sessions end) as social_clicks
    from {{ ref('stg_web_sessions') }}
    group by "date", region
),

revenue as (
    select
        order_date as "date",
        region,
        sum(revenue_eur) as revenue
    from {{ ref('stg_orders') }}
    group by order_date, region
)

select
    spine."date",
    spine.region,
    cast(demand.search_interest as {{ type_double() }}) as demand,
    spine.tv_spend,
    spine.tv_adstock,
    spine.social_spend,
    cast(coalesce(sessions.organic_clicks, 0) as {{ type_double() }}) as organic_clicks,
    cast(coalesce(sessions.social_clicks, 0) as {{ type_double() }}) as social_clicks,
    cast(coalesce(revenue.revenue, 0) as {{ type_double() }}) as revenue
from spine
left join {{ ref('stg_demand_index') }} as demand
    on spine."date" = demand."date" and spine.region = demand.region
left join sessions
    on spine."date" = sessions."date" and spine.region = sessions.region
left join revenue
    on spine."date" = revenue."date" and spine.region = revenue.region
order by spine."date", spine.region
