"""experiments.compare end to end: the command, the function API, the files, the report,
resume, output folders, bad input and failed runs. Small markets (1,000-1,500 consumers,
30 days, 1-3 seeds) so that the whole file runs in about a minute on two cores."""

import base64
import dataclasses
import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import PYTHON, REPO

SCENARIOS = ["default", "referral_team_launch"]
SMALL = ["population.size=1500", "days=30"]
TINY = ["population.size=1000", "days=30"]
SECTION_IDS = ("setup", "headline", "gmv", "dau", "adopters", "retention", "cohorts", "funnel", "costs",
               "pairs", "method")
HEADLINE_KPIS = ("gmv", "net_gmv", "refund_rate", "customers", "retention_d1", "retention_d7", "retention_d30",
                 "cac", "roi", "roi_net", "k_factor", "team_completion_rate", "campaign_cost_total")


def run_compare(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "experiments.compare", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"})


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "cmp"
    proc = run_compare(f"scenarios=[{','.join(SCENARIOS)}]", "seeds=3", *SMALL, "jobs=2", f"out={out}")
    assert proc.returncode == 0, proc.stderr
    return proc, out


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from experiments.compare import compare

    out = tmp_path_factory.mktemp("api") / "cmp"
    return compare(SCENARIOS, seeds=3, overrides=SMALL, jobs=2, out=out, progress=False), out


def test_command_writes_every_file_and_prints_the_table(cli):
    proc, out = cli
    assert sorted(p.name for p in out.iterdir()) == ["pairs.csv", "report.html", "runs", "runs.csv", "summary.csv"]
    assert {f"{s}-seed{k}" for s in SCENARIOS for k in range(3)} <= {p.name for p in (out / "runs").iterdir()}
    stdout = proc.stdout
    assert "Headline" in stdout and "Paired differences" in stdout
    table = stdout[stdout.index("Headline"):]
    assert table.splitlines()[1].split() == ["KPI", *SCENARIOS]
    for label in ("GMV", "customers", "D1 retention", "D7 retention", "D30 retention", "CAC", "ROI",
                  "K-factor", "team completion", "campaign cost"):
        assert re.search(rf"^{re.escape(label)}\s", table, re.M), label
    assert re.search(r"^CAC\s+n/a\s+¥[\d.,]+ ±[\d.,]+$", table, re.M)  # no campaign in default: no CAC
    assert re.search(r"^campaign cost\s.*\*$", table, re.M)  # the campaign costs money at every seed
    assert f"report: {out / 'report.html'}" in stdout
    assert "compare:" in proc.stderr  # the progress bar


def test_csv_files_have_the_expected_shape(cli):
    _, out = cli
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs.columns[:5]) == ["scenario", "scenario_name", "seed", "job", "status"]
    assert sorted(zip(runs["scenario"], runs["seed"])) == sorted((s, k) for s in SCENARIOS for k in range(3))
    assert set(HEADLINE_KPIS) | {"incremental_gmv", "repeat_customers", "active_customers_at_end"} <= set(runs.columns)
    assert (runs["days"] == 30).all() and (runs["population"] == 1500).all() and (runs["status"] == "ok").all()

    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["scenario", "kpi", "mean", "low", "high", "n"]
    assert summary.groupby("scenario")["kpi"].apply(list).map(lambda k: k[:len(HEADLINE_KPIS)]).tolist() == [list(HEADLINE_KPIS)] * 2
    assert not summary.duplicated(["scenario", "kpi"]).any() and "wall_seconds" not in set(summary["kpi"])
    row = summary.set_index(["scenario", "kpi"]).loc[("default", "gmv")]
    assert row["n"] == 3 and row["low"] < row["mean"] < row["high"]
    assert row["mean"] == pytest.approx(runs.loc[runs["scenario"] == "default", "gmv"].mean())
    cac = summary.set_index(["scenario", "kpi"]).loc[("default", "cac")]
    assert cac["n"] == 0 and pd.isna(cac["mean"])  # undefined without a campaign: n/a

    pairs = pd.read_csv(out / "pairs.csv")
    assert list(pairs.columns) == ["scenario_a", "scenario_b", "kpi", "mean_a", "mean_b", "diff_mean",
                                   "diff_low", "diff_high", "n", "distinguishable"]
    assert set(zip(pairs["scenario_a"], pairs["scenario_b"])) == {tuple(SCENARIOS)}
    gmv = pairs.set_index("kpi").loc["gmv"]
    by_seed = runs.pivot(index="seed", columns="scenario", values="gmv")
    assert gmv["diff_mean"] == pytest.approx((by_seed[SCENARIOS[1]] - by_seed[SCENARIOS[0]]).mean())
    cost = pairs.set_index("kpi").loc["campaign_cost_total"]
    assert cost["diff_mean"] > 0 and bool(cost["distinguishable"])


