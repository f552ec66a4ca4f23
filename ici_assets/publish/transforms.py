"""Learned carryover and saturation as rows of ``ici.transforms``, lines a planner reads, and one chart per node.

The SCM asset fits the transforms (once, inside the SCM) and their bootstrap intervals
(:func:`ici_assets.engine.transform_table`); the shares asset publishes the rows with the shares, in one
transaction, with the same run, code and data versions. A line per spend node reads
"tv_spend: carryover 0.71 per week [0.64, 0.77], half-saturation EUR 41k [35k, 48k], slope 2.0 [1.6, 2.5]";
a node the data cannot pin down ends with "(not identified: <why>)".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ici_assets.publish.charts import DIALOG_WIDTH, wrap
from ici_assets.publish.rows import ResultKey, run_columns
from ici_assets.publish.versions import SliceFacts
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import TRANSFORMS, TRANSFORMS_HISTORY, Append, Publish, Replace

if TYPE_CHECKING:
    import altair as alt
    import numpy as np
    import pandas as pd

#: Metadata keys of the learned values: ``half_sat/tv_spend`` (short, so the Overview tab does not scroll).
SHORT_KEYS = {"half_saturation": "half_sat"}
#: Points of each saturation curve in the chart.
CURVE_POINTS = 60


@dataclass
class LearnedTable:
    """What the SCM asset hands on: the engine's parameter table (model, node, transform, family, parameter,
    value, low, high, identified), why each flagged node is not identified, and per node its carryover level
    (the spend its saturation applies to) for the observed range in the chart."""

    table: pd.DataFrame
    flags: dict[str, list[str]]
    levels: dict[str, np.ndarray]


def learned_table(scm: Any, spec: IciSpec, n_bootstrap: int) -> LearnedTable:
    """The fitted SCM's own transforms (``transform_state``, no second point fit) with block-bootstrap intervals."""
    from ici_assets import engine

    state = scm.transform_state
    if state is None:
        raise ValueError(f"dbt model '{spec.model}': the SCM was fitted without transforms; nothing to tabulate")
    bootstrap = engine.Bootstrap(n_bootstrap=n_bootstrap, seed=spec.seed)
    result = engine.transform_table(state, model=spec.model, bootstrap=bootstrap)
    levels = {str(n): tr.level(state.problem.lags[n]) for n, tr in state.transforms.items()}
    return LearnedTable(result.table, {str(n): list(v) for n, v in state.flags.items()}, levels)


def transform_rows(spec: IciSpec, learned: LearnedTable | None, facts: SliceFacts, key: ResultKey) -> pd.DataFrame:
    """Rows of ``ici.transforms``: one per learned parameter (non-finite bounds as null), none without learned
    transforms (the table still exists, with the same columns on every warehouse)."""
    import numpy as np
    import pandas as pd

    if learned is None or learned.table.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in TRANSFORMS.column_names})
    t = learned.table
    bound = lambda s: s.astype(float).where(np.isfinite(s.astype(float)))  # noqa: E731
    node = t["node"].astype(str)
    return pd.DataFrame(
        {
            "asset_key": key.asset_key,
            "model": spec.model,
            "node": node,
            "transform": t["transform"].astype(str),
            "family": t["family"].astype(str),
            "parameter": t["parameter"].where(t["parameter"].notna(), None),
            "value": bound(t["value"]),
            "low": bound(t["low"]),
            "high": bound(t["high"]),
            "identified": t["identified"].astype(bool),
            "unit": [_unit(spec, n, p) for n, p in zip(node, t["parameter"])],
            "max_lag": [_max_lag(spec, n, tr) for n, tr in zip(node, t["transform"])],
            "note": ["; ".join(learned.flags.get(n, [])) or None for n in node],
            **run_columns(facts, key),
        }
    )[TRANSFORMS.column_names]


def _unit(spec: IciSpec, node: str, parameter: Any) -> str | None:
    """The unit of a parameter's value: the spend's for half_saturation, periods for Weibull's scale."""
    if parameter == "half_saturation":
        return spec.units.get(node)
    if parameter == "scale":
        return f"{spec.time_grain}s"
    return None


def _max_lag(spec: IciSpec, node: str, transform: str) -> int | None:
    declared: Mapping[str, Any] = spec.transforms.get(node, {})
    if transform != "carryover" or "carryover" not in declared:
        return None
    return int(declared["carryover"]["max_lag"])


def transform_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace the asset's current transform rows; append them to the history (one transaction with the shares)."""
    return [Replace(TRANSFORMS, rows, ("asset_key",)), Append(TRANSFORMS_HISTORY, rows)]


