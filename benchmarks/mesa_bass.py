"""The Bass law written the idiomatic Mesa way: the comparison baseline and a test oracle.

One :class:`mesa.discrete_space.CellAgent` object per consumer, each on its own
cell of a :class:`mesa.discrete_space.Network` built from a networkx graph; a
:class:`mesa.Model` seeded with ``rng=seed``; each day
``self.agents.shuffle_do("step")`` then ``self.agents.do("advance")``.

The update is synchronous, like the vectorized law of
:class:`agents.laws.Bass` (``scenario.law=bass``): in ``step`` every consumer
who has not adopted decides, on yesterday's state, to adopt with probability
``min(1, p + q x share of its cell's neighbours' agents that have adopted)``
(a draw from ``self.model.rng``), and stores the decision in ``next_adopted``;
``advance`` applies it. So the two implementations follow the same stochastic
law, with different random numbers: they agree in distribution, not draw for
draw.

To run both on the *same* graph, take the vectorized model's friendship
network and convert it with :func:`graph_from_network` (or
:func:`graph_from_model`).
"""

from __future__ import annotations

import time

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import CellAgent, Network


class BassConsumer(CellAgent):
    """A consumer on a network cell; adopts once, for good."""

    def __init__(self, model: "BassMesaModel", cell) -> None:
        super().__init__(model)
        self.cell = cell
        self.adopted = False
        self.next_adopted = False

    def step(self) -> None:
        """Decide on yesterday's state (synchronous update); apply in :meth:`advance`."""
        self.next_adopted = self.adopted
        if self.adopted:
            return
        neighbours = list(self.cell.neighborhood.agents)
        share = sum(a.adopted for a in neighbours) / len(neighbours) if neighbours else 0.0
        if self.model.rng.random() < min(1.0, self.model.p + self.model.q * share):
            self.next_adopted = True

    def advance(self) -> None:
        self.adopted = self.next_adopted


class BassMesaModel(mesa.Model):
    """The Bass law on ``graph``: one :class:`BassConsumer` per node; ``step()`` is one day.

    ``adopters`` holds cumulative adopters at the end of each simulated day.
    """

    def __init__(self, graph: nx.Graph, p: float, q: float, seed: int) -> None:
        super().__init__(rng=seed)
        self.p, self.q = float(p), float(q)
        # layout=None: a purely topological network (the default runs nx.spring_layout).
        self.space = Network(graph, capacity=1, random=self.random, layout=None)
        for node in graph.nodes:
            BassConsumer(self, self.space[node])
        self.adopters: list[int] = []

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.agents.do("advance")
        self.adopters.append(self.agents.agg("adopted", sum))


def run_mesa_bass(graph: nx.Graph, p: float, q: float, days: int, seed: int) -> np.ndarray:
    """Cumulative adopters at the end of days 1..``days`` (int64 array of length ``days``)."""
    model = BassMesaModel(graph, p, q, seed)
    for _ in range(days):
        model.step()
    return np.asarray(model.adopters, dtype=np.int64)


def time_mesa_bass(graph: nx.Graph, p: float, q: float, days: int, seed: int) -> dict:
    """Build and run, timed separately: ``build_s`` (Network space + agents), ``simulate_s``,
    ``per_day_s``, and the adoption curve ``adopters``."""
    t0 = time.perf_counter()
    model = BassMesaModel(graph, p, q, seed)
    t1 = time.perf_counter()
    for _ in range(days):
        model.step()
    t2 = time.perf_counter()
    return {"build_s": t1 - t0, "simulate_s": t2 - t1, "per_day_s": (t2 - t1) / days,
            "adopters": np.asarray(model.adopters, dtype=np.int64)}


# --------------------------------------------------------------------------- same graph
def graph_from_network(network) -> nx.Graph:
    """The networkx graph of a :class:`sim.network.SocialNetwork` (nodes 0..n-1, same ties).

    The sparse adjacency is converted with ``networkx.from_scipy_sparse_array``;
    the complete graph (``adjacency is None``) becomes ``networkx.complete_graph(n)``.
    """
    if network.adjacency is None:
        return nx.complete_graph(network.n)
    return nx.from_scipy_sparse_array(network.adjacency)


def graph_from_model(model) -> nx.Graph:
    """The friendship graph of a :class:`sim.model.MarketModel` as networkx."""
    return graph_from_network(model.network)


def vectorized_bass_config(size: int, p: float, q: float, days: int, seed: int,
                           mean_degree: float = 10.0, kind: str = "barabasi_albert"):
    """The config of the vectorized Bass law (scenario ``bass``) on a sparse graph."""
    from sim.build import build_config

    return build_config(
        scenario={"name": "bass", "law": "bass"},
        network={"kind": kind, "mean_degree": mean_degree},
        population={"size": size, "kols": {"count": 0}},
        market={"merchants": 1, "products_per_merchant": 1},
        diffusion={"innovation": p, "imitation": q},
        days=days, seed=seed,
    )
