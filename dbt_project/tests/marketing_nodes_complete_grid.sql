-- marketing_nodes holds every day x region exactly once: rows = days * regions.
select count(*) as n_rows, count(distinct "date") * count(distinct region) as n_expected
from {{ ref('marketing_nodes') }}
having count(*) <> count(distinct "date") * count(distinct region)
