"""E[target | do(nodes = levels)] of a fitted SCM, the one evaluator behind spend response and budget.

The expectation runs over the empirical noise rows: row r keeps its own noise for every node, the set
nodes are fixed and their descendants recomputed through the fitted mechanisms. Without an
intervention this reproduces the data (noises are residuals), so the current level's answer and
the observed mean agree. Where every mechanism on the paths from the set nodes to the target is
linear, E[Y | do(x)] = mean(Y) + sum_j a_j (x_j - mean X_j) exactly, with a_j the total effect of
node j in the graph cut at the set nodes (path sums of fitted coefficients, `total_effects`).
Otherwise the rows are simulated (at most `n_samples`, a seeded subsample beyond) and the Monte Carlo
standard error is the rows' standard deviation over sqrt(rows), times the finite-population correction
sqrt((n - m) / (n - 1)) of m rows drawn without replacement from n: with every row simulated the
expectation over the fitted model's (empirical) noise distribution is exact and its Monte Carlo error 0
(the sampling error of the data is the bootstrap interval's to show). `use_samples` grows the subsample
(nested: the first m rows stay), so a caller can add draws until the error is small enough
(:mod:`.montecarlo`).

Spend nodes with learned carryover and saturation (``fit_scm(transforms=...)``; the SCM holds such a node as its
transformed series g(s) = saturation(carryover(s))). A level x of such a node is its mean spend per row, and
do(spend = x) scales the node's observed spend of every unit and period by f = x / mean(spend): the flighting
(which weeks and regions get more) is kept, the carryover windows are recomputed per unit in time order exactly
as in the fit (carryover is linear, so the carried-over level becomes f times the observed one) and the
children see saturation(f * carried) row by row. At f = 1 this is the data itself, so the current level
reproduces the observed mean exactly; at x = 0 the channel is off. Where the children and every mechanism down
to the target are linear in the transformed series, E[Y | do(x)] = mean(Y) + a (mean g(f) - mean g(1)) exactly,
a the total effect of the transformed series, and the marginal return is a * mean(g'(f carried) carried) /
mean(spend) (exact derivatives of the saturation); otherwise the rows are simulated as above with the node set to
its per-row transformed series. The bootstrap's refitted SCMs carry refitted transform parameters (``refit``),
so the intervals include their uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from ._threads import serial
from .effects import total_effects
from .forward import Forward
from .scm import FittedSCM
from .transforms import saturate, saturation_slope
from .validation import relevant_nodes

Levels = Sequence[float] | np.ndarray  # one level per node, in the evaluator's node order
DEFAULT_SAMPLES = 20_000
STEP = 0.1  # central-difference step for marginal returns, in standard deviations of the node


class Interventional:
    """Expected target under do(nodes = levels) for a fixed set of nodes, closed form where linear."""

    def __init__(
        self,
        scm: FittedSCM,
        target: Any,
        nodes: Sequence[Any],
        *,
        n_samples: int = DEFAULT_SAMPLES,
        seed: int = 0,
        simulate: bool = False,
    ):
        """`simulate`: use forward passes even where the closed form applies (to check one against the other)."""
        if target not in scm.graph:
            raise ValueError(f"target {target!r} is not a node of the fitted SCM's graph")
        self.order = relevant_nodes(scm.graph, target)
        self.nodes = list(nodes)
        for node in self.nodes:
            if node not in self.order or node == target:
                raise ValueError(
                    f"node {node!r} is not an ancestor of target {target!r} in the fitted SCM: do({node}) cannot move "
                    "the target; fix the node name or the graph"
                )
        categorical = [n for n in self.nodes if n in scm.categories]
        if categorical:
            raise ValueError(
                f"node(s) {categorical!r} are categorical (levels {[list(scm.categories[n]) for n in categorical]}): "
                "a spend response, return or budget needs a numeric spend node; remove them from decisions' "
                "spend nodes (a categorical node still gets its ICI share)"
            )
        if len(set(map(str, self.nodes))) != len(self.nodes):
            raise ValueError(f"nodes {self.nodes!r} repeat a node: give each once")
        data = scm.data
        self.target, self.seed, self.n_data, self.n_periods = target, seed, len(data), scm.n_periods
        missing = [n for n in self.nodes if n in scm.transforms and n not in scm.spend_lags]
        if missing:
            raise ValueError(
                f"node(s) {missing!r} carry learned transforms but the fitted SCM has no spend series for them: "
                "fit it with fit_scm(transforms=...) (not a copy without spend_lags)"
            )
        #: position in `nodes` -> (its transform, carried-over level per row): the nodes set by scaling their spend
        self.learned = {j: (scm.transforms[n], scm.carried(n)) for j, n in enumerate(self.nodes) if n in scm.spend_lags}
        spend = [scm.spend(n) for n in self.nodes]
        self.current = np.array([float(v.mean()) for v in spend])
        self.sd = np.array([float(v.std(ddof=0)) for v in spend])
        self.observed = np.array([[float(v.min()), float(v.max())] for v in spend])
        for j in self.learned:
            if not self.current[j] > 0:
                raise ValueError(
                    f"spend node {self.nodes[j]!r} has learned transforms and a mean spend of {self.current[j]:g}: a "
                    "level scales its observed spend, which needs spend above zero; check the column"
                )
        self.mean_target = float(data[target].mean())
        cut = set(self.nodes)
        on_paths = {m for n in self.nodes for m in nx.descendants(scm.graph, n)} & set(self.order)
        self.path = [m for m in self.order if m in on_paths and m not in cut]
        #: closed form: every mechanism on the paths is linear (in the transformed series of learned nodes)
        self.closed = scm.is_linear(self.path) and not simulate
        #: the expected target is linear in the levels (no diminishing returns): closed form and nothing learned
        self.linear = self.closed and not self.learned
        self._scm = scm
        if self.closed:
            coefs = {m: scm.linear_coefficients(m) for m in self.path}
            effects = total_effects(self.order, coefs, target)
            self.slope = np.array([float(effects[n]) for n in self.nodes])
            self.n_rows = self.n_data
            self.base_target = data[target].to_numpy(dtype=float)
            self.base_learned = {j: data[self.nodes[j]].to_numpy(dtype=float) for j in self.learned}
            self.rows = np.arange(self.n_data)
            return
        rng = np.random.default_rng([seed, 0xD0])
        n = len(data)
        first = rng.choice(n, n_samples, replace=False) if n > n_samples else np.arange(n)
        self._draws, self._rng = first, rng  # the order rows are drawn in (nested); the rest when first needed
        pos = {m: i for i, m in enumerate(self.order)}
        self.idx = [pos[m] for m in self.nodes]
        self.fw = Forward(scm, self.order)
        self.use_samples(len(first))

    def series(self, j: int, level: float, rows: np.ndarray | None = None) -> np.ndarray:
        """The transformed series of learned node j (position in `nodes`) per row under do(mean spend = level):
        saturation(f * carried-over level), f = level / mean spend (negative levels count as 0)."""
        transform, carried = self.learned[j]
        f = max(float(level), 0.0) / self.current[j]
        c = carried if rows is None else carried[rows]
        return np.asarray(saturate(transform.saturation, transform.params, f * c), dtype=float)

    def _series_slope(self, j: int, level: float) -> float:
        """d mean(series(j, level)) / d level, exact: mean(g'(f carried) carried) / mean spend."""
        transform, carried = self.learned[j]
        f = max(float(level), 0.0) / self.current[j]
        return float(np.mean(saturation_slope(transform.saturation, transform.params, f * carried) * carried)) / float(
            self.current[j]
        )

    def use_samples(self, n_samples: int) -> None:
        """Simulate over the first `n_samples` rows of the seeded draw order (all rows at most); the closed form
        uses every row already."""
        if self.closed:
            return
        m = max(1, min(int(n_samples), self.n_data))
        if m > len(self._draws):  # the other rows, in a seeded order after the first ones
            rest = np.setdiff1d(np.arange(self.n_data), self._draws)
            self._draws = np.concatenate([self._draws, self._rng.permutation(rest)])
        rows = np.sort(self._draws[:m])
        self.noise = np.column_stack([self._scm.noise[m][rows] for m in self.order])
        self.base = [self._scm.data[m].to_numpy(dtype=float)[rows] for m in self.order]
        self.n_rows, self.rows = len(rows), rows

    @property
    def exhaustive(self) -> bool:
        """Whether every row is simulated (or nothing is: closed form): the expectation is then exact."""
        return self.closed or self.n_rows >= self.n_data

    @property
    def observed_target(self) -> np.ndarray:
        """The target of the rows in use, as observed (what per_row gives at the current levels)."""
        return self.base_target if self.closed else self.base[-1]

    def mc_se(self, y: np.ndarray) -> float:
        """Monte Carlo standard error of the mean of `y` over the simulated rows, finite-population corrected."""
        m, n = len(y), self.n_data
        if m >= n or m < 2:
            return 0.0
        return float(y.std(ddof=1) / np.sqrt(m) * np.sqrt((n - m) / (n - 1)))

    @property
    def method(self) -> str:
        """closed_form_linear; closed_form_transforms (linear in the learned transformed series: exact); simulation."""
        return "closed_form_linear" if self.linear else "closed_form_transforms" if self.closed else "simulation"

    def facts_fields(self) -> dict[str, Any]:
        """The facts every decision computed by this evaluator shares (the vocabulary of :mod:`.result`)."""
        return {
            "method": self.method,
            "target": str(self.target),
            "n_rows": self.n_data,
            "seed": self.seed,
            "n_periods": self.n_periods,
            "n_samples": 0 if self.closed else self.n_rows,
        }

    def per_row(self, levels: Levels) -> np.ndarray:
        """Target of every row in use under do(nodes = levels): simulated, or exact in closed form."""
        x = np.asarray(levels, dtype=float)
        if self.closed:
            y = self.base_target.copy()
            for j, a in enumerate(self.slope):
                if j in self.learned:
                    y += a * (self.series(j, x[j]) - self.base_learned[j])
                else:
                    y += a * (x[j] - self.current[j])
            return y
        set_to = {
            i: self.series(j, x[j], self.rows) if j in self.learned else float(x[j]) for j, i in enumerate(self.idx)
        }
        with serial():
            vals = self.fw.intervene(self.base, set_to, self.noise)
        return vals[-1]

    def expected(self, levels: Levels) -> tuple[float, float]:
        """(E[target | do(nodes = levels)], its Monte Carlo standard error; 0 for the closed form)."""
        x = np.asarray(levels, dtype=float)
        if self.closed:
            shift = x - self.current
            for j, base in self.base_learned.items():
                shift[j] = self.series(j, x[j]).mean() - base.mean()
            return self.mean_target + float(self.slope @ np.asarray(shift, dtype=float)), 0.0
        y = self.per_row(x)
        return float(y.mean()), self.mc_se(y)

    def gradient(self, levels: Levels) -> tuple[np.ndarray, np.ndarray]:
        """(d E[target] / d level_j, Monte Carlo standard error) per node at `levels`: the fitted total effects
        where linear (times the exact slope of the mean transformed series for a learned node), else central
        differences over the same rows (step STEP standard deviations; one-sided at a learned node's zero)."""
        x = np.asarray(levels, dtype=float)
        if self.closed:
            scale = np.array([self._series_slope(j, x[j]) if j in self.learned else 1.0 for j in range(len(x))])
            return self.slope * scale, np.zeros(len(x))
        grad, se = np.empty(len(x)), np.empty(len(x))
        for j, h in enumerate(STEP * self.sd):
            up, down = x.copy(), x.copy()
            up[j] += h
            down[j] = max(x[j] - h, 0.0) if j in self.learned else x[j] - h
            diff = (self.per_row(up) - self.per_row(down)) / (up[j] - down[j])
            grad[j], se[j] = diff.mean(), self.mc_se(diff)
        return grad, se

    def levels_of(self, allocation: Mapping[Any, float]) -> np.ndarray:
        """Levels in node order from a {node: level} mapping (every node required)."""
        missing = [n for n in self.nodes if n not in allocation]
        if missing:
            raise ValueError(f"allocation misses node(s) {missing!r}")
        return np.array([float(allocation[n]) for n in self.nodes])
