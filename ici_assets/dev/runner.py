"""Runs over partitions: the partitioned ICI jobs of a code location, and the tags of one run over a range.

Used by ``make demo`` (:func:`ici_assets.dev.launch.launch_all`) and the tests; in production the same runs
come from the Dagster UI (a backfill of a partitioned asset is one run: ``BackfillPolicy.single_run()``),
schedules or ``dagster asset materialize --partition-range``.
"""

from collections.abc import Sequence

import dagster as dg

#: Run tags of a run covering a range of partitions (what Dagster's backfills and
#: ``dagster asset materialize --partition-range first...last`` set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_jobs(defs: dg.Definitions) -> list[dg.JobDefinition]:
    """The partitioned ICI jobs (one per partitions definition)."""
    return [j for j in (defs.resolve_job_def(job.name) for job in defs.jobs or []) if j.partitions_def is not None]


def range_tags(keys: Sequence[str]) -> dict[str, str]:
    """Tags of one run over the partitions ``keys[0]`` ... ``keys[-1]`` (in the definition's order)."""
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
