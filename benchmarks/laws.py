"""The classic diffusion laws against NDlib: wall time per step on the same graph.

    .venv/bin/python -m benchmarks.laws                    # 10^4 and 10^5 nodes
    .venv/bin/python -m benchmarks.laws --sizes 10000      # one size

Each law of ``experiments.docking`` (independent cascade at p = 0.25, linear threshold at
θ = 0.15; 2 % seeds) runs for 20 steps on one Barabási–Albert graph of mean degree 8, in
the model (``scenario.law``; a step is a day, set-up excluded) and in NDlib (a step is an
iteration; its configuration and the networkx graph excluded), one process, one after
the other. The Goldenberg law, which NDlib lacks, runs in the model alone, and so do all
three at ``--alone`` sizes (10^6: set-up and 21 days, whole run timed too). One JSON line
per (law, size) on stdout: seconds per step of each side and their ratio, and the final
adopter shares (a check that both did the same work). docs/performance.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

STEPS = 20
LAWS = {"cascade": {"cascade_probability": 0.25}, "threshold": {"threshold": 0.15},
        "goldenberg": {"innovation": 0.0, "strong_tie": 0.25, "weak_tie": 0.25, "talking_days": 1}}


def model_per_step(law: str, diffusion: dict, size: int) -> tuple[float, float, object]:
    from experiments.docking import law_config
    from sim.model import MarketModel

    config = law_config(law, diffusion, "barabasi_albert", seed=0, size=size, steps=STEPS)
    model = MarketModel(config)
    model.step()  # day 1: the seeds (NDlib's iteration 0)
    start = time.perf_counter()
    for _ in range(STEPS):
        model.step()
    per_step = (time.perf_counter() - start) / STEPS
    return per_step, model.n_adopters / model.n, model.network


def ndlib_per_step(law: str, diffusion: dict, graph) -> tuple[float, float]:
    import ndlib.models.ModelConfig as mc
    import ndlib.models.epidemics as ep

    config = mc.Configuration()
    config.add_model_parameter("fraction_infected", 0.02)
    if law == "cascade":
        for edge in graph.edges():
            config.add_edge_configuration("threshold", edge, diffusion["cascade_probability"])
        model, adopted = ep.IndependentCascadesModel(graph, seed=0), (1, 2)
    else:
        for node in graph.nodes():
            config.add_node_configuration("threshold", node, diffusion["threshold"])
        model, adopted = ep.ThresholdModel(graph, seed=0), (1,)
    model.set_initial_status(config)
    model.iteration(node_status=False)  # iteration 0: the seeds
    start = time.perf_counter()
    for _ in range(STEPS):
        it = model.iteration(node_status=False)
    per_step = (time.perf_counter() - start) / STEPS
    return per_step, sum(it["node_count"].get(s, 0) for s in adopted) / graph.number_of_nodes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--alone", type=int, nargs="*", default=[1_000_000],
                        help="sizes the model runs alone, without NDlib (default 10^6)")
    args = parser.parse_args()
    from importlib.metadata import version

    from experiments.docking import networkx_graph

    print(json.dumps({"machine": platform.machine(), "python": platform.python_version(),
                      "numpy": np.__version__, "ndlib": version("ndlib"), "networkx": version("networkx")}),
          flush=True)
    for size in args.sizes:
        for law, diffusion in LAWS.items():
            ours, share, network = model_per_step(law, diffusion, size)
            row = {"law": law, "nodes": size, "edges": network.n_edges, "model_s_per_step": round(ours, 5),
                   "model_share": round(share, 4)}
            if law != "goldenberg":
                theirs, their_share = ndlib_per_step(law, diffusion, networkx_graph(network))
                row.update(ndlib_s_per_step=round(theirs, 5), ndlib_share=round(their_share, 4),
                           ndlib_over_model=round(theirs / ours, 1))
            print(json.dumps(row), flush=True)
    for size in args.alone:
        for law, diffusion in LAWS.items():
            start = time.perf_counter()
            ours, share, network = model_per_step(law, diffusion, size)
            print(json.dumps({"law": law, "nodes": size, "edges": network.n_edges, "model_s_per_step": round(ours, 5),
                              "model_share": round(share, 4),
                              "model_whole_run_s": round(time.perf_counter() - start, 2)}), flush=True)


if __name__ == "__main__":
    main()
