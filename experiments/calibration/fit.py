"""The calibration: method of simulated moments, Optuna as optimiser, asymptotic intervals.

:func:`calibrate` fits the free parameters of the market to an order log (``docs/calibration.md``):

1. targets and moments of the log before ``holdout_from`` (:mod:`.targets`, :mod:`.moments`);
2. ``evaluations`` candidates asked of Optuna's TPE sampler, each run at the same ``seeds``,
   seed s on its own market (``market_seed`` s: common random numbers across candidates,
   and a seed mean that averages over markets), through the project's runner, the
   distance of the seed-mean moments told back; the study lives in ``out/study.db`` and the
   runs in ``out/runs/``, so a killed calibration continues where it stopped;
3. Gauss-Newton steps from the best candidate in a shrinking trust region, each kept only
   if its simulated distance is lower (:meth:`_Fit.polish`);
4. at the estimate, the Jacobian of the moments by central differences (same seeds) and the
   asymptotic MSM covariance (Lee & Ingram 1991; McFadden 1989)
   ``V = A (Ω_market + Ω_dyn/τ + Ω_tot/S) Aᵀ``, ``A = (GᵀWG)⁻¹GᵀW``, from runs at the
   estimate on other markets and on one market with other seeds (:meth:`_Fit.intervals`);
5. ``draws`` parameter sets from N(θ̂, V), one run each: the forecast bands; the fitted
   market is the estimate's seed market nearest the log.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibration.moments import GROUPS, Moments, distance, moments, usable_retention_days, weights
from experiments.calibration.orderlog import OrderLog, read_order_log
from experiments.calibration.params import MARKET_SIZE, FreeParam, parse_params, unused_when_observed
from experiments.calibration.simulate import (FORECAST_METRICS, Market, candidate_jobs, known_params, run_daily,
                                              run_moments, sampled_arrivals, scale_money)
from experiments.calibration.targets import daily, first_days, targets
from sim.errors import ConfigError, check_at_least

CONF = Path(__file__).resolve().parents[2] / "conf" / "calibrate.yaml"
#: Unit-cube step of the Jacobian's central differences.
STEP = 0.1
#: Gauss-Newton steps after the optimiser, and their first trust region (unit cube, half-width).
POLISH_STEPS = 4
TRUST = 0.2
#: The value told the optimiser for a candidate the market refuses (it is also marked infeasible).
REFUSED = 1e12
#: An interval wider than this share of the parameter's range (unit cube) is a flat profile.
FLAT = 0.5


class RunFailed(RuntimeError):
    """A simulation of the calibration failed (its error is in ``out/runs/<job>/error.json``);
    the same command with the same ``out`` runs it again."""


def defaults() -> dict:
    """The keys of ``conf/calibrate.yaml`` (the one place their defaults live)."""
    import yaml

    return yaml.safe_load(CONF.read_text(encoding="utf-8"))


@dataclass
class Calibration:
    """A finished calibration: the estimate, its intervals, the forecast and the files."""

    params: list[FreeParam]
    estimate: dict[str, float]
    intervals: pd.DataFrame  # key, estimate, lower, upper, sd_unit, low, high, identified
    forecast: pd.DataFrame  # model, date, metric, actual, predicted, lower, upper, period
    ensemble: pd.DataFrame  # draw, kind, one column per parameter
    targets: pd.DataFrame
    history: pd.DataFrame  # trial, distance, one column per parameter
    fitted: dict  # the preset (fitted.yaml)
    errors: pd.DataFrame  # model, metric, period, total_actual, total_predicted, total_error, mape_weekly_cumulative
    folder: Path
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0


def settings_of(**given) -> dict:
    """The calibration's keys: ``conf/calibrate.yaml`` with ``given`` on top, checked."""
    known = defaults()
    for key in given:
        if key not in known:
            import difflib

            near = difflib.get_close_matches(key, list(known), n=1)
            raise ConfigError(key, given[key], "unknown key of experiments.calibrate"
                              + (f"; did you mean {near[0]}?" if near else "") + f" (known: {', '.join(known)})")
    s = {**known, **{k: v for k, v in given.items()}}
    if s["acquisition"] not in ("model", "observed"):
        raise ConfigError("acquisition", s["acquisition"], "must be model or observed")
    for key, least in (("evaluations", 1), ("seeds", 2), ("sample", 50), ("draws", 2), ("noise_runs", 3)):
        check_at_least(key, s[key], least)
    if s["jobs"] is not None:
        check_at_least("jobs", s["jobs"], 1)
    if not 0 < float(s["level"]) < 1:
        raise ConfigError("level", s["level"], "must be in (0, 1), e.g. 0.9")
    declared = not s["params"]
    s["params"] = parse_params(s["params"] if s["params"] else s["declared"])
    if s["acquisition"] == "observed":
        if declared:  # the declared set less what observed acquisition does not use
            s["params"] = [p for p in s["params"] if not unused_when_observed(p.key)]
        for p in s["params"]:
            if unused_when_observed(p.key):
                raise ConfigError(f"params.{p.key}", [p.low, p.high], "not used with acquisition=observed (the "
                                  "log's first purchases are replayed: no market size, awareness or prospects); "
                                  "drop it or use acquisition=model")
    for g in s["weights"]:
        if g not in GROUPS:
            raise ConfigError(f"weights.{g}", s["weights"][g], f"unknown target group; known: {', '.join(GROUPS)}")
    return s


