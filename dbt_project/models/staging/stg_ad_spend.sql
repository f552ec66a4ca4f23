select
    cast("date" as date) as "date",
    cast(region as varchar) as region,
    lower(cast(channel as varchar)) as channel,
    cast(campaign as varchar) as campaign,
    cast(spend as decimal(12, 2)) as spend_eur,
    cast(impressions as bigint) as impressions
from {{ source('raw', 'ad_spend') }}
