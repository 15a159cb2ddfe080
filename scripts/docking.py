"""The classic laws docked against NDlib: the numbers and the plot of docs/validation.md.

    .venv/bin/python scripts/docking.py --runs 300     # 4 laws x 3 graphs (~14 min on 2 cores)

For each law of ``experiments.docking.DOCKED`` on each graph of ``GRAPHS`` (3,000
consumers, mean degree 8, 2 % seeds, 20 steps): ``runs`` model runs and ``runs`` NDlib runs
on the same graph, the mean adopter share per step, its standard error, and the largest
difference in standard errors (|z|); then the same for the wrong law of ``wrong_law`` (a
cascade whose chances repeat every day, a threshold off by 0.1), which must be told apart.
Writes ``results/docking.json`` and ``docs/validation/docking.png`` (under the current
folder); prints a table. tests/test_docking.py makes the assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from experiments.docking import DOCKED, GRAPHS, SIZE, STEPS, TOLERANCE_Z, docking, wrong_law  # noqa: E402


def dock_one(name: str, graph: str, runs: int) -> dict:
    start = time.perf_counter()
    right = docking(name, graph, runs)
    label, wrong = wrong_law(name)
    bad = docking(name, graph, runs, wrong=wrong)
    return {"law": name, "graph": graph, "runs": runs, "seconds": round(time.perf_counter() - start, 1),
            "model": right.model.round(6).tolist(), "model_se": right.model_se.round(6).tolist(),
            "ndlib": right.ndlib.round(6).tolist(), "ndlib_se": right.ndlib_se.round(6).tolist(),
            "max_abs_z": round(float(abs(right.z).max()), 3),
            "max_abs_diff": round(float(abs(right.model - right.ndlib).max()), 5),
            "max_se": round(float(max(right.model_se.max(), right.ndlib_se.max())), 5),
            "wrong": label, "wrong_model": bad.model.round(6).tolist(),
            "wrong_max_abs_z": round(float(abs(bad.z).max()), 3)}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names, graphs = list(DOCKED), list(GRAPHS)
    fig, axes = plt.subplots(len(names), len(graphs), figsize=(11, 11), sharex=True, sharey="row")
    for r in rows:
        ax = axes[names.index(r["law"]), graphs.index(r["graph"])]
        steps = np.arange(len(r["ndlib"]))
        lo = np.array(r["ndlib"]) - 2 * np.array(r["ndlib_se"])
        hi = np.array(r["ndlib"]) + 2 * np.array(r["ndlib_se"])
        ax.fill_between(steps, lo, hi, color="tab:orange", alpha=0.3, label="NDlib ± 2 s.e.")
        ax.plot(steps, r["ndlib"], color="tab:orange")
        ax.plot(steps, r["model"], "o", ms=3, color="tab:blue", label="socialsim")
        ax.plot(steps, r["wrong_model"], "--", color="grey", lw=1, label="socialsim, a wrong law (in the title)")
        ax.set_title(f"{r['law']} · {r['graph']}: max |z| {r['max_abs_z']:.1f}\nwrong: {r['wrong']}, "
                     f"max |z| {r['wrong_max_abs_z']:.0f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("step (NDlib iteration; model day − 1)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("adopter share", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Mean adopter share per step, {rows[0]['runs']} runs each, {SIZE:,} nodes", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs of each side per law and graph (300)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--out", type=Path, default=Path("results/docking.json"))
    parser.add_argument("--plot", type=Path, default=Path("docs/validation/docking.png"))
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from --out, run nothing")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads(args.out.read_text())["rows"], args.plot)
        return
    if args.runs < 2:
        parser.error(f"--runs {args.runs}: must be >= 2 (a standard error needs two runs)")
    from joblib import Parallel, delayed

    tasks = [(name, graph) for name in DOCKED for graph in GRAPHS]
    rows = Parallel(n_jobs=args.jobs)(delayed(dock_one)(name, graph, args.runs) for name, graph in tasks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"size": SIZE, "steps": STEPS, "tolerance_z": TOLERANCE_Z, "rows": rows}, indent=1))
    os.replace(tmp, args.out)
    plot(rows, args.plot)
    print(f"| law | graph | final share, model | NDlib | max abs diff | max s.e. | max abs z | wrong law's max abs z |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['law']} | {r['graph']} | {r['model'][-1]:.3f} | {r['ndlib'][-1]:.3f} | {r['max_abs_diff']:.4f} "
              f"| {r['max_se']:.4f} | {r['max_abs_z']:.2f} | {r['wrong_max_abs_z']:.1f} ({r['wrong']}) |")
    docked = [r for r in rows if r["max_abs_z"] <= TOLERANCE_Z and r["wrong_max_abs_z"] > TOLERANCE_Z]
    print(f"{len(docked)} of {len(rows)} dock within |z| <= {TOLERANCE_Z} and tell the wrong law apart "
          f"(tests/test_docking.py asserts it); {args.out}, {args.plot}")


if __name__ == "__main__":
    main()