def holdout_date(log: OrderLog, value) -> pd.Timestamp:
    """The holdout's first day: ``value`` (inside the log), or the day after the last order."""
    if value is None:
        return log.last_date + pd.Timedelta(days=1)
    try:
        date = pd.Timestamp(str(value)).normalize()
    except ValueError:
        raise ConfigError("holdout_from", value, "must be a date YYYY-MM-DD") from None
    if not log.first_date + pd.Timedelta(days=7) <= date <= log.last_date:
        raise ConfigError("holdout_from", str(value), f"must be inside the log, a week or more after its first "
                          f"order: {(log.first_date + pd.Timedelta(days=7)).date()} to {log.last_date.date()}")
    return date


def base_market(log: OrderLog, holdout: pd.Timestamp, sample: int, overrides=(), preset=None,
                acquisition: str = "model") -> Market:
    """The base market: the log's dates, ``sample`` consumers, ``market_seed`` 0, and prices
    and budgets scaled so that its order value is the log's (:func:`pilot_order_value`).
    ``acquisition=observed``: one consumer per customer seen before ``holdout`` (or a
    systematic sample of ``sample`` of them, ``population.represents`` the customers), each
    arriving on its first purchase day (:func:`~.simulate.sampled_arrivals`)."""
    import tempfile

    from experiments.batch import compose
    from sim.arrivals import write_arrivals
    from sim.build import build_config

    end = log.last_date + pd.Timedelta(days=1)
    days = int((end - log.first_date) / pd.Timedelta(days=1))
    calib = log.orders[log.orders["date"] < holdout]
    customers = int(calib["customer"].nunique())
    arrivals, size = None, [f"population.size={sample}"]
    if acquisition == "observed":
        firsts = first_days(calib, log.first_date)
        arrivals = sampled_arrivals(firsts[np.unique(calib["customer"].to_numpy(np.int64))], sample)
        size = [f"population.size={len(arrivals)}"] + ([f"population.represents={customers}"]
                                                       if len(arrivals) < customers else [])
    config = compose([*size, "market_seed=0", *overrides,
                      f"start_date={log.first_date.date().isoformat()}", f"days={days}"], preset).config
    aov = float(calib["amount"].sum() / max(len(calib), 1))
    with tempfile.TemporaryDirectory() as tmp:  # the pilot reads the arrivals; the calibration's own copy is in out/
        pilot = config if arrivals is None else build_config({**config.as_dict(), "population": {
            **config.as_dict()["population"], "arrivals": str(write_arrivals(Path(tmp) / "arrivals.parquet",
                                                                             arrivals))}})
        factor = aov / pilot_order_value(pilot)
    data = config.as_dict()
    scale_money(data, factor)
    return Market(build_config(data), customers, log.first_date, holdout, end, factor, arrivals)


def pilot_order_value(config) -> float:
    """The mean order value (yuan paid) of one run of ``config`` (seed 0). Purchase utility
    depends on prices relative to the reference price and on cost against budget, so scaling
    prices and budgets by f scales the order value by f and leaves the choices alone."""
    from sim.model import MarketModel

    model = MarketModel(config.replace(seed=0)).run()
    frame = model.ledger.to_frame()
    if not len(frame):
        raise ConfigError("market", "base", "the base market sells nothing in the log's period; "
                                            "check the market overrides")
    return float((frame["value_cents"] - frame["discount_cents"]).sum() / 100 / len(frame))


