"""The declaration: the ``ici`` meta of a dbt model (typed), its ``decisions`` block, time grains, the parsed spec."""
