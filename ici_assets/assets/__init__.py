"""The ICI assets of each dbt model with an ``ici`` meta: factory, node table, scm, shares, partitioned, decisions."""
