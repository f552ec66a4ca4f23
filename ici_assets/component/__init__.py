"""The dbt side: the dg component, ``build_definitions``, the dbt CLI, manifest, row counts, dbt test descriptions."""
