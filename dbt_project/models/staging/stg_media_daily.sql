select
    cast("date" as date) as "date",
    cast(region as varchar) as region,
    cast(demand_index as double) as demand_index,
    cast(tv_spend_eur as double) as tv_spend_eur,
    cast(social_spend_eur as double) as social_spend_eur,
    cast(search_sessions as bigint) as search_sessions,
    cast(social_sessions as bigint) as social_sessions,
    cast(revenue_eur as double) as revenue_eur
from {{ source('raw', 'media_daily') }}
