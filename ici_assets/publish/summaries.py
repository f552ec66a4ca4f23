"""Numbers and sentences as the UI shows them: rounded to what their intervals justify, and one-line summaries.

Plain Python on plain data (no Dagster): :mod:`ici_assets.publish.metadata` puts the results in the metadata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


#: No float in the UI carries more significant digits than this.
MAX_DIGITS = 4


def tidy(x: Any, digits: int = MAX_DIGITS) -> float:
    """``x`` with at most ``digits`` significant digits (NaN and infinities unchanged)."""
    x = float(x)
    if not math.isfinite(x) or x == 0.0:
        return x
    return float(f"{x:.{digits}g}")


def interval_decimals(low: Any, high: Any, sig: int | None = None) -> int:
    """Decimals that show the half-width of [low, high] with ``sig`` significant digits (0 for wide intervals).

    By default one digit, two when the half-width's leading digit is 1 (±1.0, not ±1: the usual rule for
    uncertainties): one rule for the summaries, tables, chart labels and floats, so they show the same number."""
    half = (float(high) - float(low)) / 2.0
    if not math.isfinite(half) or half <= 0:
        return 2
    exponent = math.floor(math.log10(half))
    if sig is None:
        sig = 2 if int(half / 10.0**exponent) == 1 else 1
    return max(0, sig - 1 - exponent)


def round_to_interval(x: Any, low: Any, high: Any) -> float:
    """``x`` rounded to what its 95 % interval justifies (:func:`interval_decimals`), and never to more than
    :data:`MAX_DIGITS` significant digits; without an interval, to :data:`MAX_DIGITS` digits."""
    import pandas as pd

    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return tidy(x)
    return tidy(round(float(x), interval_decimals(low, high)))


def tidy_value(value: Any) -> Any:
    """Floats anywhere inside lists and dicts tidied (for JSON such as a chart spec's inline data)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return tidy(value)
    if isinstance(value, Mapping):
        return {k: tidy_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tidy_value(v) for v in value]
    return value


def fmt(x: Any, low: Any = None, high: Any = None, sig: int | None = None) -> str:
    """``x`` as text with the decimals its interval justifies (:func:`interval_decimals`; thousands separated);
    without an interval, 3 significant digits."""
    import pandas as pd

    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return f"{tidy(x, 3):,g}"
    return f"{float(x):,.{min(interval_decimals(low, high, sig), 3)}f}"


def with_interval(x: Any, low: Any, high: Any, unit: str = "", sig: int | None = None) -> str:
    """'29.5 % (28.5–30.6)': a value with its 95 % interval, both at the interval's precision."""
    import pandas as pd

    sep = "" if not unit or unit.startswith(" ") else " "
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return f"{fmt(x)}{sep}{unit}"
    return f"{fmt(x, low, high, sig)}{sep}{unit} ({fmt(low, low, high, sig)}–{fmt(high, low, high, sig)})"


def shares_summary(shares: pd.DataFrame, target: str, *, top: int = 3, period: str | None = None) -> str:
    """Markdown: the ``top`` largest shares of the target's variance with intervals, then the target's own noise.

    ``shares`` has columns node, share, share_low, share_high (percent)."""
    data = shares.sort_values("share", ascending=False)
    drivers = data[data["node"] != target]
    parts = [
        f"**{r.node}** {with_interval(r.share, r.share_low, r.share_high, ' %')}"
        for r in drivers.head(top).itertuples()
    ]
    where = f", {period}" if period else ""
    text = f"Top drivers of {target} variance (95 % intervals{where}): " + ", ".join(parts) + "."
    own = data[data["node"] == target]
    if len(own):
        r = own.iloc[0]
        text += (
            f" Not shown in the chart: {target}'s own noise, {with_interval(r.share, r.share_low, r.share_high, ' %')}."
        )
    return text


def returns_summary(table: pd.DataFrame, target: str, units: Mapping[str, str]) -> str:
    """Markdown: each spend node's current marginal return (target per extra unit of spend), largest first."""
    first = table.drop_duplicates("node").sort_values("current_marginal_return", ascending=False)
    unit = units.get(target, "")
    parts = []
    for r in first.itertuples():
        per = f"{unit} of {target} per extra {units.get(str(r.node), 'unit')}".strip()
        value = with_interval(r.current_marginal_return, r.current_marginal_low, r.current_marginal_high)
        parts.append(f"**{r.node}** {value} {per}")
    return "Marginal return at the current spend: " + "; ".join(parts) + "." + not_identified_sentence(table)


def not_identified_nodes(table: pd.DataFrame) -> list[str]:
    """The nodes of a decision table whose learned carryover or saturation the data do not identify
    (``transform_identified`` false), in table order."""
    if "transform_identified" not in table.columns:
        return []
    flagged = table[table["transform_identified"].eq(False).fillna(False).astype(bool)]
    return [str(n) for n in dict.fromkeys(flagged["node"])]


def not_identified_sentence(table: pd.DataFrame) -> str:
    """' Not identified from the data: **social_spend**'s learned response ...' naming each flagged node (''
    when none is): its curve, returns and ROI extrapolate a fit the data cannot pin down."""
    nodes = not_identified_nodes(table)
    if not nodes:
        return ""
    names = ", ".join(f"**{n}**" for n in nodes)
    return (
        f" Not identified from the data: the learned carryover or saturation of {names} (flagged on the SCM asset); "
        "its response curve, marginal return and ROI extrapolate that fit, so read them as a guess: vary its spend "
        "more to pin it down."
    )


def budget_summary(table: pd.DataFrame, target: str, unit: str, per: str) -> str:
    """Markdown: the recommended move of each spend node and the expected uplift with its interval."""
    moves = ", ".join(
        f"**{r['node']}** {fmt(r['current'])} to {fmt(r['recommended'])}"
        for _, r in table.iterrows()
        if r["recommended"] != r["current"]
    )
    first = table.iloc[0]
    uplift = with_interval(first["expected_uplift"], first["uplift_low"], first["uplift_high"], unit)
    sign = "+" if float(first["expected_uplift"]) >= 0 else ""
    head = " ".join(w for w in ("Move", moves, unit, per) if w) if moves else "Keep the current split"
    line = f"{head}: expected {target} {sign}{uplift} {per} ({float(first['uplift_pct']):+.1f} %)."
    return line + binding_sentence(table) + _budget_not_identified(table)


def _budget_not_identified(table: pd.DataFrame) -> str:
    """Per flagged node: held at its current level (binding 'not identified'), or moved on an extrapolation when
    the user let it move (``move_not_identified``)."""
    nodes = not_identified_nodes(table)
    if not nodes:
        return ""
    by = table.drop_duplicates("node").set_index(table.drop_duplicates("node")["node"].astype(str))
    held = [n for n in nodes if by.loc[n, "binding"] == "not identified"]
    moved = [n for n in nodes if n not in held]
    text = ""
    if held:
        text += (
            f" Held at the current level: {', '.join(f'**{n}**' for n in held)}, whose learned response is not "
            "identified from the data (flagged on the SCM asset; `move_not_identified: true` lets it move on that "
            "extrapolation)."
        )
    if moved:
        text += (
            f" Not identified from the data: the learned response of {', '.join(f'**{n}**' for n in moved)} "
            "(flagged on the SCM asset); its recommended move extrapolates that fit."
        )
    return text


def binding_sentence(table: pd.DataFrame) -> str:
    """' Binding: **tv_spend** max_change, ...' naming the constraint holding each channel ('' when none does);
    in the target-marginal-return mode, the target the free channels stopped at."""
    if "binding" not in table.columns:
        return ""
    held = [
        f"**{r['node']}** {r['binding']}"
        for _, r in table.iterrows()
        if isinstance(r["binding"], str)
        and r["binding"] not in ("", "target_marginal_return", "not identified")  # that one: its own sentence
    ]
    target = table["target_marginal_return"].iloc[0] if "target_marginal_return" in table.columns else None
    stop = (
        f" Spend stops where the marginal return falls to {fmt(target)}."
        if target is not None and target == target  # not NaN
        else ""
    )
    return stop + (f" Binding: {', '.join(held)}." if held else "")


def fit_summary(kinds: Mapping[str, str], r2: Mapping[str, float], n_rows: int) -> str:
    """Markdown: the mechanism chosen for each non-root node and its R^2."""
    parts = [f"**{n}** {k} (R² {r2[n]:.2f})" for n, k in kinds.items() if k != "root" and n in r2]
    return f"Fitted on {n_rows:,} rows. Mechanisms: " + ", ".join(parts) + "."


def grain_label(unit: Sequence[str], time_column: str | None, period: str | None) -> str:
    """'per region-day': what one row of the node table is (its non-time grain columns and its period)."""
    segments = [c for c in unit if c != time_column]
    words = [*segments, *([period] if period else [])]
    return f"per {'-'.join(words)}" if words else "per row"
