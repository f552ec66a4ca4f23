{#-
    SQL that differs between warehouses, behind adapter.dispatch: the models call these macros, and
    another adapter adds `<adapter>__<macro>` here (e.g. snowflake__day_series) without touching them.
    DuckDB and PostgreSQL share the default implementations unless noted.
-#}

{% macro type_double() %}{{ return(adapter.dispatch('type_double')()) }}{% endmacro %}

{#- 64-bit IEEE float. (dbt's type_float() is `float`: single precision in DuckDB.) -#}
{% macro default__type_double() %}double precision{% endmacro %}

{% macro duckdb__type_double() %}double{% endmacro %}


{% macro day_series(first_day, last_day) %}
    {{- return(adapter.dispatch('day_series')(first_day, last_day)) -}}
{% endmacro %}

{#- One row per day from first_day to last_day inclusive (scalar SQL expressions), column "date". -#}
{% macro default__day_series(first_day, last_day) %}
    select cast(generate_series as date) as "date"
    from generate_series(
        cast({{ first_day }} as timestamp),
        cast({{ last_day }} as timestamp),
        interval '1 day'
    )
{% endmacro %}
