{% macro adstock(column, partition_by, order_by, decay, max_lag) %}
{#-
    Geometric adstock (carryover) of `column`: sum over l = 0..max_lag of w_l * column[t - l]
    within each `partition_by`, rows ordered by `order_by`, with normalised weights
    w_l = decay^l / sum_k decay^k (they sum to 1: the adstock keeps the column's mean and unit).

    The lags are rows, not days: give the macro a dense series (one row per day and partition,
    zero-filled). Where fewer than max_lag earlier rows exist the result is NULL (incomplete
    history), never a silently shortened sum. decay = 0 or max_lag = 0 returns the column.

    The weights are computed here in the same order as
    ici_assets.demo.adstock.adstock_weights, so the demo's mart equals its generator exactly.
-#}
{%- set decay = decay | float -%}
{%- set max_lag = max_lag | int -%}
{%- if decay < 0 or decay >= 1 -%}
    {{ exceptions.raise_compiler_error("adstock: decay must be in [0, 1), got " ~ decay) }}
{%- endif -%}
{%- if max_lag < 0 -%}
    {{ exceptions.raise_compiler_error("adstock: max_lag must be >= 0, got " ~ max_lag) }}
{%- endif -%}
{%- if decay == 0 or max_lag == 0 -%}
({{ column }})
{%- else -%}
{%- set ns = namespace(total=0.0) -%}
{%- for lag in range(max_lag + 1) -%}
    {%- set ns.total = ns.total + decay ** lag -%}
{%- endfor -%}
(
{%- for lag in range(max_lag + 1) %}
    {% if not loop.first %}+ {% endif -%}
    cast('{{ (decay ** lag) / ns.total }}' as {{ type_double() }}) *
    {%- if lag == 0 %} {{ column }}
    {%- else %} lag({{ column }}, {{ lag }}) over (partition by {{ partition_by }} order by {{ order_by }})
    {%- endif %}
{%- endfor %}
)
{%- endif -%}
{% endmacro %}
