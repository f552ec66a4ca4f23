-- One row per date x region, one column per node of the media graph (the second demo model:
-- saturating spend -> sessions -> revenue, see ici_assets/demo/media.py).
select
    "date",
    region,
    demand_index as demand,
    tv_spend_eur as tv_spend,
    social_spend_eur as social_spend,
    cast(search_sessions as double) as search_clicks,
    cast(social_sessions as double) as social_clicks,
    revenue_eur as revenue
from {{ ref('stg_media_daily') }}
order by "date", region