def _short(v: float) -> str:
    """41,234 -> 41.2k, 0.713 -> 0.71, 1.5e6 -> 1.5M: a number a planner reads at a glance."""
    import math

    if not math.isfinite(v):
        return "∞" if v > 0 else "-∞"
    a = abs(v)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= size:
            return f"{v / size:.3g}{suffix}"
    return f"{v:.2g}" if a < 1 else f"{v:.3g}"


def _interval(low: float, high: float) -> str:
    import math

    if math.isnan(low) and math.isnan(high):
        return ""
    return f" [{_short(low)}, {_short(high)}]"


def transform_lines(spec: IciSpec, learned: LearnedTable) -> list[str]:
    """One line per spend node: "tv_spend: carryover 0.71 per week [0.64, 0.77], half-saturation EUR 41k [35k,
    48k], slope 2 [1.6, 2.5]"; "(not identified: why)" at the end of a flagged node."""
    out = []
    per = spec.time_grain
    for node, rows in learned.table.groupby("node", sort=False):
        node = str(node)
        unit = spec.units.get(node)
        money = f"{unit} " if unit else ""
        parts: list[str] = []
        for (part, family), r in rows.groupby(["transform", "family"], sort=False):
            vals = {
                str(p): (float(v), float(lo), float(hi))
                for p, v, lo, hi in zip(r["parameter"], r["value"], r["low"], r["high"])
                if isinstance(p, str)
            }
            if family == "none":
                parts.append(f"no {part}")
            elif family == "geometric":
                v, lo, hi = vals["decay"]
                parts.append(f"carryover {_short(v)} per {per}{_interval(lo, hi)}")
            elif family == "weibull":
                (k, klo, khi), (s, slo, shi) = vals["shape"], vals["scale"]
                parts.append(
                    f"carryover weibull shape {_short(k)}{_interval(klo, khi)}, scale {_short(s)} {per}s"
                    f"{_interval(slo, shi)}"
                )
            else:
                v, lo, hi = vals["half_saturation"]
                kind = "" if family == "hill" else f" ({str(family).replace('_', '-')})"
                text = f"half-saturation {money}{_short(v)}{_interval(lo, hi)}{kind}"
                if "slope" in vals:
                    s, slo, shi = vals["slope"]
                    text += f", slope {_short(s)}{_interval(slo, shi)}"
                parts.append(text)
        flags = learned.flags.get(node)
        tail = f" (not identified: {'; '.join(flags)})" if flags else ""
        out.append(f"{node}: {', '.join(parts)}{tail}")
    return out


def _params(rows: pd.DataFrame, column: str) -> dict[str, float]:
    return {str(p): float(v) for p, v in zip(rows["parameter"], rows[column]) if isinstance(p, str)}


