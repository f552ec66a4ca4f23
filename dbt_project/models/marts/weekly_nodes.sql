-- One row per week (national), one column per node of the weekly graph (the third demo model:
-- its TV spend follows a hidden demand signal; calibrated to the lift tests in `lift_tests`).
select
    "date",
    tv_spend_eur as tv_spend,
    social_spend_eur as social_spend,
    cast(search_sessions as {{ type_double() }}) as search_clicks,
    revenue_eur as revenue
from {{ ref('stg_weekly_sales') }}
order by "date"
