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
        learned = [n for n in self.nodes if n in scm.transforms]
        if learned:
            raise NotImplementedError(
                f"node(s) {learned!r} carry learned carryover or saturation: the fitted SCM holds them as their "
                "transformed series, so a level here would not be spend. Spend response and budgets through learned "
                "transforms are not wired yet: fit the SCM without transforms= for these decisions"
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
        self.current = np.array([float(data[n].mean()) for n in self.nodes])
        self.sd = np.array([float(data[n].std(ddof=0)) for n in self.nodes])
        self.observed = np.array([[float(data[n].min()), float(data[n].max())] for n in self.nodes])
        self.mean_target = float(data[target].mean())
        cut = set(self.nodes)
        on_paths = {m for n in self.nodes for m in nx.descendants(scm.graph, n)} & set(self.order)
        self.path = [m for m in self.order if m in on_paths and m not in cut]
        self.linear = scm.is_linear(self.path) and not simulate
        if self.linear:
            coefs = {m: scm.linear_coefficients(m) for m in self.path}
            effects = total_effects(self.order, coefs, target)
            self.slope = np.array([float(effects[n]) for n in self.nodes])
            return
        rng = np.random.default_rng([seed, 0xD0])
        n = len(data)
        first = rng.choice(n, n_samples, replace=False) if n > n_samples else np.arange(n)
        self._draws, self._rng = first, rng  # the order rows are drawn in (nested); the rest when first needed
        pos = {m: i for i, m in enumerate(self.order)}
        self.idx = [pos[m] for m in self.nodes]
        self.fw = Forward(scm, self.order)
        self._scm = scm
        self.use_samples(len(first))

    def use_samples(self, n_samples: int) -> None:
        """Simulate over the first `n_samples` rows of the seeded draw order (all rows at most)."""
        m = max(1, min(int(n_samples), self.n_data))
        if m > len(self._draws):  # the other rows, in a seeded order after the first ones
            rest = np.setdiff1d(np.arange(self.n_data), self._draws)
            self._draws = np.concatenate([self._draws, self._rng.permutation(rest)])
        rows = np.sort(self._draws[:m])
        self.noise = np.column_stack([self._scm.noise[m][rows] for m in self.order])
        self.base = [self._scm.data[m].to_numpy(dtype=float)[rows] for m in self.order]
        self.n_rows = len(rows)

    @property
    def exhaustive(self) -> bool:
        """Whether every row is simulated (or nothing is: closed form): the expectation is then exact."""
        return self.linear or self.n_rows >= self.n_data

    def mc_se(self, y: np.ndarray) -> float:
        """Monte Carlo standard error of the mean of `y` over the simulated rows, finite-population corrected."""
        m, n = len(y), self.n_data
        if m >= n or m < 2:
            return 0.0
        return float(y.std(ddof=1) / np.sqrt(m) * np.sqrt((n - m) / (n - 1)))

    @property
    def method(self) -> str:
        return "closed_form_linear" if self.linear else "simulation"

    def facts_fields(self) -> dict[str, Any]:
        """The facts every decision computed by this evaluator shares (the vocabulary of :mod:`.result`)."""
        return {
            "method": self.method,
            "target": str(self.target),
            "n_rows": self.n_data,
            "seed": self.seed,
            "n_periods": self.n_periods,
            "n_samples": 0 if self.linear else self.n_rows,
        }

    def per_row(self, levels: Levels) -> np.ndarray:
        """Target of every simulated row under do(nodes = levels) (simulation only)."""
        with serial():
            vals = self.fw.intervene(self.base, dict(zip(self.idx, map(float, levels))), self.noise)
        return vals[-1]

    def expected(self, levels: Levels) -> tuple[float, float]:
        """(E[target | do(nodes = levels)], its Monte Carlo standard error; 0 for the closed form)."""
        x = np.asarray(levels, dtype=float)
        if self.linear:
            return self.mean_target + float(self.slope @ (x - self.current)), 0.0
        y = self.per_row(x)
        return float(y.mean()), self.mc_se(y)

    def gradient(self, levels: Levels) -> tuple[np.ndarray, np.ndarray]:
        """(d E[target] / d level_j, Monte Carlo standard error) per node at `levels`: the fitted total effects
        where linear, else central differences over the same rows (step STEP standard deviations)."""
        x = np.asarray(levels, dtype=float)
        if self.linear:
            return self.slope.copy(), np.zeros(len(x))
        grad, se = np.empty(len(x)), np.empty(len(x))
        for j, h in enumerate(STEP * self.sd):
            up, down = x.copy(), x.copy()
            up[j] += h
            down[j] -= h
            diff = (self.per_row(up) - self.per_row(down)) / (2 * h)
            grad[j], se[j] = diff.mean(), self.mc_se(diff)
        return grad, se

    def levels_of(self, allocation: Mapping[Any, float]) -> np.ndarray:
        """Levels in node order from a {node: level} mapping (every node required)."""
        missing = [n for n in self.nodes if n not in allocation]
        if missing:
            raise ValueError(f"allocation misses node(s) {missing!r}")
        return np.array([float(allocation[n]) for n in self.nodes])
