{{ config(meta={'dagster': {'ref': {'name': 'last_click_revenue'}}}) }}
-- Last-click credits add up to the revenue node of each date x region (to the cent).
select nodes."date", nodes.region, nodes.revenue, credited.revenue as credited_revenue
from {{ ref('marketing_nodes') }} as nodes
left join (
    select "date", region, sum(revenue) as revenue
    from {{ ref('last_click_revenue') }}
    group by "date", region
) as credited
    on nodes."date" = credited."date" and nodes.region = credited.region
where credited.revenue is null or abs(nodes.revenue - credited.revenue) > 0.005
