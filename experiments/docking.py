"""The classic diffusion laws docked against NDlib (Rossetti et al. 2018), an implementation
written by others: the same graph, the same seed share, the mean share of adopters per
step over many runs of each (docs/validation.md, *The classic laws against NDlib*).

NDlib is in the ``test`` extra only (``pip install -e '.[test]'``); this module imports it
when called. A model day d is NDlib's iteration d − 1 (its iteration 0 is the seeds).

    from experiments.docking import DOCKED, docking
    result = docking("cascade", "erdos_renyi", runs=200)   # mean curves, their standard errors
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.build import build_config
from sim.model import MarketModel

#: The graphs docked: network.kind -> its keys (a few thousand consumers, mean degree 8).
GRAPHS = {
    "barabasi_albert": {"kind": "barabasi_albert", "mean_degree": 8},
    "erdos_renyi": {"kind": "erdos_renyi", "mean_degree": 8},
    "watts_strogatz": {"kind": "watts_strogatz", "mean_degree": 8, "rewire_prob": 0.1},
}
#: The laws docked and their settings: (scenario.law, diffusion keys), away from the critical
#: point (a cascade of probability p on mean degree 8 is critical near p = 1/8 on ER).
DOCKED = {
    "cascade_p05": ("cascade", {"cascade_probability": 0.05}),
    "cascade_p25": ("cascade", {"cascade_probability": 0.25}),
    "threshold_15": ("threshold", {"threshold": 0.15}),
    "threshold_25": ("threshold", {"threshold": 0.25}),
}
SIZE = 3000  # consumers of the docked graphs
SEED_SHARE = 0.02  # share of consumers adopting on day 1 (NDlib: fraction_infected)
STEPS = 20  # NDlib iterations after the seeds (model days 2..STEPS + 1)
MARKET_SEED = 11  # the one graph both sides run on
#: a docking fails where |z| exceeds this at any step: about 20 steps x 12 dockings, so a false
#: alarm at |z| > 4 is about 1 in 100 full runs (tests/test_docking.py, scripts/docking.py)
TOLERANCE_Z = 4.0


@dataclass
class Docked:
    """Mean adopter share per step (index 0: the seeds) of the model and of NDlib, with the
    standard error of each mean, over ``runs`` runs each."""

    model: np.ndarray
    model_se: np.ndarray
    ndlib: np.ndarray
    ndlib_se: np.ndarray
    runs: int

    @property
    def z(self) -> np.ndarray:
        """The difference of the means per step in standard errors of the difference (where
        neither side has any spread: 0 if the means are equal, else infinite)."""
        se = np.hypot(self.model_se, self.ndlib_se)
        diff = self.model - self.ndlib
        flat = np.where(np.abs(diff) <= 1e-12, 0.0, np.copysign(np.inf, diff))
        return np.divide(diff, se, out=flat, where=se > 0)


def law_config(law: str, diffusion: dict, graph: str, seed: int, size: int = SIZE, steps: int = STEPS,
               seed_share: float = SEED_SHARE):
    """The model's config of one docked run: ``law`` alone on ``graph`` (market fixed)."""
    return build_config(seed=seed, market_seed=MARKET_SEED, days=steps + 1, scenario={"name": law, "law": law},
                        network=GRAPHS[graph], population={"size": size, "kols": {"count": 0}},
                        market={"merchants": 1, "products_per_merchant": 1},
                        diffusion={"seed_share": seed_share, **diffusion})


def model_curves(law: str, diffusion: dict, graph: str, runs: int, first_seed: int = 0, **kw) -> np.ndarray:
    """Adopter share per day of ``runs`` model runs (seeds first_seed, ...), shape (runs, days)."""
    out = []
    for seed in range(first_seed, first_seed + runs):
        model = MarketModel(law_config(law, diffusion, graph, seed, **kw)).run()
        out.append(model.metrics.frame()["adopters"].to_numpy() / model.n)
    return np.array(out)


def networkx_graph(network):
    """The model's friendship CSR as a networkx graph on nodes 0..N-1."""
    import networkx as nx

    return nx.from_scipy_sparse_array(network.adjacency)