def calibrate(log: OrderLog | str | Path | pd.DataFrame, *, out: str | Path, overrides=(), preset=None,
              bgnbd: bool = True, market: Market | None = None, **keys) -> Calibration:
    """Calibrate the market to ``log`` and write the outputs into ``out``; ``keys`` are those
    of ``conf/calibrate.yaml`` (``holdout_from``, ``params``, ``evaluations``, ``seeds``,
    ``jobs``, ``sample``, ``draws``, ``level``, ``seed``, ``weights``, ``columns``...),
    ``overrides`` Hydra overrides of the simulated market (``market``: their
    :func:`base_market`, when the caller has it). Returns the :class:`Calibration`."""
    from experiments.calibration import outputs

    t0 = time.perf_counter()
    s = settings_of(**keys)
    if not isinstance(log, OrderLog):
        log = read_order_log(log, s["columns"])
    holdout = holdout_date(log, s["holdout_from"])
    market = market or base_market(log, holdout, s["sample"], overrides, preset, s["acquisition"])
    known_params(s["params"], market.base)
    observed_targets = targets(log.orders, market.start, holdout)
    weeks = int((holdout - market.start) / pd.Timedelta(days=1)) // 7
    rdays = usable_retention_days(observed_targets)
    observed = moments(observed_targets, weeks, rdays)
    # observed acquisition matches the new customers by construction: they leave the distance
    w = weights(observed, {**s["weights"], **({"new_customers": 0.0} if market.observed else {})})
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    market.place_arrivals(folder)
    fit = _Fit(market, s, observed, w, weeks, rdays, folder)
    history = fit.optimise()
    best = history.loc[history["distance"].idxmin()]
    u_best = np.array([p.unit(float(best[p.key])) for p in s["params"]])
    u_hat, prefix, G, history = fit.polish(u_best, f"trial{int(best['trial']):04d}", history)
    estimate = fit._values(u_hat)
    intervals, cov = fit.intervals(u_hat, G, prefix)
    ensemble, runs = fit.ensemble(u_hat, cov, prefix)
    by_market = fit.closest_market(u_hat, prefix)
    market_seed = min(by_market, key=by_market.get)
    forecast = forecast_table(log, market, runs, s["level"])
    notes = [f"{r.key}: flat profile, not identified by this log (its interval spans more than half its range)"
             for r in intervals.itertuples() if not r.identified]
    if fit.refused:
        notes.append(f"{len(fit.refused)} candidates broke a rule of the market and were left out (first: "
                     f"{fit.refused[0]})")
    notes.append(f"the fitted market is market_seed {market_seed}: of the {len(by_market)} markets the estimate was "
                 "run on, the nearest to the log (distance " + ", ".join(f"{k}: {v:.6g}" for k, v in by_market.items())
                 + ")")
    if market.observed:
        later = int(log.customers - market.customers)
        notes.append(f"acquisition=observed: the first purchases of the {market.customers:,} customers seen before "
                     f"the holdout are replayed (new customers matched by construction, left out of the distance)"
                     + (f"; the {later:,} customers first seen in the holdout are out of scope (not forecast)"
                        if later else ""))
    if bgnbd and holdout <= log.last_date:
        from experiments.calibration.bgnbd import bgnbd_forecast

        try:
            forecast = pd.concat([forecast, bgnbd_forecast(log, market.start, holdout, market.end)], ignore_index=True)
        except ImportError as err:
            notes.append(f"BG/NBD baseline left out: {err} (pip install socialsim[calibrate])")
    result = Calibration(s["params"], estimate, intervals, forecast, ensemble, observed_targets, history,
                         fitted_preset(market, estimate, overrides, market_seed), error_table(forecast), folder,
                         notes=notes)
    result.elapsed = time.perf_counter() - t0
    result.paths = outputs.write(result, s)
    return result


