"""The anomalies asset's rows, sentences and chart: one row per (unit-period, node) of ``ici.anomalies``.

Each explained unit-period gets its target's deviation from expectation, its score and flag, and each node's
contribution (in the target's units and in points of the expected target), ranked by size. A flagged
unit-period gets one sentence: "Revenue in r07 on 2025-03-04 was 18.0 % below expected: the social_clicks
mechanism -14.1 points, demand -3.2 points."
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ici_assets.publish.charts import DIALOG_WIDTH, PALETTE, wrap
from ici_assets.publish.decision_charts import node_label
from ici_assets.publish.rows import ResultKey
from ici_assets.publish.versions import scm_code_version, stable_hash
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import ANOMALIES, ANOMALIES_HISTORY, Append, Publish, Replace

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

#: At most this many nodes are named in a sentence, largest first (the rest summed).
SENTENCE_NODES = 3
#: The chart shows at most this many unit-periods: the flagged ones, highest score first, else the top scores.
CHART_ROWS = 8


def anomalies_code_version(spec: IciSpec) -> str:
    """Hash of what changes the anomaly rows: the SCM's code version and the anomalies block."""
    assert spec.anomalies is not None
    return stable_hash({"scm": scm_code_version(spec), "anomalies": spec.anomalies.model_dump(mode="json")})


def unit_label(values: Any) -> str:
    """A unit's values joined by '/' ('' for one national series)."""
    return "/".join(str(v) for v in values)


def anomaly_sentence(rows: pd.DataFrame, *, target: str, top: int = SENTENCE_NODES) -> str:
    """One unit-period's rows (one per node) as "Revenue in r07 on 2025-03-04 was 18.0 % below expected: the
    social_clicks mechanism -14.1 points, demand -3.2 points." Points are of the expected target; without a
    usable expectation (zero) the contributions are given in the target's units."""
    import numpy as np

    first = rows.iloc[0]
    expected, deviation = float(first["expected"]), float(first["deviation"])
    where = f" in {first['unit']}" if first["unit"] else ""
    name = f"{target[:1].upper()}{target[1:]}"
    by_size = rows.reindex(rows["contribution"].abs().sort_values(ascending=False, kind="stable").index)
    parts = []
    if expected:
        pct = 100.0 * deviation / expected
        head = f"{name}{where} on {first['period']} was {abs(pct):.1f} % {'above' if pct >= 0 else 'below'} expected"
        values = 100.0 * by_size["contribution"].to_numpy(dtype=float) / expected
        unit = "points"
    else:
        head = f"{name}{where} on {first['period']} was {deviation:+,.1f} from expected"
        values, unit = by_size["contribution"].to_numpy(dtype=float), ""
    for node, mech, v in zip(by_size["node"][:top], by_size["mechanism"][:top], values[:top]):
        parts.append(f"{node_label(node, 'distribution' if mech == 'root' else 'mechanism')} {v:+.1f} {unit}".rstrip())
    rest = values[top:]
    if len(rest):
        parts.append(f"the other {len(rest)} nodes {np.sum(rest):+.1f} {unit} together".rstrip())
    return f"{head}: {', '.join(parts)}."


def anomaly_rows(
    spec: IciSpec, table: pd.DataFrame, keys: pd.DataFrame, key: ResultKey, data_version: str
) -> pd.DataFrame:
    """The engine's table (``row`` indexes ``keys``, which holds each row's ``period`` and ``unit``) as rows of
    ``ici.anomalies``: points of the expected target, rank by |contribution| (1: largest), a sentence on every
    node row of a flagged unit-period."""
    import numpy as np

    out = table.merge(keys[["period", "unit"]], left_on="row", right_index=True, how="left")
    expected = out["expected"].to_numpy(dtype=float)
    out["points"] = np.where(expected != 0, 100.0 * out["contribution"] / np.where(expected != 0, expected, 1), np.nan)
    out["rank"] = out.groupby("row")["contribution"].transform(lambda s: s.abs().rank(ascending=False, method="first"))
    out["rank"] = out["rank"].astype("int64")
    sentences = {r: anomaly_sentence(g, target=spec.target) for r, g in out[out["flagged"]].groupby("row", sort=False)}
    out["sentence"] = out["row"].map(sentences)
    out = out.sort_values(["period", "unit", "rank"], kind="stable").reset_index(drop=True)
    return out.assign(
        asset_key=key.asset_key,
        model=spec.model,
        target=spec.target,
        code_version=key.code_version,
        data_version=data_version,
        materialized_at=datetime.now(UTC),
        run_id=key.run_id,
    )[ANOMALIES.column_names]


def anomaly_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace the asset's current anomaly rows; append them to the history."""
    return [Replace(ANOMALIES, rows, ("asset_key",)), Append(ANOMALIES_HISTORY, rows)]


def flagged_sentences(rows: pd.DataFrame) -> list[str]:
    """One sentence per flagged unit-period, highest score first."""
    flagged = rows[rows["flagged"]].drop_duplicates(["period", "unit"]).sort_values("score", ascending=False)
    return [str(s) for s in flagged["sentence"]]


def anomalies_chart(rows: pd.DataFrame, *, target: str, title: str, unit: str = "") -> alt.TopLevelMixin:
    """Stacked bars of each node's contribution for the flagged unit-periods (else the highest scores), one bar
    per unit-period, with the target's deviation as a black tick: where the gap came from."""
    import altair as alt

    per = rows.drop_duplicates(["period", "unit"]).sort_values(["flagged", "score"], ascending=False)
    shown = per.head(CHART_ROWS)
    label = {
        (p, u): f"{u + ' ' if u else ''}{p} (score {s:.1f})"
        for p, u, s in zip(shown["period"], shown["unit"], shown["score"])
    }
    data = rows[[(p, u) in label for p, u in zip(rows["period"], rows["unit"])]].copy()
    data["unit_period"] = [label[(p, u)] for p, u in zip(data["period"], data["unit"])]
    data = data[["unit_period", "node", "contribution", "deviation"]]  # plain JSON types for the spec
    order = [label[k] for k in zip(shown["period"], shown["unit"])]
    y = alt.Y("unit_period:N", sort=order, title=None)
    x_title = f"contribution to the deviation of {target}" + (f" ({unit})" if unit else "")
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title=x_title, axis=alt.Axis(format="~s")),
            y=y,
            color=alt.Color("node:N", scale=alt.Scale(scheme=PALETTE), legend=alt.Legend(orient="bottom", columns=4)),
            tooltip=["unit_period:N", "node:N", alt.Tooltip("contribution:Q", format=",.1f")],
        )
    )
    ticks = (
        alt.Chart(data.drop_duplicates("unit_period"))
        .mark_tick(color="black", thickness=3, size=18)
        .encode(x="deviation:Q", y=y, tooltip=["unit_period:N", alt.Tooltip("deviation:Q", format=",.1f")])
    )
    zero = alt.Chart().mark_rule(color="#666666", strokeWidth=0.8).encode(x=alt.datum(0))
    return alt.layer(bars, ticks, zero).properties(
        title=alt.Title(wrap(title, 66), subtitle="Black tick: the target's deviation (the bars sum to it)."),
        width=DIALOG_WIDTH,
        height=max(60, 26 * len(order)),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),  # labels included: fits the dialog
    )
