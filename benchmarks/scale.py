"""Scale benchmark: wall time and peak memory of the model, and the Bass law vs idiomatic Mesa.

    python -m benchmarks.scale [--sizes 10000,100000,1000000] [--days 365]
                               [--mesa-sizes 10000,100000] [--mesa-days 30]
                               [--repeat 1] [--profile-size 1000000] [--out benchmarks/out]

(``make bench`` runs it with the defaults.) Every measurement runs in a fresh
child process (``python -m benchmarks.scale --child SPEC``), so its peak
resident memory -- ``getrusage(RUSAGE_SELF).ru_maxrss`` read at the end of the
child, KiB on Linux -- belongs to that run alone (it includes the interpreter
and the imported libraries, measured before building as ``rss_baseline_mib``).
Each result is printed as one JSON line and all of them are written to
``<out>/scale.json``.

Measurements:

``market``     the full daily model, default config, ``population.size = N``,
               ``days``, Barabasi-Albert friendships with mean degree 10: wall time
               of ``MarketModel(config)`` (build; its friendship network timed
               apart) and of the run (simulate), the time in each daily phase
               (``model._phase_*`` wrapped on the instance; the model code is not
               touched) and peak RSS.
``bass_vec``   the Bass law (scenario ``bass``, p=0.01, q=0.3) in the vectorized
               model on the BA graph (mean degree 10): per-day times.
``bass_mesa``  the same law written idiomatically in Mesa
               (:mod:`benchmarks.mesa_bass`) on the *same* graph (the vectorized
               model's, converted to networkx): time to draw the graph, to convert
               it, to build the Mesa space and agents, and per-day times.
``profile``    (``--profile-size N``) one more ``market`` run at N under cProfile:
               the top functions by own time.

The vectorized-vs-Mesa ratio compares seconds per simulated day over the same
window of days (1..mesa_days; both runs follow the same law on the same graph,
so the adoption levels along the window agree), graph building excluded. The
per-day cost of both falls as consumers adopt (a Mesa adopter skips its
neighbourhood scan; the vectorized law draws for fewer candidates), so a ratio
holds for its window only: ``--mesa-days 365`` gives the whole-run ratio. Day 1
of a Mesa run also fills Mesa's cached neighbourhoods, so the ratio is also
given without day 1.

Timings are only clean on an otherwise idle machine: each result carries the
1-minute load average before and after its child process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
P, Q, MEAN_DEGREE = 0.01, 0.3, 10.0


# --------------------------------------------------------------------------- helpers
def _rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def code_version() -> dict:
    """The commit measured, and whether the model's code differed from it."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    dirty = git("status", "--porcelain", "--", "sim", "agents", "scenarios")
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or None,
            "uncommitted_model_changes": [ln[3:] for ln in dirty.splitlines() if ln.strip()]}


def machine_info() -> dict:
    import mesa
    import networkx
    import numpy
    import pandas
    import scipy

    cpu = platform.processor() or "unknown"
    mem_total = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "platform": platform.platform(), "machine": platform.machine(), "cpu": cpu,
        "cores": os.cpu_count(), "cores_usable": usable, "mem_total_gib": mem_total,
        "python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
        "mesa": mesa.__version__, "networkx": networkx.__version__, "pandas": pandas.__version__,
        **code_version(),
    }


def _summary_of_days(per_day: list[float], window: int | None = None) -> dict:
    import numpy as np

    a = np.asarray(per_day)
    out = {"per_day_s": float(a.mean()), "per_day_median_s": float(np.median(a)),
           "per_day_excl_first_s": float(a[1:].mean()) if a.size > 1 else float(a[0]),
           "first_day_s": float(a[0]), "last_day_s": float(a[-1])}
    if window:
        out["window_days"] = min(window, a.size)
        out["per_day_window_s"] = float(a[:window].mean())
        out["per_day_window_excl_first_s"] = float(a[1:window].mean()) if window > 1 else float(a[0])
    out["per_day_series_s"] = [round(float(x), 6) for x in a]
    return out


class _Timers:
    """Wrap bound methods on an instance (``obj.name = timed(obj.name)``) and sum their wall time."""

    def __init__(self):
        self.total: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, label: str, obj, attr: str) -> None:
        inner = getattr(obj, attr, None)
        if inner is None:  # the model changed; time what exists
            return
        total, calls = self.total, self.calls
        total[label], calls[label] = 0.0, 0

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                total[label] += time.perf_counter() - t0
                calls[label] += 1

        setattr(obj, attr, timed)


