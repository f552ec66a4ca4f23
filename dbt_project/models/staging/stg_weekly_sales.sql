select
    cast("date" as date) as "date",
    cast(tv_spend_eur as {{ type_double() }}) as tv_spend_eur,
    cast(social_spend_eur as {{ type_double() }}) as social_spend_eur,
    cast(search_sessions as bigint) as search_sessions,
    cast(revenue_eur as {{ type_double() }}) as revenue_eur
from {{ source('raw', 'weekly_sales') }}
