-- The team's lift tests, one row per test, as the `experiments` block of an `ici` meta reads them.
select
    cast(test as varchar) as test,
    cast(node as varchar) as node,
    cast(unit as varchar) as unit,
    cast(start_period as date) as start_period,
    cast(end_period as date) as end_period,
    cast(spend_change as {{ type_double() }}) as spend_change,
    cast(lift as {{ type_double() }}) as lift,
    cast(lift_se as {{ type_double() }}) as lift_se
from {{ source('raw', 'lift_tests') }}
order by node, start_period
