"""Sensitivity (SALib), optimization (Optuna) and the plots of a collected sweep."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import PYTHON, REPO
from sim.errors import ConfigError

TINY = ["population.size=1000", "days=20"]
PNG = b"\x89PNG\r\n\x1a\n"

pytest.importorskip("SALib", reason="SALib not installed: pip install -e '.[sweep]'")


# ---------------------------------------------------------------------------- sensitivity
def _files(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_sobol_indices_table_plot_and_samples(tmp_path):
    from experiments.sensitivity import parse_param, sensitivity

    params = [parse_param("diffusion.innovation=0.002:0.05"), parse_param("platform.commission_rate=0.02:0.12")]
    res = sensitivity(params, TINY, method="sobol", n=8, kpis=["gmv", "gross_margin"], jobs=2, progress=False,
                      out=tmp_path / "sobol")
    assert len(res.samples) == 8 * (2 + 2) and len(res.runs) == 32 and res.ran == 32
    assert list(res.indices.columns) == ["kpi", "param", "low", "high", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(res.indices) == 4 and res.indices[["S1", "ST"]].notna().all().all()
    gm = res.indices[res.indices["kpi"] == "gross_margin"].set_index("param")
    gmv = res.indices[res.indices["kpi"] == "gmv"].set_index("param")
    # the commission rate moves gross margin (GMV − commission − cost), not GMV: the runs that
    # differ only in it share their random numbers and sell the same; innovation moves both
    assert gm.loc["platform.commission_rate", "ST"] > 0.02
    assert gmv.loc["platform.commission_rate", "ST"] == pytest.approx(0.0, abs=1e-9)
    assert gmv.loc["diffusion.innovation", "ST"] > 0.5
    assert _files(tmp_path / "sobol") == ["indices.csv", "indices.png", "problem.json", "runs", "runs.csv",
                                          "samples.csv"]
    assert (tmp_path / "sobol" / "indices.png").read_bytes()[:8] == PNG
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sobol" / "indices.csv"), res.indices, check_dtype=False)
    problem = json.loads((tmp_path / "sobol" / "problem.json").read_text())
    assert problem["method"] == "sobol" and problem["n"] == 8 and problem["overrides"] == TINY
    # each run is a job of the runner, set to its sample's values
    jobs = pd.read_parquet(tmp_path / "sobol" / "runs" / "runs.parquet").set_index("job")
    row = res.runs.iloc[5]
    assert jobs.loc[row["job"], "diffusion.innovation"] == row["diffusion.innovation"]
    assert jobs.loc[row["job"], "gmv"] == row["gmv"] and jobs["population"].eq(1000).all()
    assert res.samples["gmv"].tolist() == res.runs.groupby("sample")["gmv"].mean().tolist()


def test_morris_with_integer_key_two_seeds_and_a_preset(tmp_path):
    from experiments.sensitivity import parse_param, sensitivity

    preset = tmp_path / "market.yaml"
    preset.write_text("population:\n  size: 1500\ndays: 20\nseed: 3\n")
    params = [parse_param("population.kols.count=2:30"), parse_param("diffusion.weak_tie=0.01:0.06")]
    assert params[0].integer and not params[1].integer
    res = sensitivity(params, [f"preset={preset}", "days=25"], method="morris", n=4, kpis=["customers"], seeds=2,
                      jobs=2, progress=False, out=tmp_path / "morris")
    assert len(res.samples) == 4 * 3 and len(res.runs) == 24 and sorted(res.runs["seed"].unique()) == [3, 4]
    assert res.runs["population.kols.count"].map(lambda v: float(v).is_integer()).all()
    assert list(res.indices.columns[-4:]) == ["mu", "mu_star", "mu_star_conf", "sigma"]
    assert (res.indices["mu_star"] >= 0).all() and res.indices["mu_star"].notna().all()
    jobs = pd.read_parquet(tmp_path / "morris" / "runs" / "runs.parquet")
    assert jobs["population"].eq(1500).all() and jobs["days"].eq(25).all()  # the preset, then the command line
    problem = json.loads((tmp_path / "morris" / "problem.json").read_text())
    assert problem["preset"] == str(preset) and problem["seeds"] == [3, 4]
    assert problem["overrides"] == ["population.size=1500", "days=20", "seed=3", "days=25"]
    # common random numbers: both seeds of every sample, the same seeds for every sample
    assert (res.runs.groupby("sample")["seed"].apply(sorted) == pd.Series([[3, 4]] * 12)).all()


def test_sensitivity_rerun_with_the_same_out_runs_nothing_again(tmp_path):
    from experiments.sensitivity import parse_param, sensitivity

    params = [parse_param("diffusion.weak_tie=0.01:0.06"), parse_param("diffusion.innovation=0.002:0.05")]
    out = tmp_path / "again"
    first = sensitivity(params, TINY, n=4, kpis=["gmv"], jobs=2, progress=False, out=out)
    assert first.ran == 16 and first.skipped == 0
    job = out / "runs" / "sample0-seed0" / "job.json"
    stamp = job.stat().st_mtime_ns
    again = sensitivity(params, TINY, n=4, kpis=["gmv"], jobs=2, progress=False, out=out)
    assert again.ran == 0 and again.skipped == 16 and job.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again.indices, first.indices)  # the bootstrap intervals too
    assert all(json.loads(p.read_text())["attempt"] == 1 for p in (out / "runs").glob("*/job.json"))


@pytest.mark.parametrize("param, overrides, n, match", [
    ("diffusion.weak_tie=0.01:0.06", TINY, 10, "power of 2"),
    ("diffusion.nope=0.1:0.6", TINY, 8, "unknown key"),
    ("diffusion.weak_tie=0.01:1.6", TINY, 8, "probability"),
    ("campaign.referral.inviter_reward=1:9", TINY, 8, "add campaign=referral"),
    ("diffusion.weak_tie=0.01:0.06", [*TINY, "out=elsewhere"], 8, "not a key of the market"),
    ("diffusion.weak_tie=0.01:0.06", [*TINY, "preset=missing.yaml"], 8, "cannot be read"),
])
def test_sensitivity_refuses_bad_input_before_running(tmp_path, param, overrides, n, match):
    from experiments.sensitivity import parse_param, sensitivity

    with pytest.raises(ConfigError, match=match):
        sensitivity([parse_param(param)], overrides, n=n, progress=False, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_sensitivity_refuses_a_kpi_the_market_lacks_and_leaves_no_folder(tmp_path):
    from experiments.sensitivity import parse_param, sensitivity

    with pytest.raises(ConfigError, match=r"roi.*need a campaign\); known: .*gmv"):
        sensitivity([parse_param("diffusion.weak_tie=0.01:0.06")], TINY, method="morris", n=2, kpis=["gmv", "roi"],
                    progress=False, out=tmp_path / "x" / "y")
    assert not (tmp_path / "x" / "y").exists()
    with pytest.raises(ConfigError, match="LOW < HIGH"):
        parse_param("diffusion.weak_tie=0.06:0.01")


def test_sensitivity_command(tmp_path):
    out = tmp_path / "cmd"
    args = [PYTHON, "-m", "experiments.sensitivity", "--method", "morris", "--n", "3",
            "--param", "diffusion.weak_tie=0.01:0.06", "--param", "diffusion.innovation=0.002:0.05",
            "--kpi", "gmv", "--jobs", "2", "--out", str(out), *TINY]
    proc = subprocess.run([*args, "--kpi", "roi"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1].startswith("error: --kpi='roi': not in this market")
    assert not out.exists()
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "gmv:" in proc.stdout and "mu_star" in proc.stdout and "sensitivity (morris)" in proc.stderr
    assert "9 run now" in proc.stdout and (out / "indices.csv").exists() and (out / "indices.png").exists()
    for extra, start in ((["--n", "x"], "error: python -m experiments.sensitivity: argument --n: invalid int"),
                         (["--param", "platform.commission_rate=0.1:1.5"],
                          "error: platform.commission_rate=1.5: must be a probability"),
                         (["--bogus"], "error: python -m experiments.sensitivity: unrecognized arguments: --bogus")):
        bad = subprocess.run([*args, *extra, "--out", str(tmp_path / "bad")], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
        assert bad.returncode == 2 and bad.stderr.startswith(start) and bad.stderr.count("\n") == 1, bad.stderr
        assert not (tmp_path / "bad").exists()
    # its runs are a batch: the sweep plots read them
    proc = subprocess.run([PYTHON, "-m", "experiments.sweep_plots", str(out / "runs"), "line", "--x",
                           "diffusion.weak_tie", "--kpi", "gmv"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    line, runs = pd.read_csv(out / "runs" / "line_gmv_diffusion.weak_tie.csv"), pd.read_csv(out / "runs.csv")
    assert len(line) == runs["diffusion.weak_tie"].nunique() and line["n"].sum() == 9


# ---------------------------------------------------------------------------- optimization
REFERRAL = ["campaign=referral", *TINY]


def _params():
    from experiments.sensitivity import parse_param

    return [parse_param("campaign.referral.inviter_reward=1.0:30.0"),
            parse_param("campaign.referral.reward_form=cash,coupon", allow_choices=True)]


def test_optimize_writes_best_history_plot_and_resumes(tmp_path):
    pytest.importorskip("optuna", reason="optuna not installed: pip install -e '.[sweep]'")
    from experiments.optimize import Constraint, optimize

    out = tmp_path / "opt"
    budget = Constraint("campaign_cost_total", "<=", 180.0)  # the 4 trials cost ¥97-215
    first = optimize(_params(), REFERRAL, kpi="incremental_gmv", constraints=[budget], trials=4, jobs=1, out=out,
                     progress=False)
    assert first.ran == 4
    assert [p.name for p in sorted(out.iterdir()) if not p.name.startswith(".")] == [
        "best.json", "history.csv", "history.png", "runs", "study.db"]
    h = pd.read_csv(out / "history.csv")
    assert len(h) == 4 and set(h["state"]) == {"complete"}
    for col in ("trial", "incremental_gmv", "campaign.referral.inviter_reward", "campaign.referral.reward_form",
                "feasible", "constraint campaign_cost_total<=180", "best incremental_gmv so far",
                "mean campaign_cost_total"):
        assert col in h.columns, col
    assert h["feasible"].any() and not h["feasible"].all()  # the budget binds: both kinds are seen
    assert (h["feasible"] == (h["mean campaign_cost_total"] <= 180)).all()
    assert (out / "history.png").read_bytes()[:8] == PNG
    # each trial is a job of the runner, scored by its summary
    jobs = pd.read_parquet(out / "runs" / "runs.parquet").set_index("trial")
    assert sorted(jobs["job"]) == [f"trial{i}-seed0" for i in range(4)]
    assert h.set_index("trial")["incremental_gmv"].to_dict() == jobs["incremental_gmv"].to_dict()
    best = json.loads((out / "best.json").read_text())
    feasible = h[h["feasible"]]
    assert best["kpis"]["campaign_cost_total"] <= 180
    assert best["value"] == pytest.approx(feasible["incremental_gmv"].max())
    assert best["command"].startswith("python -m experiments.run campaign=referral population.size=1000 days=20 "
                                      "campaign.referral.inviter_reward=")

    again = optimize(_params(), REFERRAL, kpi="incremental_gmv", constraints=[budget], trials=6, jobs=1,
                     out=out, progress=False)
    assert again.ran == 2 and len(again.history) == 6
    h2 = pd.read_csv(out / "history.csv")
    pd.testing.assert_frame_equal(h2.iloc[:4][h.columns[:4]], h[h.columns[:4]])
    assert len(pd.read_parquet(out / "runs" / "runs.parquet")) == 6
    with pytest.raises(ConfigError, match="other settings"):
        optimize(_params(), REFERRAL, kpi="gmv", study_name="incremental_gmv", trials=6, out=out, progress=False)


def test_optimize_refuses_a_kpi_the_market_lacks_and_leaves_no_folder(tmp_path):
    pytest.importorskip("optuna", reason="optuna not installed: pip install -e '.[sweep]'")
    from experiments.optimize import optimize
    from experiments.sensitivity import parse_param

    with pytest.raises(ConfigError, match=r"--kpi='roi': not in this market's summary"):
        optimize([parse_param("diffusion.weak_tie=0.01:0.06")], TINY, kpi="roi", trials=2, jobs=1,
                 out=tmp_path / "roi", progress=False)
    assert not (tmp_path / "roi").exists()


def test_optimize_retries_a_trial_left_running_by_a_killed_search(tmp_path):
    optuna = pytest.importorskip("optuna", reason="optuna not installed: pip install -e '.[sweep]'")
    from experiments.optimize import optimize

    out = tmp_path / "killed"
    optimize(_params(), REFERRAL, kpi="gmv", trials=2, jobs=1, out=out, progress=False)
    study = optuna.load_study(study_name="gmv", storage=f"sqlite:///{out / 'study.db'}")
    orphan = study.ask()  # a search killed while this trial ran
    orphan.suggest_float("campaign.referral.inviter_reward", 1.0, 30.0)
    orphan.suggest_categorical("campaign.referral.reward_form", ["cash", "coupon"])
    res = optimize(_params(), REFERRAL, kpi="gmv", trials=4, jobs=2, out=out, progress=False)
    h = res.history.set_index("trial")
    assert h.loc[orphan.number, "state"] == "fail" and "interrupted" in h.loc[orphan.number, "error"]
    retry = h[h["retry_of"] == orphan.number]
    assert len(retry) == 1 and retry["state"].iloc[0] == "complete"
    assert retry["campaign.referral.inviter_reward"].iloc[0] == pytest.approx(orphan.params[
        "campaign.referral.inviter_reward"])
    assert any("interrupted" in n for n in res.notes)


def test_optimize_command_line(tmp_path):
    pytest.importorskip("optuna", reason="optuna not installed: pip install -e '.[sweep]'")
    out = tmp_path / "cli"
    proc = subprocess.run([PYTHON, "-m", "experiments.optimize", "--kpi", "roi", "--trials", "3", "--jobs", "2",
                           "--param", "campaign.referral.invitee_reward=1.0:20.0", "--budget", "5000",
                           "--out", str(out), *REFERRAL], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "study roi: 3 trials" in proc.stdout and "campaign_cost_total<=5000" in proc.stderr
    assert (out / "best.json").exists()
    bad = subprocess.run([PYTHON, "-m", "experiments.optimize", "--kpi", "roi", "--param", "x=1:2", "--out",
                          str(tmp_path / "bad"), *TINY], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: x=1: unknown key") and bad.stderr.count("\n") == 1
    assert not (tmp_path / "bad").exists()


# ---------------------------------------------------------------------------- plots of a sweep
@pytest.fixture()
def runs(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for a in (1, 2, 3):
        for b in (0.1, 0.2):
            for seed in range(4):
                rows.append({"job": f"a={a},b={b},seed={seed}", "status": "ok", "error": None,
                             "overrides": f"a={a} b={b} seed={seed} progress=false", "a": a, "b": b, "seed": seed,
                             "gmv": 100 * a + 1000 * b + rng.normal(0, 5)})
    rows.append({"job": "a=9,b=0.1,seed=0", "status": "failed", "error": "boom", "overrides": "a=9 b=0.1 seed=0",
                 "a": 9, "b": 0.1, "seed": 0, "gmv": None})
    frame = pd.DataFrame(rows)
    frame.to_parquet(tmp_path / "runs.parquet", index=False)
    return frame


def test_heatmap_and_line_tables(runs):
    from experiments.sweep_plots import heatmap_table, line_table, swept_keys

    assert swept_keys(runs) == ["a", "b", "seed"]
    table = heatmap_table(runs, "a", "b", "gmv")
    assert list(table.columns) == [1, 2, 3, 9] and list(table.index) == [0.1, 0.2]
    assert np.isnan(table.loc[0.1, 9])  # the failed job is left out
    ok = runs[runs["status"] == "ok"]
    assert table.loc[0.2, 3] == pytest.approx(ok[(ok.a == 3) & (ok.b == 0.2)]["gmv"].mean())
    line = line_table(runs, "a", "gmv", by="b")
    assert list(line.columns) == ["b", "a", "mean", "low", "high", "n"] and (line["n"] == 4).all()
    assert (line["low"] < line["mean"]).all() and (line["mean"] < line["high"]).all()
    from experiments.stats import mean_interval

    sub = ok[(ok.a == 2) & (ok.b == 0.1)]["gmv"].tolist()
    row = line[(line.a == 2) & (line.b == 0.1)].iloc[0]
    assert (row["low"], row["high"]) == pytest.approx((mean_interval(sub).low, mean_interval(sub).high))


def test_sweep_plots_command(runs, tmp_path):
    env = {**os.environ}
    proc = subprocess.run([PYTHON, "-m", "experiments.sweep_plots", str(tmp_path), "heatmap", "--x", "a", "--y", "b",
                           "--kpi", "gmv"], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "heatmap_gmv_a_b.png").read_bytes()[:8] == PNG
    assert (tmp_path / "heatmap_gmv_a_b.csv").exists()
    proc = subprocess.run([PYTHON, "-m", "experiments.sweep_plots", str(tmp_path / "runs.parquet"), "line", "--x",
                           "a", "--kpi", "gmv", "--out", str(tmp_path / "plots")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "plots" / "line_gmv_a.png").read_bytes()[:8] == PNG
    assert len(pd.read_csv(tmp_path / "plots" / "line_gmv_a.csv")) == 3  # a = 1, 2, 3 (9 only failed)


@pytest.mark.parametrize("args, start", [
    (["line", "--x", "c"], "error: --x='c': no such column in runs.parquet (swept keys: a, b, seed;"),
    (["heatmap", "--x", "a", "--y", "a"], "error: --y='a': must differ from --x"),
    (["line", "--x", "a", "--kpi", "roi"], "error: --kpi='roi': no such column"),
    (["line", "--x", "a", "--level", "1.5"], "error: --level=1.5: must be in (0, 1)"),
    (["heatmap", "--x", "a"], "error: python -m experiments.sweep_plots runs heatmap: the following arguments are "
                              "required: --y"),
])
def test_sweep_plots_refusals_are_one_line(runs, tmp_path, capsys, args, start):
    from experiments.sweep_plots import main

    assert main([str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(start)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.parquet"]  # nothing written


def test_sweep_plots_refuses_a_missing_runs_table(tmp_path, capsys):
    from experiments.sweep_plots import main

    assert main([str(tmp_path / "nowhere"), "line", "--x", "a"]) == 2
    assert capsys.readouterr().err.startswith(f"error: runs='{tmp_path / 'nowhere'}': not found")
    assert main([str(tmp_path), "line", "--x", "a"]) == 2
    assert capsys.readouterr().err.startswith(f"error: runs='{tmp_path / 'runs.parquet'}': not found")