def test_report_has_every_section_and_needs_no_network(cli):
    _, out = cli
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for sid in SECTION_IDS:
        assert f"id='{sid}'" in text, sid
    for heading in ("Headline", "Cumulative GMV", "Daily active users", "Adopters", "Retention curves",
                    "Cohort retention heatmap", "Campaign funnel", "Cost breakdown", "Paired differences"):
        assert f"<h2>{heading}</h2>" in text, heading
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text, re.I)
    assert refs and not [r for r in refs if not (r.startswith("data:image/png;base64,") or r.startswith("#"))]
    assert "http" not in text and "<script" not in text.lower() and "<link" not in text.lower()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 7  # gmv, dau, adopters, retention, cohorts, funnel, costs
    pngs = [base64.b64decode(b) for b in images]
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs) and not [p for p in pngs if b"http" in p]
    for s in SCENARIOS:
        assert s in text
    assert "Referral" in text and "teams opened" in text  # the campaign funnels of the launch
    assert "None" not in re.sub(r"base64,[^\"]+", "", text)  # undefined values show as n/a


def test_function_api_matches_the_command(api, cli):
    comparison, out = api
    assert comparison.paths["report"] == out / "report.html" and comparison.folder == out
    assert comparison.labels == SCENARIOS and comparison.plan.seeds == [0, 1, 2]
    assert comparison.ran == 6 and len(comparison.runs) == 6
    # same seeds, same markets: the two entry points give the same numbers
    for name in ("summary.csv", "pairs.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(cli[1] / name))
    assert comparison.kpi("default", "cac") is None
    mean, low, high, n = comparison.kpi("referral_team_launch", "gmv")
    assert n == 3 and low < mean < high


def test_resume_runs_nothing_new_and_gives_the_same_tables(api):
    from experiments.compare import compare

    first, out = api
    tables = {name: (out / name).read_bytes() for name in ("runs.csv", "summary.csv", "pairs.csv")}
    again = compare(SCENARIOS, seeds=3, overrides=SMALL, jobs=2, out=out, progress=False)
    assert again.ran == 0
    assert {name: (out / name).read_bytes() for name in tables} == tables
    more = compare(SCENARIOS, seeds=4, overrides=SMALL, jobs=2, out=out, progress=False)  # one seed more
    assert more.ran == 2 and len(more.runs) == 8


def test_a_scenario_compared_with_itself_shows_no_difference(tmp_path):
    from experiments.compare import compare

    c = compare(["default", "default"], seeds=2, overrides=TINY, jobs=2, out=tmp_path / "self", progress=False)
    assert c.labels == ["default", "default#2"] and c.ran == 4
    pairs = c.pairs[c.pairs["n"] > 0]
    assert len(pairs) > 10
    assert (pairs[["diff_mean", "diff_low", "diff_high"]] == 0).all().all()
    assert not pairs["distinguishable"].any()


def test_analysis_of_identical_runs_has_zero_differences():
    from experiments.compare import pairwise, summarise

    runs = pd.DataFrame({"scenario": ["a"] * 4 + ["b"] * 4, "seed": [0, 1, 2, 3] * 2,
                         "gmv": [10.0, 12.0, 9.0, 14.0] * 2, "cac": [np.nan] * 8})
    pairs = pairwise(runs, ["a", "b"], ["gmv", "cac"])
    gmv = pairs[pairs["kpi"] == "gmv"].iloc[0]
    assert gmv["diff_mean"] == 0 and gmv["diff_low"] == 0 and not gmv["distinguishable"] and gmv["n"] == 4
    cac = pairs[pairs["kpi"] == "cac"].iloc[0]
    assert cac["n"] == 0 and pd.isna(cac["diff_mean"]) and not cac["distinguishable"]
    assert summarise(runs, ["a", "b"], ["gmv"])["mean"].tolist() == [11.25, 11.25]
    shifted = runs.assign(gmv=runs["gmv"] + np.where(runs["scenario"] == "b", 2.0, 0.0))
    moved = pairwise(shifted, ["a", "b"], ["gmv"]).iloc[0]
    assert (moved["diff_mean"], moved["diff_low"], moved["diff_high"]) == (2.0, 2.0, 2.0) and moved["distinguishable"]


def test_market_seed_holds_the_market_while_the_seeds_vary_the_dynamics(tmp_path):
    from experiments.compare import compare
    from sim.build import build_config
    from sim.config import SimConfig
    from sim.model import MarketModel

    keys = {f.name for f in dataclasses.fields(SimConfig)}

    def networks(folder):  # the degree sequence of the market each run simulated (its config.yaml)
        configs = [yaml.safe_load((folder / "runs" / f"default-seed{s}" / "config.yaml").read_text()) for s in range(3)]
        return [MarketModel(build_config({k: v for k, v in c.items() if k in keys})).network.degree for c in configs]

    fixed = compare(["default"], seeds=3, overrides=[*TINY, "market_seed=7"], jobs=2, out=tmp_path / "m",
                    progress=False)
    assert (fixed.runs["market_seed"] == 7).all() and fixed.runs["gmv"].nunique() == 3
    assert fixed.runs[["population", "mean_degree"]].nunique().max() == 1
    degrees = networks(tmp_path / "m")
    assert all(np.array_equal(degrees[0], d) for d in degrees[1:])
    free = compare(["default"], seeds=3, overrides=TINY, jobs=2, out=tmp_path / "f", progress=False)
    assert free.runs["market_seed"].tolist() == [0, 1, 2]
    degrees = networks(tmp_path / "f")
    assert not any(np.array_equal(degrees[0], d) for d in degrees[1:])


def test_a_preset_applies_to_every_scenario_and_the_command_line_wins(tmp_path):
    from experiments.compare import check_settings, make_plan

    preset = tmp_path / "small.yaml"
    preset.write_text("days: 40\npopulation:\n  size: 1200\n", encoding="utf-8")
    plan = make_plan(check_settings(scenarios=SCENARIOS, seeds=[4, 9], preset=str(preset)), ["days=35"])
    assert [(c.days, c.population.size) for c in plan.configs.values()] == [(35, 1200)] * 2
    jobs = plan.jobs()
    assert [j.name for j in jobs] == [f"{s}-seed{k}" for s in SCENARIOS for k in (4, 9)]
    assert [j.config.seed for j in jobs] == [4, 9, 4, 9] and jobs[0].params["scenario_name"] == "default"


def test_two_compares_without_out_write_two_folders(tmp_path, monkeypatch):
    from experiments import cli
    from experiments.compare import compare

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "timestamp", lambda: "2030-01-01_00-00-00")  # both start in the same second
    first = compare(["bass"], seeds=1, overrides=TINY, jobs=1, progress=False)
    second = compare(["bass"], seeds=1, overrides=TINY, jobs=1, progress=False)
    assert second.ran == 1 and first.folder != second.folder
    assert sorted(p.name for p in (tmp_path / "results" / "compare").iterdir()) == \
        ["2030-01-01_00-00-00", "2030-01-01_00-00-00_2"]


