{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- Fails with one row per duplicated key: the key values and how often they occur. -#}
{%- set quoted = [] -%}
{%- for column in combination_of_columns -%}
  {%- do quoted.append(adapter.quote(column)) -%}
{%- endfor -%}
{%- set columns_csv = quoted | join(', ') -%}
select {{ columns_csv }}, count(*) as n_rows
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1
{% endtest %}
