"""The blocking checks: evaluated on plain data (``ici``, ``decisions``) and reported to Dagster (``asset_checks``)."""
