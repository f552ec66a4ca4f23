-- Finance's last-click attribution: each order's revenue goes to the channel of the
-- customer's last click. One row per date x region x clicked channel, zero-filled on the
-- marketing_nodes spine so that revenue sums to marketing_nodes.revenue.
with channels as (
    select distinct last_click_channel as channel
    from {{ ref('stg_orders') }}
),

credited as (
    select
        order_date as "date",
        region,
        last_click_channel as channel,
        count(*) as orders,
        sum(revenue_eur) as revenue
    from {{ ref('stg_orders') }}
    group by order_date, region, last_click_channel
)

select
    nodes."date",
    nodes.region,
    channels.channel,
    cast(coalesce(credited.orders, 0) as bigint) as orders,
    cast(coalesce(credited.revenue, 0) as {{ type_double() }}) as revenue
from {{ ref('marketing_nodes') }} as nodes
cross join channels
left join credited
    on
        nodes."date" = credited."date"
        and nodes.region = credited.region
        and channels.channel = credited.channel
order by nodes."date", nodes.region, channels.channel
