select
    cast("date" as date) as "date",
    cast(region as varchar) as region,
    lower(cast("source" as varchar)) as "source",
    lower(cast(medium as varchar)) as medium,
    cast(sessions as bigint) as sessions
from {{ source('raw', 'web_sessions') }}