def ndlib_curves(law: str, diffusion: dict, graph, runs: int, steps: int = STEPS, seed_share: float = SEED_SHARE,
                 first_seed: int = 0) -> np.ndarray:
    """Adopter share per iteration (0: the seeds) of ``runs`` NDlib runs on the networkx
    ``graph``, shape (runs, steps + 1): ``IndependentCascadesModel`` with every edge's
    ``threshold`` set to the cascade probability (NDlib's default is 1/degree), or
    ``ThresholdModel`` with every node's threshold; ``fraction_infected`` seeds."""
    import ndlib.models.ModelConfig as mc
    import ndlib.models.epidemics as ep

    config = mc.Configuration()
    config.add_model_parameter("fraction_infected", seed_share)
    if law == "cascade":
        for edge in graph.edges():
            config.add_edge_configuration("threshold", edge, diffusion["cascade_probability"])
        make, adopted = ep.IndependentCascadesModel, (1, 2)  # infected now, or removed (infected before)
    elif law == "threshold":
        for node in graph.nodes():
            config.add_node_configuration("threshold", node, diffusion["threshold"])
        make, adopted = ep.ThresholdModel, (1,)
    else:
        raise ValueError(f"NDlib has no law {law!r} here; docked: cascade, threshold")
    n = graph.number_of_nodes()
    out = np.zeros((runs, steps + 1))
    for r in range(runs):
        model = make(graph, seed=first_seed + r)
        model.set_initial_status(config)
        for step, it in enumerate(model.iteration_bunch(steps + 1, node_status=False)):
            out[r, step] = sum(it["node_count"].get(s, 0) for s in adopted) / n
    return out


def wrong_law(name: str) -> tuple[str, dict]:
    """A law that must fail the docking of ``DOCKED[name]``: for a cascade, activation
    chances that repeat every day (the Goldenberg law with α = 0, β = p, every adopter
    talking to the end); for a threshold, the threshold off by 0.1. (label, the model's
    ``{"law": ..., diffusion keys}``)."""
    law, diffusion = DOCKED[name]
    if law == "cascade":
        p = diffusion["cascade_probability"]
        return "chances that repeat every day", {"law": "goldenberg", "innovation": 0.0, "strong_tie": p,
                                                 "weak_tie": p, "talking_days": 10_000}
    return "threshold off by 0.1", {"threshold": round(diffusion["threshold"] + 0.1, 10)}


_NDLIB: dict[tuple, np.ndarray] = {}  # NDlib's curves, kept for the wrong law's docking


def docking(name: str, graph: str, runs: int, wrong: dict | None = None, **kw) -> Docked:
    """Dock ``DOCKED[name]`` on ``GRAPHS[graph]``: ``runs`` model runs and ``runs`` NDlib runs
    on the same graph (``kw``: ``size``, ``steps``, ``seed_share``). ``wrong`` changes the
    model's side only (``{"law": ..., diffusion keys}``, :func:`wrong_law`), to show that a
    wrong law is told apart; NDlib's runs are kept from the right law's docking."""
    law, diffusion = DOCKED[name]
    key = (name, graph, runs, tuple(sorted(kw.items())))
    if key not in _NDLIB:
        network = MarketModel(law_config(law, diffusion, graph, 0, **kw)).network
        _NDLIB[key] = ndlib_curves(law, diffusion, networkx_graph(network), runs,
                                   **{k: v for k, v in kw.items() if k in ("steps", "seed_share")})
    theirs = _NDLIB[key]
    ours_law, ours = law, dict(diffusion)
    if wrong:
        wrong = dict(wrong)
        ours_law = wrong.pop("law", law)
        ours.update(wrong)
    mine = model_curves(ours_law, ours, graph, runs, **kw)
    se = lambda a: a.std(axis=0, ddof=1) / np.sqrt(len(a))  # noqa: E731
    return Docked(mine.mean(axis=0), se(mine), theirs.mean(axis=0), se(theirs), runs)
