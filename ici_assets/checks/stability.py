"""``shares_stable``: did a new set of shares move beyond its interval since the last one published, and why?

Media-mix users' most common complaint about refreshes is an answer that jumps between runs. This check
compares the shares about to be published with the current ones of the same asset and partition (the last
materialisation, still in ``ici.ici_shares``): a node whose share moved by more than the combined 95 %
interval of the two estimates (``sqrt(h_new^2 + h_old^2)``, ``h`` a half-width: the two bootstraps are
independent) is named, with the likely cause read from the data and code versions. It warns by default
(the shares are still published); ``meta.ici.checks.shares_stable: block`` makes it blocking.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ici_assets.checks.ici import CheckOutcome

if TYPE_CHECKING:
    import pandas as pd

    from ici_assets.spec.model import IciSpec

STABILITY_CHECK = "shares_stable"
DESCRIPTION = (
    "No share moved beyond the combined 95 % interval of the new and the previous materialisation (warning by "
    "default; meta.ici.checks.shares_stable: block makes it blocking)."
)
#: The columns of ``ici.ici_shares`` the comparison reads.
COLUMNS = (
    "partition_key",
    "node",
    "share",
    "share_low",
    "share_high",
    "code_version",
    "data_version",
    "materialized_at",
)
#: Without intervals (``n_bootstrap: 0``) a move beyond this many points counts.
NO_INTERVAL_POINTS = 1.0


def warn_only(spec: IciSpec) -> tuple[str, ...]:
    """The checks of this model that warn rather than block (``shares_stable`` unless the meta says block)."""
    return (STABILITY_CHECK,) if spec.checks.shares_stable == "warn" else ()


def _half_width(low: float, high: float) -> float:
    return (high - low) / 2 if math.isfinite(low) and math.isfinite(high) else math.nan


def _cause(data_changed: bool, code_changed: bool) -> str:
    data = "data changed" if data_changed else "data unchanged"
    code = "code or settings changed" if code_changed else "code unchanged"
    return f"{data}, {code}"


def stability_check(new: pd.DataFrame, previous: pd.DataFrame) -> CheckOutcome:
    """Compare ``new`` shares rows with the ``previous`` ones of the same asset and partition (columns of
    :data:`COLUMNS`; ``previous`` empty on a first materialisation)."""
    if previous.empty:
        return CheckOutcome(STABILITY_CHECK, True, "First materialisation: nothing to compare with.", {})
    old = previous.iloc[0]
    since = str(old["materialized_at"])[:10]
    data_changed = str(new["data_version"].iloc[0]) != str(old["data_version"])
    code_changed = str(new["code_version"].iloc[0]) != str(old["code_version"])
    cause = _cause(data_changed, code_changed)
    before = {str(r["node"]): r for r in previous.to_dict("records")}
    after = {str(r["node"]): r for r in new.to_dict("records")}
    moved: list[tuple[str, float, float, float, float]] = []  # node, delta, old, new, allowed
    largest: tuple[str | None, float] = (None, 0.0)
    for node in after.keys() & before.keys():
        a, b = after[node], before[node]
        delta = float(a["share"]) - float(b["share"])
        h_new = _half_width(float(a["share_low"]), float(a["share_high"]))
        h_old = _half_width(float(b["share_low"]), float(b["share_high"]))
        allowed = math.hypot(h_new, h_old) if math.isfinite(h_new) and math.isfinite(h_old) else NO_INTERVAL_POINTS
        if abs(delta) > abs(largest[1]):
            largest = (node, delta)
        if abs(delta) > allowed:
            moved.append((node, delta, float(b["share"]), float(a["share"]), allowed))
    moved.sort(key=lambda m: -abs(m[1]))
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    parts = [
        f"{node} {delta:+.1f} points ({was:.1f} -> {now:.1f}; interval of the change +-{allowed:.1f})"
        for node, delta, was, now, allowed in moved
    ]
    parts += [f"{n} new" for n in added] + [f"{n} no longer a node" for n in removed]
    metadata = {
        "since": since,
        "moved_nodes": [m[0] for m in moved] + added + removed,
        "largest_move_points": round(largest[1], 2),
        "data_changed": data_changed,
        "code_changed": code_changed,
    }
    if parts:
        text = f"{'; '.join(parts)} since the run of {since}, beyond its interval; {cause}."
        return CheckOutcome(STABILITY_CHECK, False, text, metadata)
    top, delta = largest
    biggest = f" (largest move: {top} {delta:+.1f} points)" if top is not None else ""
    text = f"No share moved beyond its interval since the run of {since}{biggest}; {cause}."
    return CheckOutcome(STABILITY_CHECK, True, text, metadata)


def previous_shares(previous: pd.DataFrame, partition_key: str | None) -> pd.DataFrame:
    """The rows of one partition (``None``: the whole-period asset) among an asset's current shares."""
    if previous.empty:
        return previous
    keys = previous["partition_key"]
    return previous[keys.isna()] if partition_key is None else previous[keys == partition_key]