class _Fit:
    """The runs of one calibration (its folder, its seeds, its moments)."""

    def __init__(self, market: Market, s: dict, observed: Moments, w: np.ndarray, weeks: int, rdays, folder: Path):
        self.market, self.s, self.observed, self.w, self.weeks, self.rdays = market, s, observed, w, weeks, rdays
        self.folder, self.runs = folder, folder / "runs"
        self.seeds = list(range(s["seeds"]))
        self.refused: list[str] = []  # candidates the market's rules refused, with the reason

    def _candidate(self, prefix: str, values: dict[str, float], seeds=None) -> list | None:
        """The runs of a candidate (its ``values``), or None where the market refuses them: a
        candidate inside every range can still break a rule between keys (a visit floor
        above the visit peak); it is recorded in ``refused``, and the search goes on."""
        try:
            return candidate_jobs(self.market, prefix, values, self.seeds if seeds is None else seeds)
        except ConfigError as err:
            self.refused.append(f"{prefix}: {err}")
            return None

    def _run(self, jobs: list) -> None:
        from experiments.batch import run_many

        batch = run_many(jobs, self.runs, workers=self.s["jobs"], progress=False, write=False)
        bad = batch.runs[batch.runs["status"] != "ok"]
        if len(bad):
            raise RunFailed(f"run {bad['job'].iat[0]} failed: {bad['error'].iat[0]}")

    def _moments(self, jobs: list) -> np.ndarray:
        """Each job's moments (rows), counts scaled to the market."""
        return np.array([run_moments(self.runs / j.name, self.market, self.market.scale(j.config), self.weeks,
                                     self.rdays).values for j in jobs])

    def _values(self, u: np.ndarray) -> dict[str, float]:
        return {p.key: p.value(x) for p, x in zip(self.s["params"], u)}


    def optimise(self) -> pd.DataFrame:
        """Ask and tell until ``evaluations`` trials are complete; the history of trials."""
        import optuna
        from tqdm.auto import tqdm

        from experiments.optimize import open_study, record_constraints

        params = self.s["params"]
        settings = {"params": [[p.key, p.low, p.high, p.log] for p in params], "direction": "minimize",
                    "observed": hash_of(self.observed.values), "market": hash_of(str(self.market.base.as_dict())),
                    "seeds": self.seeds, "weights": self.s["weights"],
                    **({"arrivals": hash_of(self.market.arrivals)} if self.market.observed else {})}
        study, _ = open_study(self.folder / "study.db", "calibration", settings, self.s["seed"])
        done = lambda: [t for t in study.get_trials(deepcopy=False)
                        if t.state == optuna.trial.TrialState.COMPLETE and "refused" not in t.user_attrs]
        from experiments.batch import cores

        batch = trials_per_batch(self.s["jobs"] or cores(), len(self.seeds))
        bar = tqdm(total=self.s["evaluations"], initial=min(len(done()), self.s["evaluations"]), desc="calibrate",
                   unit="candidate", file=sys.stderr, disable=not self.s["progress"], dynamic_ncols=True)
        refused = 0
        try:
            while (left := self.s["evaluations"] - len(done())) > 0:
                trials = [study.ask() for _ in range(min(batch, left))]
                values = [{p.key: t.suggest_float(p.key, p.low, p.high, log=p.log) for p in params} for t in trials]
                jobs = [self._candidate(f"trial{t.number:04d}", v) for t, v in zip(trials, values)]
                try:
                    self._run([j for js in jobs if js for j in js])
                except RunFailed:
                    for t in trials:
                        study.tell(t, state=optuna.trial.TrialState.FAIL)
                    raise
                for t, js in zip(trials, jobs):
                    # refused by the market's rules: infeasible for the sampler (it learns to ask elsewhere),
                    # not simulated, not counted
                    record_constraints(t, {"market rules": 0.0 if js else 1.0})
                    if js is None:
                        t.set_user_attr("refused", self.refused[-1])
                        study.tell(t, REFUSED)
                        refused += 1
                        continue
                    study.tell(t, distance(self._moments(js).mean(axis=0), self.observed.values, self.w))
                    bar.update(1)
                if refused > 4 * self.s["evaluations"]:
                    raise ConfigError("params", ", ".join(p.key for p in params), "the market refuses nearly every "
                                      f"candidate of these ranges ({self.refused[-1]}); narrow them")
        finally:
            bar.close()
        rows = [{"trial": t.number, "distance": t.value, **t.params} for t in done()]
        return pd.DataFrame(rows).sort_values("trial").reset_index(drop=True)

    def point(self, name: str, u: np.ndarray) -> np.ndarray:
        """The moments (a row per seed) of candidate ``u``, its runs named ``name``."""
        jobs = candidate_jobs(self.market, name, self._values(u), self.seeds)
        self._run(jobs)
        return self._moments(jobs)

    def jacobian(self, u: np.ndarray, prefix: str) -> np.ndarray:
        """∂s̄/∂u at ``u`` by central differences of ±:data:`STEP` (one-sided at a bound), the
        same seeds on both sides; runs named ``<prefix>-jacobian-<j>-lo|hi``."""
        centre = candidate_jobs(self.market, prefix, self._values(u), self.seeds)
        cols, jobs = [], [centre]
        for j in range(len(u)):
            pair, at = [], []
            for side, x in (("lo", max(u[j] - STEP, 0.0)), ("hi", min(u[j] + STEP, 1.0))):
                v = u.copy()
                v[j] = x
                side_jobs = self._candidate(f"{prefix}-jacobian-{j}-{side}", self._values(v))
                pair.append(side_jobs or centre)  # a side the market refuses: a one-sided difference
                at.append(x if side_jobs else u[j])
            jobs += pair
            cols.append((pair, at[1] - at[0]))
        self._run(list({j.name: j for js in jobs for j in js}.values()))  # the centre once, however often used
        mean = lambda js: self._moments(js).mean(axis=0)
        return np.column_stack([(mean(hi) - mean(lo)) / h if h > 0 else np.zeros(len(self.observed.values))
                                for (lo, hi), h in cols])

    def polish(self, u: np.ndarray, name: str, history: pd.DataFrame):
        """Gauss-Newton steps from the optimiser's best candidate ``u`` (runs ``name``): each
        minimises the linearised distance inside a trust region of half-width :data:`TRUST`
        (unit cube) and the box, is simulated at the same seeds, and is kept only if its
        distance is lower (else the region halves); the Jacobian is the one at ``u``
        (a chord method), taken again where the estimate moved. Returns the estimate, its
        runs' name, its Jacobian and the history with the steps appended."""
        from scipy.optimize import lsq_linear

        centre = self.point(name, u).mean(axis=0)
        best = distance(centre, self.observed.values, self.w)
        G = self.jacobian(u, name)
        root_w = np.sqrt(self.w)
        radius, moved, rows = TRUST, False, []
        first = int(history["trial"].max()) + 1
        for step in range(POLISH_STEPS):
            lower, upper = np.maximum(-u, -radius), np.minimum(1 - u, radius)
            delta = lsq_linear(root_w[:, None] * G, root_w * (self.observed.values - centre),
                               bounds=(lower, upper)).x
            if np.max(np.abs(delta)) < 1e-3:
                break
            v = np.clip(u + delta, 0.0, 1.0)
            trial = first + step
            jobs = self._candidate(f"polish{trial:04d}", self._values(v))
            if jobs is None:  # refused by the market's rules: a worse step
                radius /= 2
                continue
            self._run(jobs)
            at = self._moments(jobs).mean(axis=0)
            d = distance(at, self.observed.values, self.w)
            rows.append({"trial": trial, "distance": d, **self._values(v), "stage": "polish"})
            if d < best:
                u, centre, best, name, moved = v, at, d, f"polish{trial:04d}", True
            else:
                radius /= 2
        if moved:
            G = self.jacobian(u, name)
        history = pd.concat([history.assign(stage="optimiser"), pd.DataFrame(rows)], ignore_index=True)
        return u, name, G, history

    def intervals(self, u_hat: np.ndarray, G: np.ndarray, prefix: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Intervals at ``u_hat`` (unit cube; its runs named ``prefix``, ``G`` its Jacobian)
        and the covariance ``V`` of the estimate.

        The estimate moves with the observed moments' noise and with the simulated ones'.
        The log is one market (its network, traits, catalogue) and one path of its dynamics,
        at τ real customers per simulated one; the simulated moments are the mean of S runs,
        each on its own market. Linearised, û − u₀ ≈ A (e_data − e_sim) with
        A = (GᵀWG)⁻¹GᵀW, so

            V = A (Ω_market + Ω_dyn/τ + Ω_tot/S) Aᵀ,  Ω_market = Ω_tot − Ω_dyn,

        Ω_tot the moments' covariance across markets and dynamics, Ω_dyn across dynamics on
        one market. The market's share is not divided by τ (the catalogue and the KOLs are
        drawn at the same size whatever the population, so it need not shrink). Each Ω
        comes from ``noise_runs`` runs at ``u_hat`` (other markets and seeds; one market,
        other seeds), projected by A, so the correlations between moments count; the
        interval uses Student's t with ``noise_runs`` − 1 degrees of freedom."""
        from scipy.stats import t as student

        params = self.s["params"]
        values = self._values(u_hat)
        runs = self.s["noise_runs"]
        markets = candidate_jobs(self.market, f"{prefix}-markets", values, range(1000, 1000 + runs))
        dynamics = candidate_jobs(self.market, f"{prefix}-seeds", values, range(2000, 2000 + runs),
                                  market_seed=self.market.base.market_seed_value)
        self._run(markets + dynamics)
        W = np.diag(self.w)
        A = np.linalg.pinv(G.T @ W @ G) @ G.T @ W
        project = lambda rows: np.atleast_2d(np.cov(rows @ A.T, rowvar=False))
        p_total, p_dynamics = project(self._moments(markets)), project(self._moments(dynamics))
        cov = msm_covariance(p_total, p_dynamics, self.market.scale(self.market.config(values, 0)), len(self.seeds))
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        q = float(student.ppf(0.5 + self.s["level"] / 2, runs - 1))
        rows = []
        for j, p in enumerate(params):
            lo_u, hi_u = max(u_hat[j] - q * sd[j], 0.0), min(u_hat[j] + q * sd[j], 1.0)
            rows.append({"key": p.key, "estimate": p.value(u_hat[j]), "lower": p.value(lo_u), "upper": p.value(hi_u),
                         "sd_unit": sd[j], "low": p.low, "high": p.high, "log": p.log,
                         "sensitivity": float(np.sqrt(G[:, j] @ W @ G[:, j])),
                         "identified": bool(hi_u - lo_u <= FLAT and np.isfinite(sd[j]))})
        return pd.DataFrame(rows), cov

    def closest_market(self, u: np.ndarray, prefix: str) -> dict[int, float]:
        """The distance to the log of each seed run at ``u`` (runs ``prefix``), by its
        ``market_seed``: the nearest is the fitted market."""
        jobs = candidate_jobs(self.market, prefix, self._values(u), self.seeds)
        self._run(jobs)
        return {int(j.config.market_seed_value): distance(m, self.observed.values, self.w)
                for j, m in zip(jobs, self._moments(jobs))}

    def ensemble(self, u_hat: np.ndarray, cov: np.ndarray, prefix: str) -> tuple[pd.DataFrame, dict]:
        """``draws`` parameter sets from N(û, V) (clipped to the ranges), one run each with
        its own seed; the table and ``{"point": [daily...], "draws": [daily...]}``."""
        rng = np.random.default_rng([self.s["seed"], 13])  # the draws of the ensemble, not of the market
        draws = rng.multivariate_normal(u_hat, cov, size=self.s["draws"], method="eigh", check_valid="ignore")
        draws = np.clip(draws, 0.0, 1.0)
        point_jobs = candidate_jobs(self.market, prefix, self._values(u_hat), self.seeds)
        kept = [(i, u, jobs[0]) for i, u in enumerate(draws)
                if (jobs := self._candidate(f"draw{i:03d}", self._values(u), [len(self.seeds) + i]))]
        draw_jobs = [job for _, _, job in kept]  # a draw the market's rules refuse is left out
        self._run(point_jobs + draw_jobs)
        table = pd.DataFrame([{"draw": 0, "kind": "estimate", **self._values(u_hat)}]
                             + [{"draw": i + 1, "kind": "draw", **self._values(u)} for i, u, _ in kept])
        daily_of = lambda js: [run_daily(self.runs / j.name, self.market, self.market.scale(j.config)) for j in js]
        return table, {"point": daily_of(point_jobs), "draws": daily_of(draw_jobs)}


