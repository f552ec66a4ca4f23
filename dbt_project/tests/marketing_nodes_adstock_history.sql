{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'marketing_nodes'}}}) }}
-- Shop days missing from marketing_nodes: the days whose TV adstock window reaches back
-- before the first day of ad spend history (tv_adstock_max_lag days are needed). The mart
-- leaves them out rather than use a shortened adstock; load older spend to keep them.
with shop_days as (
    select "date" from {{ ref('stg_demand_index') }}
    union select "date" from {{ ref('stg_web_sessions') }}
    union select order_date from {{ ref('stg_orders') }}
)

select shop_days."date"
from shop_days
where shop_days."date" not in (select distinct "date" from {{ ref('marketing_nodes') }})
