"""python -m experiments.calibrate: the command's refusals (exit 2, nothing written), a tiny
calibration's outputs and their schema, the fitted market as a preset, resuming, the
intervals' algebra. Parameter recovery and the real log: tests/test_calibrate_slow.py."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import PYTHON, REPO

from experiments.calibration.fit import calibrate, error_table, msm_covariance, settings_of, trials_per_batch
from experiments.calibration.orderlog import read_order_log
from experiments.calibration.params import FreeParam, parse_params
from sim.errors import ConfigError

TINY = dict(evaluations=3, seeds=2, sample=200, draws=3, noise_runs=6, jobs=1, progress=False)
PARAMS = {"market.churn_hazard": [0.002, 0.1, "log"], "market_size": [0.8, 3.0]}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A simulated shop's order log: 600 consumers, 70 days from 2025-01-01."""
    from sim.build import build_config
    from sim.model import MarketModel
    from sim.outputs import write_run

    out = tmp_path_factory.mktemp("shop")
    write_run(MarketModel(build_config(seed=5, days=70, start_date="2025-01-01", population={"size": 600})).run(), out)
    return out / "orders.parquet"


@pytest.fixture(scope="module")
def fit(shop, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit")
    return calibrate(shop, out=out, holdout_from="2025-02-19", params=PARAMS, bgnbd=False, **TINY)


@pytest.fixture(scope="module")
def observed_fit(shop, tmp_path_factory):
    """acquisition=observed on the shop: one simulated consumer per customer seen before the holdout."""
    out = tmp_path_factory.mktemp("observed")
    return calibrate(shop, out=out, holdout_from="2025-02-19", acquisition="observed",
                     params={"market.churn_hazard": PARAMS["market.churn_hazard"]}, bgnbd=False,
                     **{**TINY, "sample": 5000})


def calibrate_cli(*args, cwd):
    return subprocess.run([PYTHON, "-m", "experiments.calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=600)


def test_outputs_and_their_schema(fit):
    for name in ("targets.parquet", "forecast.parquet", "params.parquet", "fitted.yaml", "report.html",
                 "intervals.csv", "errors.csv"):
        assert (fit.folder / name).exists(), name
    f = pd.read_parquet(fit.folder / "forecast.parquet")
    assert list(f.columns) == ["model", "date", "metric", "actual", "predicted", "lower", "upper", "period"]
    assert set(f["metric"]) == {"new_customers", "orders", "repeat_orders", "gmv", "active_customers"}
    assert set(f["period"]) == {"calibration", "holdout"} and set(f["model"]) == {"socialsim"}
    assert (f.loc[f["period"] == "holdout", "date"] >= pd.Timestamp("2025-02-19")).all()
    assert (f["lower"] <= f["upper"]).all()
    assert len(f) == 5 * 70
    p = pd.read_parquet(fit.folder / "params.parquet")
    assert len(p) == 1 + TINY["draws"] and set(PARAMS) <= set(p.columns)
    for r in fit.intervals.itertuples():
        assert r.low <= r.lower <= r.estimate <= r.upper <= r.high
    t = pd.read_parquet(fit.folder / "targets.parquet")
    assert t["date"].max() < pd.Timestamp("2025-02-19")  # the targets see nothing of the holdout
    assert "<img" in (fit.folder / "report.html").read_text()


def test_the_actuals_are_the_logs_daily_series(fit, shop):
    f = pd.read_parquet(fit.folder / "forecast.parquet")
    raw = pd.read_parquet(shop)
    orders = f[f["metric"] == "orders"]
    assert orders["actual"].sum() == len(raw)
    assert f.loc[f["metric"] == "new_customers", "actual"].sum() == raw["customer_id"].nunique()


def test_fitted_yaml_is_a_preset_of_the_fitted_market(fit):
    from experiments.batch import compose

    config = compose([], preset=fit.folder / "fitted.yaml").config
    assert config.start_date == "2025-01-01" and config.days == 70
    # the market: the nearest to the log of the markets the estimate ran on (one per seed)
    note = next(n for n in fit.notes if n.startswith("the fitted market is market_seed"))
    distances = {int(k): float(v) for k, v in re.findall(r"(\d+): ([0-9.e+-]+)", note.split("(distance ")[1])}
    assert set(distances) == {0, 1} and config.market_seed == min(distances, key=distances.get)
    assert config.market.churn_hazard == pytest.approx(fit.estimate["market.churn_hazard"])
    assert config.population.represents == pytest.approx(fit.estimate["market_size"] * fit.fitted["population.represents"]
                                                         / fit.estimate["market_size"])


def test_a_second_call_resumes_without_running_again(fit, shop):
    before = {p: p.stat().st_mtime_ns for p in (fit.folder / "runs").glob("*/summary.json")}
    again = calibrate(shop, out=fit.folder, holdout_from="2025-02-19", params=PARAMS, bgnbd=False, **TINY)
    after = {p: p.stat().st_mtime_ns for p in (fit.folder / "runs").glob("*/summary.json")}
    assert before == after  # every run found finished
    assert again.estimate == fit.estimate


def test_error_table_counts_totals_and_weekly_cumulative_mape():
    dates = pd.date_range("2025-01-01", periods=14)
    f = pd.DataFrame({"model": "m", "date": dates, "metric": "orders", "actual": 1.0, "predicted": 2.0,
                      "lower": np.nan, "upper": np.nan, "period": "holdout"})
    row = error_table(f).iloc[0]
    assert row["total_actual"] == 14 and row["total_error"] == 1.0 and row["mape_weekly_cumulative"] == 1.0


def test_free_parameters_map_the_unit_cube_both_ways():
    p = FreeParam("x", 0.001, 0.1, log=True)
    assert p.value(0) == pytest.approx(0.001) and p.value(1) == pytest.approx(0.1) and p.value(0.5) == pytest.approx(0.01)
    assert p.unit(p.value(0.3)) == pytest.approx(0.3)
    assert parse_params({"market": {"churn_hazard": [0.1, 0.2]}})[0].key == "market.churn_hazard"


@pytest.mark.parametrize("keys, key", [
    ({"params": {"market.churn_hazard": [0.2, 0.1]}}, "params.market.churn_hazard"),
    ({"params": {"market.churn_hazard": [0, 0.1, "log"]}}, "params.market.churn_hazard"),
    ({"seeds": 1}, "seeds"),
    ({"acquisition": "magic"}, "acquisition"),
    ({"evaluatons": 3}, "evaluatons"),
    ({"weights": {"gmvv": 1}}, "weights.gmvv"),
])
def test_bad_settings_are_refused(keys, key):
    with pytest.raises(ConfigError) as err:
        settings_of(**keys)
    assert err.value.key == key and "\n" not in str(err.value)


@pytest.mark.parametrize("args, words", [
    (["holdout_from=2030-01-01"], "holdout_from='2030-01-01': must be inside the log"),
    (["holdout_from=2025-01-03"], "must be inside the log"),
    (["columns.amount=price"], "columns.amount='price': no column 'price'"),
    (["params={market.nope: [0, 1]}"], "params.market.nope"),
    (["population.sise=5"], "population.sise"),
])
def test_command_refuses_bad_input_in_one_line_and_writes_nothing(shop, tmp_path, args, words):
    proc = calibrate_cli(f"data={shop}", f"out={tmp_path / 'fit'}", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "fit").exists() and not (tmp_path / "results").exists()


def test_command_refuses_a_bad_log_and_a_missing_data_key(tmp_path):
    (tmp_path / "o.csv").write_text("customer_id,date,amount\na,2025-01-01,10\nb,2025-01-02,-5\n")
    proc = calibrate_cli(f"data={tmp_path / 'o.csv'}", cwd=tmp_path)
    assert proc.returncode == 2 and "row 2" in proc.stderr and "amount" in proc.stderr
    assert calibrate_cli(cwd=tmp_path).returncode == 2
    assert not (tmp_path / "results").exists()


def test_the_log_reader_serves_the_command_and_the_function(shop):
    log = read_order_log(shop)
    assert log.first_date == pd.Timestamp("2025-01-01")


def test_observed_acquisition_replays_the_logs_first_purchases(observed_fit, shop):
    """Every simulated run buys the log's new customers on their days: the forecast's new
    customers are the log's in the calibration period, exactly, and none in the holdout."""
    from experiments.batch import compose

    f = observed_fit.forecast
    new = f[f["metric"] == "new_customers"]
    calib, hold = new[new["period"] == "calibration"], new[new["period"] == "holdout"]
    assert calib["actual"].sum() > 100
    for col in ("predicted", "lower", "upper"):
        assert calib[col].tolist() == calib["actual"].tolist(), col
    assert (hold["predicted"] == 0).all() and hold["actual"].sum() > 0  # the holdout's newcomers: out of scope
    raw = pd.read_parquet(shop)
    raw = raw[raw["date"] < pd.Timestamp("2025-02-19")]
    first = (raw.groupby("customer_id")["date"].min() - pd.Timestamp("2025-01-01")).dt.days + 1
    config = compose([], preset=observed_fit.folder / "fitted.yaml").config
    arrivals = pd.read_parquet(config.population.arrivals).iloc[:, 0]
    assert sorted(arrivals) == sorted(first) and config.population.size == len(first)
    assert config.population.represents is None  # one simulated consumer per customer
    assert list(observed_fit.intervals["key"]) == ["market.churn_hazard"]
    assert any(f"the {int(hold['actual'].sum())} customers first seen in the holdout are out of scope" in n
               for n in observed_fit.notes)


def test_observed_acquisition_frees_only_what_follows_the_first_purchase():
    declared = [p.key for p in settings_of()["params"]]
    observed = [p.key for p in settings_of(acquisition="observed")["params"]]
    assert observed == [k for k in declared if k not in ("diffusion.innovation", "market_size")]
    assert {"market.churn_hazard", "market.base_utility", "market.customer_visit_peak"} <= set(observed)
    for key in ("market_size", "diffusion.imitation", "market.prospect_visit_prob"):
        with pytest.raises(ConfigError) as err:
            settings_of(acquisition="observed", params={key: [0.1, 0.5]})
        assert err.value.key == f"params.{key}" and "acquisition=observed" in str(err.value)


def test_a_sample_of_the_customers_keeps_each_days_arrivals_in_proportion():
    from experiments.calibration.simulate import sampled_arrivals

    firsts = np.repeat([0, 1, 2, 5], [400, 200, 300, 100])  # days since the log's first, 1,000 customers
    assert np.array_equal(sampled_arrivals(firsts[::-1], 2000), np.sort(firsts) + 1)  # all of them, day 1 first
    days = sampled_arrivals(firsts, 100)
    assert np.bincount(days).tolist() == [0, 40, 20, 30, 0, 0, 10]


def test_a_sampled_observed_market_stands_for_the_customers(shop):
    from experiments.calibration.fit import base_market

    log = read_order_log(shop)
    holdout = pd.Timestamp("2025-02-19")
    market = base_market(log, holdout, 100, acquisition="observed")
    assert market.base.population.size == 100 and len(market.arrivals) == 100
    assert market.base.population.represents == market.customers > 100
    assert market.scale(market.base) == pytest.approx(market.customers / 100)


def test_the_covariance_adds_the_markets_the_datas_dynamics_and_the_seed_means_noise():
    p_total, p_dyn = np.array([[4.0, 1.0], [1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    # V = (1 + 1/S) P_tot - (1 - 1/tau) P_dyn: market (P_tot - P_dyn) + P_dyn / tau + P_tot / S
    assert np.allclose(msm_covariance(p_total, p_dyn, tau=2.0, seeds=4), (p_total - p_dyn) + p_dyn / 2 + p_total / 4)
    # no market effect (P_dyn = P_tot): the data's dynamics and the simulation's
    assert np.allclose(msm_covariance(p_total, p_total, tau=5.0, seeds=3), p_total / 5 + p_total / 3)
    # one simulated consumer per real one, all of the noise the market's: the data's and the seed mean's
    assert np.allclose(msm_covariance(p_total, 0 * p_total, tau=1.0, seeds=3), p_total * (1 + 1 / 3))
    # estimated dynamics above the total (noise): not below the floor P_dyn / tau + P_tot / S
    v = msm_covariance(np.eye(2), 3 * np.eye(2), tau=4.0, seeds=2)
    assert np.allclose(v, 3 * np.eye(2) / 4 + np.eye(2) / 2)


def test_candidates_per_batch_fill_the_workers_rounds():
    assert [trials_per_batch(2, s) for s in (2, 3, 5)] == [1, 2, 2]  # 2, 6 and 10 runs on 2 workers
    assert trials_per_batch(1, 3) == 1 and trials_per_batch(4, 3) == 4 and trials_per_batch(8, 2) == 4


def test_the_estimate_is_the_nearest_candidate_and_the_polish_never_loses(fit):
    h = fit.history
    assert set(h["stage"]) <= {"optimiser", "polish"} and (h["stage"] == "optimiser").sum() == TINY["evaluations"]
    best = h.loc[h["distance"].idxmin()]
    assert fit.estimate == pytest.approx({k: best[k] for k in PARAMS})
    assert best["distance"] <= h.loc[h["stage"] == "optimiser", "distance"].min()


def test_candidates_that_break_a_rule_between_keys_are_left_out_not_fatal(shop, tmp_path):
    """Ranges that overlap (a visit floor above the visit peak is refused by the market): the
    calibration goes on without those candidates and says how many it left out."""
    params = {"market.customer_visit_floor": [0.02, 0.4], "market.customer_visit_peak": [0.05, 0.4]}
    result = calibrate(shop, out=tmp_path / "fit", holdout_from="2025-02-19", params=params, bgnbd=False,
                       **{**TINY, "evaluations": 6})
    note = next(n for n in result.notes if "broke a rule of the market" in n)
    assert "market.customer_visit_floor" in note and int(note.split()[0]) >= 1
    h = result.history
    assert (h["stage"] == "optimiser").sum() == 6 and (h["market.customer_visit_floor"]
                                                       <= h["market.customer_visit_peak"]).all()
    assert result.estimate["market.customer_visit_floor"] <= result.estimate["market.customer_visit_peak"]
    assert (result.folder / "report.html").exists()


def test_a_jacobian_side_the_market_refuses_is_a_one_sided_difference(shop, tmp_path):
    """At a visit floor just under the peak, a side that breaks the rule is replaced by the
    estimate itself: the derivative is taken between the estimate and the other side."""
    from experiments.calibration.fit import _Fit, base_market, settings_of
    from experiments.calibration.moments import moments, usable_retention_days, weights
    from experiments.calibration.targets import targets

    s = settings_of(params={"market.customer_visit_floor": [0.01, 0.2], "market.customer_visit_peak": [0.05, 0.2]},
                    **{**TINY, "evaluations": 1})
    log = read_order_log(shop)
    holdout = pd.Timestamp("2025-02-19")
    market = base_market(log, holdout, 200)
    t = targets(log.orders, market.start, holdout)
    observed = moments(t, 7, usable_retention_days(t))
    fit = _Fit(market, s, observed, weights(observed, s["weights"]), 7, usable_retention_days(t), tmp_path)
    u = np.array([s["params"][0].unit(0.1), s["params"][1].unit(0.105)])  # floor 0.1, peak 0.105
    G = fit.jacobian(u, "at")
    # the floor's upper side and the peak's lower side break it
    assert [r.split(":")[0] for r in fit.refused] == ["at-jacobian-0-hi", "at-jacobian-1-lo"]
    centre = fit.point("at", u).mean(axis=0)
    lo = fit.point("at-jacobian-0-lo", np.array([u[0] - 0.1, u[1]])).mean(axis=0)
    hi = fit.point("at-jacobian-1-hi", np.array([u[0], u[1] + 0.1])).mean(axis=0)
    assert np.allclose(G[:, 0], (centre - lo) / 0.1) and np.allclose(G[:, 1], (hi - centre) / 0.1)
