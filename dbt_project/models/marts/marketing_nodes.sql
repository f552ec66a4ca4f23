-- One row per date x region, one column per node of the causal graph.
-- The spine is every day between the first and last day seen in any source, times every
-- region seen in any source, so missing activity shows up as 0 spend/sessions/revenue and
-- a missing demand value fails the not_null test instead of silently dropping the row.
with days_seen as (
    select "date" from {{ ref('stg_demand_index') }}
    union all select "date" from {{ ref('stg_ad_spend') }}
    union all select "date" from {{ ref('stg_web_sessions') }}
    union all select order_date from {{ ref('stg_orders') }}
),

regions as (
    select region from {{ ref('stg_demand_index') }}
    union select region from {{ ref('stg_ad_spend') }}
    union select region from {{ ref('stg_web_sessions') }}
    union select region from {{ ref('stg_orders') }}
),

days as (
    select cast(generate_series as date) as "date"
    from generate_series(
        (select cast(min("date") as timestamp) from days_seen),
        (select cast(max("date") as timestamp) from days_seen),
        interval 1 day
    )
),

spine as (
    select days."date", regions.region
    from days
    cross join regions
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

sessions as (
    select
        "date",
        region,
        sum(case when source = 'google' and medium = 'organic' then sessions end) as organic_clicks,
        sum(case when medium = 'paid_social' then sessions end) as social_clicks
    from {{ ref('stg_web_sessions') }}
    group by "date", region
),

revenue as (
    select order_date as "date", region, sum(revenue_eur) as revenue
    from {{ ref('stg_orders') }}
    group by order_date, region
)

select
    spine."date",
    spine.region,
    cast(demand.search_interest as double) as demand,
    cast(coalesce(spend.tv_spend, 0) as double) as tv_spend,
    cast(coalesce(spend.social_spend, 0) as double) as social_spend,
    cast(coalesce(sessions.organic_clicks, 0) as double) as organic_clicks,
    cast(coalesce(sessions.social_clicks, 0) as double) as social_clicks,
    cast(coalesce(revenue.revenue, 0) as double) as revenue
from spine
left join {{ ref('stg_demand_index') }} as demand
    on spine."date" = demand."date" and spine.region = demand.region
left join spend
    on spine."date" = spend."date" and spine.region = spend.region
left join sessions
    on spine."date" = sessions."date" and spine.region = sessions.region
left join revenue
    on spine."date" = revenue."date" and spine.region = revenue.region
order by spine."date", spine.region
