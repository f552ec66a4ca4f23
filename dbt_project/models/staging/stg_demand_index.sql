select
    cast("date" as date) as "date",
    cast(region as varchar) as region,
    cast(search_interest as {{ type_double() }}) as search_interest
from {{ source('raw', 'demand_index') }}
