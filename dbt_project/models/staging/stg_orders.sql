select
    cast(order_id as bigint) as order_id,
    cast(ordered_at as timestamp) as ordered_at,
    cast(ordered_at as date) as order_date,
    cast(region as varchar) as region,
    cast(revenue as decimal(12, 2)) as revenue_eur,
    cast(last_click_channel as varchar) as last_click_channel
from {{ source('raw', 'orders') }}
