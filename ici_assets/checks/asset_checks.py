"""The ICI checks as Dagster blocking asset checks: specs, and one result per check per step.

A step that computes several partitions reports each check once: passed when it passed for
every partition, and otherwise naming each partition that failed it and why (those partitions
were not published).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import dagster as dg

from ici_assets.checks.decisions import DECISION_DESCRIPTIONS
from ici_assets.checks.experiments import EXPERIMENTS_CHECK, EXPERIMENTS_DESCRIPTION
from ici_assets.checks.ici import DESCRIPTIONS, CheckOutcome
from ici_assets.checks.stability import DESCRIPTION as STABILITY_DESCRIPTION
from ici_assets.checks.stability import STABILITY_CHECK


def check_specs(key: dg.AssetKey, names: Iterable[str], *, warn: Iterable[str] = ()) -> list[dg.AssetCheckSpec]:
    """Blocking specs (a failed check fails the step, so nothing downstream runs on its result), but for the
    ``warn`` checks, which only warn."""
    described = {
        **DESCRIPTIONS,
        **DECISION_DESCRIPTIONS,
        STABILITY_CHECK: STABILITY_DESCRIPTION,
        EXPERIMENTS_CHECK: EXPERIMENTS_DESCRIPTION,
    }
    warn = set(warn)
    return [dg.AssetCheckSpec(n, asset=key, blocking=n not in warn, description=described[n]) for n in names]


def publishable(results: Iterable[dg.AssetCheckResult], warn: Iterable[str] = ()) -> bool:
    """Every check passed, but for the ``warn`` checks (a warning does not hold the result back)."""
    warn = set(warn)
    return all(r.passed for r in results if r.check_name not in warn)


def report_checks(
    context: dg.AssetExecutionContext, results: list[dg.AssetCheckResult]
) -> Iterator[dg.AssetCheckResult]:
    """Yield the check results, logging each failure as an error."""
    for result in results:
        if not result.passed and result.severity == dg.AssetCheckSeverity.WARN:
            context.log.warning(f"Check {result.check_name} warns: {result.description}")
        elif not result.passed:
            context.log.error(f"Check {result.check_name} failed: {result.description}")
        yield result


def _result(name: str, passed: bool, description: str, metadata: Mapping, warn: bool = False) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=bool(passed),
        severity=dg.AssetCheckSeverity.WARN if warn else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=dict(metadata),
    )


def check_results(
    outcomes: Mapping[str | None, Sequence[CheckOutcome]],
    names: Sequence[str],
    *,
    not_evaluated: Mapping[str, str] | None = None,
    warn: Iterable[str] = (),
) -> list[dg.AssetCheckResult]:
    """One result per check name over the outcomes of one step (key ``None``: an unpartitioned asset).

    ``not_evaluated`` maps a partition whose computation failed before its checks to the reason; the ``warn``
    checks report a failure as a warning (their partitions were published all the same).
    """
    not_evaluated = dict(not_evaluated or {})
    warn = set(warn)
    if list(outcomes) == [None] and not not_evaluated:
        return [
            _result(o.name, o.passed, o.description, o.metadata, o.name in warn)
            for o in outcomes[None]
            if o.name in names
        ]
    results = []
    for name in names:
        verdicts = {key: o for key, outs in outcomes.items() for o in outs if o.name == name}
        failed = {key: o for key, o in verdicts.items() if not o.passed}
        lines = [f"{key}: {o.description}" for key, o in sorted(failed.items(), key=lambda kv: str(kv[0]))]
        lines += [f"{key}: not evaluated ({why})" for key, why in sorted(not_evaluated.items())]
        total = len(verdicts) + len(not_evaluated)
        if failed and name in warn:
            head = f"Warned for {len(failed)} of {total} partition(s) (published all the same):"
        elif failed:
            head = f"Failed for {len(failed)} of {total} partition(s), which were not published:"
        elif not_evaluated:
            head = f"Passed for the {len(verdicts)} partition(s) evaluated; {len(not_evaluated)} not evaluated:"
        else:
            head = f"Passed for all {total} partition(s)."
        results.append(
            _result(
                name,
                not failed,
                "\n".join([head, *lines[:20]] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])),
                {
                    "n_partitions": total,
                    "failed_partitions": dg.MetadataValue.json(sorted(str(k) for k in failed)),
                    "not_evaluated": dg.MetadataValue.json(sorted(not_evaluated)),
                },
                name in warn,
            )
        )
    return results