def test_two_commands_started_together_write_two_folders(tmp_path):
    args = [PYTHON, "-m", "experiments.compare", "scenarios=[bass]", "seeds=1", *TINY, "jobs=1", "progress=false"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    folders = list((tmp_path / "results" / "compare").iterdir())
    assert len(folders) == 2 and all((f / "report.html").exists() for f in folders)


@pytest.mark.parametrize("args, start", [
    (["scenarios=[default]", "seeds=0"], "error: seeds=0: must be a count >= 1"),
    (["scenarios=[default]", "seeds=[]"], "error: seeds=[]: must be a count >= 1"),
    (["scenarios=[default]", "seeds=[1,1]"], "error: seeds=[1, 1]: must not repeat a seed"),
    (["scenarios=[default]", "level=2"], "error: level=2: must be a number in (0, 1)"),
    (["scenarios=[default]", "level=high"], "error: level='high': must be a number"),
    (["scenarios=[default]", "jobs=0"], "error: jobs=0: must be an integer >= 1"),
    (["scenarios=[default]", "baseline=maybe"], "error: baseline='maybe': must be true or false"),
    (["scenarios=[default,defualt]"], "error: scenarios='defualt': unknown option; did you mean default? known:"),
    (["scenarios=[default]", "days=0"], "error: days=0: must be an integer >= 1"),
    (["scenarios=[default]", "no_such_key=1"], "error: no_such_key=1: unknown key"),
    (["scenarios=[default]", "network=hypercube"], "error: network='hypercube': unknown option"),
    (["scenarios=[default]", "scenario=bass"], "error: scenario='bass': use scenarios=[...]"),
    (["scenarios=[default]", "hydra.run.dir=x"], "error: hydra.run.dir='x': hydra.* does not apply"),
    (["scenarios=[default]", "campaign=[referral"], "error: campaign='[referral': cannot parse"),
    (["scenarios=[default]", "preset=no_such_file.yaml"], "error: preset='no_such_file.yaml': cannot be read"),
    (["seeds=3"], "error: experiments.compare: scenarios=[a,b,...] is required"),
])
def test_bad_input_is_one_line_exit_2_and_no_folder(tmp_path, monkeypatch, capsys, args, start):
    from experiments.compare import main

    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(start), lines
    assert list(tmp_path.iterdir()) == []  # not even results/compare/


def test_bad_input_from_the_command_line_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "bad"
    proc = run_compare("scenarios=[default,no_such_scenario]", "seeds=2", f"out={out}")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: scenarios='no_such_scenario': unknown option; known: ")
    assert len(proc.stderr.splitlines()) == 1 and "referral_team_launch" in proc.stderr
    assert not out.exists()


def test_a_failed_run_ends_the_compare_with_exit_1_and_the_next_one_resumes(tmp_path, monkeypatch, capsys):
    import sim.evaluation
    from experiments.compare import main

    evaluate = sim.evaluation.evaluate

    def broken_at_seed_1(config, **kwargs):
        if config.seed == 1:
            raise RuntimeError("boom")
        return evaluate(config, **kwargs)

    args = ["scenarios=[bass]", "seeds=2", *TINY, "jobs=1", "progress=false", f"out={tmp_path}"]
    monkeypatch.setattr(sim.evaluation, "evaluate", broken_at_seed_1)  # jobs=1 runs in this process
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: a run failed: bass-seed1: RuntimeError: boom"]
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert runs.set_index("job")["status"].to_dict() == {"bass-seed0": "ok", "bass-seed1": "failed"}
    assert not (tmp_path / "report.html").exists()
    monkeypatch.setattr(sim.evaluation, "evaluate", evaluate)
    assert main(args) == 0
    assert "2 runs (1 run now, 1 found finished)" in capsys.readouterr().out


def test_own_keys_are_parsed_and_the_rest_are_overrides():
    from experiments.compare import check_settings, parse_args

    own, overrides = parse_args(["scenarios=[a,b]", "seeds=[1,5]", "jobs=3", "out=x/y", "level=0.9",
                                 "progress=false", "population.size=500", "network=sbm", "market_seed=4"])
    assert own == {"scenarios": ["a", "b"], "seeds": [1, 5], "jobs": 3, "out": "x/y", "level": 0.9, "progress": False}
    assert overrides == ["population.size=500", "network=sbm", "market_seed=4"]
    settings = check_settings(**parse_args(["scenarios=default", "seed=10", "seeds=3"])[0])
    assert settings.scenarios == ["default"] and settings.seeds == [10, 11, 12]
    settings = check_settings(**parse_args(["scenarios=default,bass", "seeds=range(2,5)"])[0])  # Hydra's sweeps
    assert settings.scenarios == ["default", "bass"] and settings.seeds == [2, 3, 4]