def msm_covariance(p_total: np.ndarray, p_dynamics: np.ndarray, tau: float, seeds: int) -> np.ndarray:
    """V = A (Ω_market + Ω_dyn/τ + Ω_tot/S) Aᵀ from the projected covariances
    ``p_total`` = A Ω_tot Aᵀ (markets and dynamics) and ``p_dynamics`` = A Ω_dyn Aᵀ (one
    market), with Ω_market = Ω_tot − Ω_dyn: V = (1 + 1/S) P_tot − (1 − 1/τ) P_dyn. Both are
    estimates, so V is kept at least P_dyn/τ + P_tot/S (the data's dynamics and the seed
    mean's noise): the part above that floor loses its negative eigenvalues."""
    floor = p_dynamics / tau + p_total / seeds
    excess = np.linalg.eigh((1 + 1 / seeds) * p_total - (1 - 1 / tau) * p_dynamics - floor)
    return floor + (excess.eigenvectors * np.clip(excess.eigenvalues, 0, None)) @ excess.eigenvectors.T


def trials_per_batch(workers: int, seeds: int) -> int:
    """Candidates asked of the optimiser at a time: enough to keep ``workers`` busy with
    ``seeds`` runs each, and where one or two more fill the last round, those too
    (2 workers, 3 seeds: 2 candidates, 6 runs in 3 full rounds)."""
    least = -(-workers // seeds)
    return next((t for t in range(least, 2 * least + 1) if t * seeds % workers == 0), least)


def hash_of(value) -> str:
    import hashlib

    data = value.tobytes() if isinstance(value, np.ndarray) else str(value).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def forecast_table(log: OrderLog, market: Market, runs: dict, level: float) -> pd.DataFrame:
    """``model, date, metric, actual, predicted, lower, upper, period`` of socialsim: the
    mean of the estimate's seeds, and the ensemble's ``level`` quantiles."""
    actual = daily(log.orders, market.start, market.end)
    period = np.where(actual["date"] < market.holdout, "calibration", "holdout")
    parts = []
    for metric in FORECAST_METRICS:
        point = np.mean([r[metric].to_numpy(float) for r in runs["point"]], axis=0)
        spread = np.array([r[metric].to_numpy(float) for r in runs["draws"] + runs["point"]])
        lower, upper = np.quantile(spread, [(1 - level) / 2, (1 + level) / 2], axis=0)
        parts.append(pd.DataFrame({"model": "socialsim", "date": actual["date"], "metric": metric,
                                   "actual": actual[metric].astype(float), "predicted": point,
                                   "lower": lower, "upper": upper, "period": period}))
    return pd.concat(parts, ignore_index=True)


def error_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """Per model, metric and period: totals, the total's relative error, and the mean absolute
    percentage error of the weekly cumulative curve (weeks from the period's first day)."""
    rows = []
    for (model, metric, period), part in forecast.groupby(["model", "metric", "period"], sort=False):
        part = part.sort_values("date")
        a, p = part["actual"].to_numpy(float), part["predicted"].to_numpy(float)
        week_ends = np.arange(6, len(part), 7)
        if metric == "active_customers":  # a stock: weekly values, not cumulative sums
            ca, cp = a[week_ends], p[week_ends]
            total_a, total_p = float(a.mean()), float(p.mean())
        else:
            ca, cp = np.cumsum(a)[week_ends], np.cumsum(p)[week_ends]
            total_a, total_p = float(a.sum()), float(p.sum())
        keep = ca > 0
        rows.append({"model": model, "metric": metric, "period": period, "total_actual": total_a,
                     "total_predicted": total_p,
                     "total_error": (total_p - total_a) / total_a if total_a else math.nan,
                     "mape_weekly_cumulative": float(np.mean(np.abs(cp[keep] - ca[keep]) / ca[keep])) if keep.any()
                     else math.nan})
    return pd.DataFrame(rows)


def fitted_preset(market: Market, estimate: dict[str, float], overrides=(), market_seed: int | None = None) -> dict:
    """``fitted.yaml``: the overrides that make the fitted market (loaded by ``preset=PATH``):
    the log's dates, the sample and its ``market_seed`` (``market_seed``: of the estimate's
    seed runs, the one nearest the log; else the base's), the money scale, the estimates."""
    base = market.base
    out: dict = {"start_date": base.start_date, "days": base.days,
                 "market_seed": base.market_seed_value if market_seed is None else int(market_seed),
                 "population.size": base.population.size}
    if market.observed:  # the replayed first purchases and the customers they stand for
        out["population.arrivals"] = str(market.arrivals_path)
        if base.population.represents is not None:
            out["population.represents"] = float(base.population.represents)
    for group, key in (("market", "list_price"), ("population", "budget")):
        dist = getattr(getattr(base, group), key)
        for f in ("value", "median", "mean", "low", "high"):
            v = getattr(dist, f)
            default = getattr(type(dist)(), f)
            if v != default and math.isfinite(v):
                out[f"{group}.{key}.{f}"] = float(v)
    for o in overrides:
        key, _, value = str(o).partition("=")
        if key not in out and key not in ("start_date", "days"):
            import yaml

            out[key] = yaml.safe_load(value) if value else value
    for key, value in estimate.items():
        if key == MARKET_SIZE:
            out["population.represents"] = round(float(value) * market.customers, 1)
        else:
            out[key] = float(value)
    return out