# --------------------------------------------------------------------------- children
def _warm_up(law: str = "market") -> float:
    """Build one tiny model first: the imports the model does lazily on its first
    construction (campaign mechanisms, scipy.stats, ...) are one-off process costs,
    reported as ``warmup_s`` and kept out of ``build_s``."""
    from sim.build import build_config
    from sim.model import MarketModel

    t0 = time.perf_counter()
    extra = {} if law == "market" else {"scenario": {"name": "bass", "law": "bass"},
                                        "market": {"merchants": 1, "products_per_merchant": 1}}
    MarketModel(build_config(population={"size": 200, "kols": {"count": 0 if law == "bass" else 2}},
                             days=1, network={"kind": "barabasi_albert", "mean_degree": 4}, **extra))
    return time.perf_counter() - t0


def _child_market(spec: dict) -> dict:
    import sim.model as sm
    from sim.build import build_config

    warmup = _warm_up("market")
    rss0 = _rss_mib()
    n, days = spec["size"], spec["days"]
    config = build_config(population={"size": n}, days=days, seed=spec.get("seed", 0),
                          network={"kind": "barabasi_albert", "mean_degree": MEAN_DEGREE})
    # Time the friendship network inside the constructor by wrapping the module-level name.
    build_timers = _Timers()
    build_timers.wrap("network", sm, "build_network")
    build_timers.wrap("follower_graph", sm, "build_follower_graph")
    build_timers.wrap("consumers", sm, "Consumers")
    t0 = time.perf_counter()
    model = sm.MarketModel(config)
    t1 = time.perf_counter()
    rss_built = _rss_mib()

    timers = _Timers()
    for phase in model.phases:
        timers.wrap(f"phase:{phase}", model, f"_phase_{phase}")
    timers.wrap("record_day", model, "_record_day")
    # Nested inside phases (reported apart, already counted in their phase):
    timers.wrap("in:friends_in_states", model.talking_friends, "set_states")
    timers.wrap("in:uniforms", model, "uniforms")
    timers.wrap("in:purchase_probability", model, "purchase_probability")
    timers.wrap("in:book_orders", model, "book_orders")
    timers.wrap("in:book_orders", model, "_book_orders")  # older name
    timers.wrap("in:ledger.record", model.ledger, "record")

    per_day = []
    t_run = time.perf_counter()
    for _ in range(days):
        s = time.perf_counter()
        model.step()
        per_day.append(time.perf_counter() - s)
    t2 = time.perf_counter()
    summary = model.summary()
    return {
        "kind": "market", "size": n, "days": days, "repeat": spec.get("repeat", 0), "warmup_s": warmup,
        "build_s": t1 - t0, "build_parts_s": build_timers.total,
        "simulate_s": t2 - t_run, "wall_s": (t1 - t0) + (t2 - t_run),
        **_summary_of_days(per_day),
        "phases_s": {k: v for k, v in timers.total.items()},
        "step_overhead_s": (t2 - t_run) - sum(v for k, v in timers.total.items() if not k.startswith("in:")),
        "mean_degree": summary["mean_degree"], "customers": summary["customers"],
        "orders": summary["orders"], "aware": summary["aware"],
        "rss_baseline_mib": rss0, "rss_after_build_mib": rss_built, "peak_rss_mib": _rss_mib(),
    }


def _child_profile(spec: dict) -> dict:
    import cProfile
    import io
    import pstats

    from sim.build import build_config
    from sim.model import MarketModel

    _warm_up("market")
    n, days = spec["size"], spec["days"]
    config = build_config(population={"size": n}, days=days, seed=spec.get("seed", 0),
                          network={"kind": "barabasi_albert", "mean_degree": MEAN_DEGREE})
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    model = MarketModel(config)
    model.run()
    prof.disable()
    wall = time.perf_counter() - t0
    stream = io.StringIO()
    stats = pstats.Stats(prof, stream=stream)
    stats.sort_stats("tottime").print_stats(spec.get("top", 25))
    lines = [ln for ln in stream.getvalue().splitlines() if ln.strip()]
    return {"kind": "profile", "size": n, "days": days, "wall_under_cprofile_s": wall,
            "top_by_tottime": lines[-(spec.get("top", 25) + 1):], "peak_rss_mib": _rss_mib()}