def transform_chart(spec: IciSpec, learned: LearnedTable, node: str) -> alt.TopLevelMixin:
    """Two panels for one spend node: its carryover weights per lag (bars; ticks at the decay interval's ends) and
    its saturation curve over the carryover level, with the band spanned by the parameters' interval corners and
    the observed level range shaded. Sized for the metadata dialog."""
    import itertools

    import altair as alt
    import numpy as np
    import pandas as pd

    from ici_assets.engine.transforms import PARAMETERS, carryover_weights, saturate

    rows = learned.table[learned.table["node"].astype(str) == node]
    fam = {str(t): str(f) for t, f in zip(rows["transform"], rows["family"])}
    carry_kind, sat_kind = fam.get("carryover", "none"), fam.get("saturation", "none")
    value, low, high = _params(rows, "value"), _params(rows, "low"), _params(rows, "high")
    declared: Mapping[str, Any] = spec.transforms.get(node, {})
    max_lag = int(declared.get("carryover", {}).get("max_lag", 8)) if carry_kind != "none" else 0
    unit = spec.units.get(node, "spend")
    per = spec.time_grain

    def weights(params: Mapping[str, float]) -> np.ndarray:
        w = carryover_weights(carry_kind, params, max_lag)
        return np.asarray(w / w.sum())

    def corners(names: tuple[str, ...]) -> list[dict[str, float]]:
        """Every combination of each parameter's interval ends (finite ones), plus the estimate."""
        ends = [[x for x in (low.get(p, np.nan), value[p], high.get(p, np.nan)) if np.isfinite(x)] for p in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*ends)]

    lag_frame = pd.DataFrame({"lag": np.arange(max_lag + 1), "weight": weights(value)})
    if PARAMETERS[carry_kind]:
        ws = np.array([weights({**value, **c}) for c in corners(PARAMETERS[carry_kind])])
        lag_frame["low"], lag_frame["high"] = ws.min(axis=0), ws.max(axis=0)
    else:
        lag_frame["low"] = lag_frame["high"] = lag_frame["weight"]
    panel_w, panel_h = (DIALOG_WIDTH - 110) // 2, 220
    bars = (
        alt.Chart(lag_frame)
        .mark_bar(color="#4C78A8")
        .encode(
            x=alt.X("lag:O", title=f"{per}s after the spend"),
            y=alt.Y("weight:Q", title="share of the spend's effect"),
            tooltip=["lag:O", alt.Tooltip("weight:Q", format=".3f")],
        )
    )
    whiskers = alt.Chart(lag_frame).mark_rule(color="black").encode(x="lag:O", y="low:Q", y2="high:Q")
    carry_title = "no carryover" if carry_kind == "none" else f"carryover ({carry_kind})"
    left = alt.layer(bars, whiskers).properties(width=panel_w, height=panel_h, title=carry_title)

    level = np.asarray(learned.levels.get(node, np.array([0.0])), dtype=float)
    lo_obs, hi_obs = float(np.nanmin(level)), float(np.nanmax(level))
    # the observed range and a little beyond (a half-saturation far outside it, unidentified, would flatten the view)
    top = hi_obs * 1.3 if hi_obs > 0 else max(2.0 * value.get("half_saturation", 0.0), 1.0)
    x = np.linspace(0.0, top, CURVE_POINTS)
    curves = np.array([saturate(sat_kind, {**value, **c}, x) for c in corners(PARAMETERS[sat_kind])])
    curve = pd.DataFrame(
        {"level": x, "response": saturate(sat_kind, value, x), "low": curves.min(axis=0), "high": curves.max(axis=0)}
    )
    if sat_kind == "none":  # the level itself: scale to the observed maximum so the panel reads 0..1 as the others
        scale = max(hi_obs, 1e-12)
        curve[["response", "low", "high"]] = curve[["response", "low", "high"]] / scale
    x_enc = alt.X("level:Q", title=f"carried-over spend per {per} ({unit})", axis=alt.Axis(format="~s"))
    observed = (
        alt.Chart(pd.DataFrame({"start": [lo_obs], "end": [hi_obs]}))
        .mark_rect(color="#F2CF5B", opacity=0.35)
        .encode(x="start:Q", x2="end:Q")
    )
    band = alt.Chart(curve).mark_area(color="#4C78A8", opacity=0.25).encode(x=x_enc, y="low:Q", y2="high:Q")
    line = (
        alt.Chart(curve)
        .mark_line(color="#4C78A8")
        .encode(x=x_enc, y=alt.Y("response:Q", title="share of the maximum effect"))
    )
    sat_title = "no saturation" if sat_kind == "none" else f"saturation ({sat_kind.replace('_', '-')})"
    right = alt.layer(observed, band, line).properties(width=panel_w, height=panel_h, title=sat_title)
    flags = learned.flags.get(node)
    subtitle = "Bars: weights (ticks: 95 % interval). Band: the 95 % intervals; shaded: the observed range."
    title = f"{node}: learned carryover and saturation" + (" (NOT IDENTIFIED)" if flags else "")
    why = wrap("Not identified: " + "; ".join(flags), 95)[:2] if flags else []
    return alt.hconcat(left, right).properties(title=alt.Title(wrap(title, 66), subtitle=[subtitle, *why]))


def transforms_metadata(
    spec: IciSpec, learned: LearnedTable, lines: list[str], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """The SCM asset's metadata with the learned transforms: the summary gains one line per spend node (values and
    intervals: no table preview, which would widen the Overview tab past its box), the nodes not identified,
    each learned value as a float (plotted over materialisations) and a chart per spend node."""
    import dagster as dg
    import numpy as np

    from ici_assets.publish.metadata import SUMMARY, chart_metadata, tidy

    out = dict(metadata)
    head = str(out[SUMMARY].value) if SUMMARY in out else ""
    out[SUMMARY] = dg.MetadataValue.md("\n\n".join([head, "Learned: " + "; ".join(lines) + "."]).strip())
    out["not_identified"] = dg.MetadataValue.text(", ".join(learned.flags) or "none")
    shown = learned.table[learned.table["parameter"].notna()]
    for node, parameter, value in zip(shown["node"], shown["parameter"], shown["value"].astype(float)):
        if np.isfinite(value):  # short keys: the Overview tab's metadata box stays unscrolled
            out[f"{SHORT_KEYS.get(str(parameter), parameter)}/{node}"] = tidy(value)
    for node in dict.fromkeys(learned.table["node"].astype(str)):
        chart = transform_chart(spec, learned, node)
        out.update(chart_metadata(f"chart/{node}", chart, f"{node}: learned carryover and saturation"))
    return out