def _child_bass_vec(spec: dict) -> dict:
    from benchmarks.mesa_bass import vectorized_bass_config
    from sim.model import MarketModel

    warmup = _warm_up("bass")
    rss0 = _rss_mib()
    n, days = spec["size"], spec["days"]
    t0 = time.perf_counter()
    model = MarketModel(vectorized_bass_config(n, P, Q, days, spec.get("seed", 0), MEAN_DEGREE))
    t1 = time.perf_counter()
    per_day = []
    for _ in range(days):
        s = time.perf_counter()
        model.step()
        per_day.append(time.perf_counter() - s)
    adopters = model.metrics.frame()["adopters"].to_numpy()
    window = spec.get("window")
    return {
        "kind": "bass_vec", "size": n, "days": days, "warmup_s": warmup, "build_s": t1 - t0, "simulate_s": sum(per_day),
        **_summary_of_days(per_day, window),
        "adoption_share_end": float(adopters[-1] / n),
        "adoption_share_window_end": float(adopters[min(window or days, days) - 1] / n),
        "n_edges": model.network.n_edges,
        "rss_baseline_mib": rss0, "peak_rss_mib": _rss_mib(),
    }


def _child_bass_mesa(spec: dict) -> dict:
    from benchmarks.mesa_bass import BassMesaModel, graph_from_network, vectorized_bass_config
    from sim.model import MarketModel

    warmup = _warm_up("bass")
    rss0 = _rss_mib()
    n, days, seed = spec["size"], spec["days"], spec.get("seed", 0)
    # The same graph as the vectorized run: same config and seed -> same "network" stream.
    t0 = time.perf_counter()
    network = MarketModel(vectorized_bass_config(n, P, Q, days, seed, MEAN_DEGREE)).network
    t1 = time.perf_counter()
    graph = graph_from_network(network)
    n_edges = network.n_edges
    del network
    t2 = time.perf_counter()
    model = BassMesaModel(graph, P, Q, seed)
    t3 = time.perf_counter()
    per_day = []
    for _ in range(days):
        s = time.perf_counter()
        model.step()
        per_day.append(time.perf_counter() - s)
    assert graph.number_of_edges() == n_edges
    return {
        "kind": "bass_mesa", "size": n, "days": days, "warmup_s": warmup,
        "graph_draw_s": t1 - t0, "to_networkx_s": t2 - t1, "mesa_build_s": t3 - t2,
        "simulate_s": sum(per_day), **_summary_of_days(per_day, days),
        "adoption_share_end": model.adopters[-1] / n, "n_edges": n_edges,
        "rss_baseline_mib": rss0, "peak_rss_mib": _rss_mib(),
    }


CHILDREN = {"market": _child_market, "profile": _child_profile,
            "bass_vec": _child_bass_vec, "bass_mesa": _child_bass_mesa}


# --------------------------------------------------------------------------- parent
def run_child(spec: dict, timeout: float | None = None) -> dict:
    """Run one measurement in a fresh interpreter; its result is the last stdout line (JSON)."""
    cmd = [sys.executable, "-m", "benchmarks.scale", "--child", json.dumps(spec)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {**spec, "error": proc.stderr.strip().splitlines()[-1:] or ["exit %d" % proc.returncode],
                "returncode": proc.returncode, "process_wall_s": time.perf_counter() - t0}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0  # incl. interpreter start and imports
    # 1-min load average before and after (this run adds ~1): well above 1 means other work
    # competed for the CPUs and the times are not clean.
    result["loadavg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def _comparison(results: list[dict]) -> list[dict]:
    rows = []
    vec = {r["size"]: r for r in results if r.get("kind") == "bass_vec" and "error" not in r}
    for m in results:
        if m.get("kind") != "bass_mesa" or "error" in m or m["size"] not in vec:
            continue
        v = vec[m["size"]]
        rows.append({
            "size": m["size"], "window_days": m["days"],
            "vec_per_day_window_s": v["per_day_window_s"], "mesa_per_day_s": m["per_day_s"],
            "speedup_window": m["per_day_s"] / v["per_day_window_s"],
            # Day 1 of the Mesa run also fills Mesa's cached neighbourhoods (Cell.get_neighborhood).
            "vec_per_day_window_excl_day1_s": v["per_day_window_excl_first_s"],
            "mesa_per_day_excl_day1_s": m["per_day_excl_first_s"],
            "speedup_window_excl_day1": m["per_day_excl_first_s"] / v["per_day_window_excl_first_s"],
            "vec_per_day_full_run_s": v["per_day_s"], "vec_full_run_days": v["days"],
            "mesa_first_day_s": m["first_day_s"], "mesa_last_day_s": m["last_day_s"],
            "vec_build_s": v["build_s"], "mesa_graph_draw_s": m["graph_draw_s"],
            "mesa_to_networkx_s": m["to_networkx_s"], "mesa_build_s": m["mesa_build_s"],
            "vec_peak_rss_mib": v["peak_rss_mib"], "mesa_peak_rss_mib": m["peak_rss_mib"],
        })
    return rows


def _market_summary(results: list[dict]) -> list[dict]:
    """Per size over the repeats: median, min and max of wall/build/simulate, max peak RSS."""
    import statistics

    rows = []
    sizes = sorted({r["size"] for r in results if r.get("kind") == "market" and "error" not in r})
    for n in sizes:
        runs = [r for r in results if r.get("kind") == "market" and r["size"] == n and "error" not in r]
        row = {"size": n, "days": runs[0]["days"], "runs": len(runs)}
        for key in ("wall_s", "build_s", "simulate_s"):
            values = [r[key] for r in runs]
            row[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        row["peak_rss_mib_max"] = max(r["peak_rss_mib"] for r in runs)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="consumers for the full model runs ('' = none)")
    ap.add_argument("--days", type=int, default=365, help="days of the full model and the vectorized Bass runs")
    ap.add_argument("--mesa-sizes", default="10000,100000", help="consumers for Bass vectorized vs Mesa ('' = none)")
    ap.add_argument("--mesa-days", default="30",
                    help="days of each Mesa run, one value or one per --mesa-sizes entry")
    ap.add_argument("--profile-size", type=int, default=0,
                    help="also profile the full model at this size under cProfile (0 = no)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each full-model size this many times (same seed): the spread shows timing noise")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per child process")
    ap.add_argument("--out", default="benchmarks/out", help="directory of scale.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(CHILDREN[spec["kind"]](spec)), flush=True)
        return 0

    info = machine_info()
    print(json.dumps({"kind": "machine", **info}), flush=True)
    if os.getloadavg()[0] > 0.5:
        print(f"warning: 1-min load average {os.getloadavg()[0]:.2f}: other processes compete "
              f"for the CPUs, timings will be inflated", file=sys.stderr)
    mesa_sizes = _ints(args.mesa_sizes)
    mesa_days = _ints(args.mesa_days)
    if len(mesa_days) == 1:
        mesa_days = mesa_days * len(mesa_sizes)
    if len(mesa_days) != len(mesa_sizes):
        ap.error("--mesa-days needs one value or one per --mesa-sizes entry")

    specs = [{"kind": "market", "size": n, "days": args.days, "seed": args.seed, "repeat": r}
             for n in _ints(args.sizes) for r in range(args.repeat)]
    for n, d in zip(mesa_sizes, mesa_days):
        specs.append({"kind": "bass_vec", "size": n, "days": max(args.days, d), "window": d, "seed": args.seed})
        specs.append({"kind": "bass_mesa", "size": n, "days": d, "seed": args.seed})
    if args.profile_size:
        specs.append({"kind": "profile", "size": args.profile_size, "days": args.days, "seed": args.seed})

    results = []
    for spec in specs:
        try:
            result = run_child(spec, args.timeout)
        except subprocess.TimeoutExpired:
            result = {**spec, "error": f"timeout after {args.timeout} s"}
        results.append(result)
        # stdout: one JSON line per measurement; the per-day series only in scale.json
        print(json.dumps({k: v for k, v in result.items() if k != "per_day_series_s"}), flush=True)

    comparison = _comparison(results)
    for row in comparison:
        print(json.dumps({"kind": "comparison", **row}), flush=True)
    market_summary = _market_summary(results)
    for row in market_summary:
        print(json.dumps({"kind": "market_summary", **row}), flush=True)
    out = Path(args.out)
    if not out.is_absolute():
        out = REPO / out
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scale.json"
    path.write_text(json.dumps({"machine": info, "argv": sys.argv[1:], "results": results,
                                "comparison": comparison, "market_summary": market_summary,
                                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
