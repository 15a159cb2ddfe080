"""experiments.compare end to end: the command, the function API, the files and the report."""

import base64
import os
import re
import subprocess

import pandas as pd
import pytest

from conftest import PYTHON, REPO

SCENARIOS = ["default", "referral_team_launch"]
SMALL = ["population.size=1500", "days=30"]
SECTION_IDS = ("setup", "headline", "gmv", "dau", "adopters", "retention", "cohorts", "funnel", "costs",
               "pairs", "method")
HEADLINE_KPIS = ("gmv", "customers", "retention_d1", "retention_d7", "retention_d30", "cac", "roi",
                 "k_factor", "team_completion_rate", "campaign_cost_total")


def run_compare(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([PYTHON, "-m", "experiments.compare", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)


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
    assert sorted(p.name for p in out.iterdir()) == ["pairs.csv", "report.html", "runs.csv", "summary.csv"]
    stdout = proc.stdout
    assert "Headline" in stdout and "Paired differences" in stdout
    table = stdout[stdout.index("Headline"):]
    header = table.splitlines()[1].split()
    assert header == ["KPI", *SCENARIOS]
    for label in ("GMV", "customers", "D1 retention", "D7 retention", "D30 retention", "CAC", "ROI",
                  "K-factor", "team completion", "campaign cost"):
        assert re.search(rf"^{re.escape(label)}\s", table, re.M), label
    assert "n/a" in table  # the default market has no CAC / K-factor
    assert f"report: {out / 'report.html'}" in stdout
    assert "compare:" in proc.stderr  # the progress bar


def test_csv_files_have_the_expected_shape(cli):
    _, out = cli
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == len(SCENARIOS) * 3
    assert sorted(zip(runs["scenario"], runs["seed"])) == sorted((s, k) for s in SCENARIOS for k in range(3))
    assert set(HEADLINE_KPIS) - {"cac", "roi", "k_factor", "team_completion_rate"} <= set(runs.columns)
    assert {"cac", "roi", "k_factor", "team_completion_rate", "incremental_gmv"} <= set(runs.columns)
    assert (runs["days"] == 30).all() and (runs["population"] == 1500).all()

    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["scenario", "kpi", "mean", "low", "high", "n"]
    for s in SCENARIOS:
        for k in HEADLINE_KPIS:
            assert len(summary[(summary["scenario"] == s) & (summary["kpi"] == k)]) == 1, (s, k)
    row = summary[(summary["scenario"] == "default") & (summary["kpi"] == "gmv")].iloc[0]
    assert row["n"] == 3 and row["low"] < row["mean"] < row["high"]
    assert row["mean"] == pytest.approx(runs.loc[runs["scenario"] == "default", "gmv"].mean())
    cac = summary[(summary["scenario"] == "default") & (summary["kpi"] == "cac")].iloc[0]
    assert cac["n"] == 0 and pd.isna(cac["mean"])  # undefined without a campaign: n/a

    pairs = pd.read_csv(out / "pairs.csv")
    assert list(pairs.columns) == ["scenario_a", "scenario_b", "kpi", "mean_a", "mean_b", "diff_mean",
                                   "diff_low", "diff_high", "n", "distinguishable"]
    assert set(zip(pairs["scenario_a"], pairs["scenario_b"])) == {tuple(SCENARIOS)}
    cost = pairs[pairs["kpi"] == "campaign_cost_total"].iloc[0]
    assert cost["diff_mean"] > 0 and bool(cost["distinguishable"])  # the campaign costs money at every seed


def test_report_has_every_section_and_needs_no_network(cli):
    _, out = cli
    text = (out / "report.html").read_text(encoding="utf-8")
    for sid in SECTION_IDS:
        assert f"id='{sid}'" in text, sid
    for heading in ("Headline", "Cumulative GMV", "Daily active users", "Adopters", "Retention curves",
                    "Cohort retention heatmap", "Campaign funnel", "Cost breakdown", "Paired differences"):
        assert f"<h2>{heading}</h2>" in text, heading
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text, re.I)
    assert refs and not [r for r in refs if not (r.startswith("data:image/png;base64,") or r.startswith("#"))]
    assert not re.search(r"https?://", text)
    assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 7  # gmv, dau, adopters, retention, cohorts, funnel, costs
    pngs = [base64.b64decode(b) for b in images]
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert not [p for p in pngs if b"http" in p]
    for s in SCENARIOS:
        assert s in text
    assert "Referral" in text and "teams opened" in text  # the campaign funnels of the launch


def test_function_api_matches_the_command(api, cli):
    comparison, out = api
    assert (out / "report.html").exists() and comparison.paths["report"] == out / "report.html"
    assert comparison.labels == SCENARIOS and comparison.plan.seeds == [0, 1, 2]
    assert len(comparison.runs) == 6
    cli_runs = pd.read_csv(cli[1] / "runs.csv")
    # same seeds, same markets: the two entry points give the same numbers
    got = comparison.runs.set_index(["scenario", "seed"])["gmv"].sort_index()
    want = cli_runs.set_index(["scenario", "seed"])["gmv"].sort_index()
    assert got.tolist() == pytest.approx(want.tolist())
    assert comparison.kpi("default", "cac") is None
    mean, low, high, n = comparison.kpi("referral_team_launch", "gmv")
    assert n == 3 and low < mean < high


def test_a_scenario_compared_with_itself_shows_no_difference(tmp_path):
    from experiments.compare import compare

    c = compare(["default", "default"], seeds=2, overrides=["population.size=1000", "days=20"], jobs=1,
                out=tmp_path / "self", progress=False)
    assert c.labels == ["default", "default#2"]
    pairs = c.pairs[c.pairs["n"] > 0]
    assert len(pairs) > 10
    assert (pairs["diff_mean"] == 0).all()
    assert (pairs["diff_low"] == 0).all() and (pairs["diff_high"] == 0).all()
    assert not pairs["distinguishable"].any()


def test_analysis_of_identical_runs_has_zero_differences():
    from experiments.compare import pairwise, summarise

    runs = pd.DataFrame({"scenario": ["a"] * 4 + ["b"] * 4, "seed": [0, 1, 2, 3] * 2,
                         "gmv": [10.0, 12.0, 9.0, 14.0] * 2, "cac": [None] * 8})
    pairs = pairwise(runs, ["a", "b"], ["gmv", "cac"])
    gmv = pairs[pairs["kpi"] == "gmv"].iloc[0]
    assert gmv["diff_mean"] == 0 and not gmv["distinguishable"] and gmv["n"] == 4
    cac = pairs[pairs["kpi"] == "cac"].iloc[0]
    assert cac["n"] == 0 and pd.isna(cac["diff_mean"]) and not cac["distinguishable"]
    summary = summarise(runs, ["a", "b"], ["gmv"])
    assert summary["mean"].tolist() == [11.25, 11.25]


def test_one_compose_per_scenario_gives_the_configs_compose_would():
    from hydra import compose, initialize_config_module

    from experiments.compare import make_plan
    from experiments.run import to_sim_config

    plan = make_plan(["referral_team_launch"], seeds=[4, 9], overrides=["days=20"])
    with initialize_config_module(config_module="conf", version_base="1.3"):
        for s in (4, 9):
            cfg = compose(config_name="config", overrides=["scenario=referral_team_launch", "days=20", f"seed={s}"])
            assert plan.configs["referral_team_launch"][s] == to_sim_config(cfg)


def test_bad_input_from_the_command_line_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "bad"
    proc = run_compare("scenarios=[default,no_such_scenario]", "seeds=2", f"out={out}")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: scenarios='no_such_scenario': unknown scenario; known: ")
    assert "default" in lines[0] and "referral_team_launch" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("args, start", [
    (["scenarios=[default]", "seeds=0"], "error: seeds=0: must be"),
    (["scenarios=[default]", "seeds=[]"], "error: seeds=[]: must be"),
    (["scenarios=[default]", "days=0"], "error: days=0: must be an integer >= 1"),
    (["scenarios=[default]", "diffusion.innovation=1.5"], "error: diffusion.innovation=1.5: must be"),
    (["scenarios=[default]", "no_such_key=1"], "error: no_such_key='1': no such key"),
    (["scenarios=[default]", "network=hypercube"], "error: network='hypercube': unknown option; known:"),
    (["scenarios=[default]", "jobs=0"], "error: jobs=0: must be an integer >= 1"),
    (["scenarios=[default]", "scenario=bass"], "error: scenario='bass': use scenarios=[...]"),
    (["scenarios=[default]", "campaign=[referral"], "error: campaign='[referral': cannot parse"),
    (["seeds=3"], "error: scenarios: required"),
])
def test_bad_input_stops_before_any_run(tmp_path, capsys, args, start):
    from experiments.compare import main

    out = tmp_path / "bad"
    assert main([*args, f"out={out}"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(start), err
    assert not out.exists()


def test_own_keys_are_parsed_and_the_rest_are_overrides():
    from experiments.compare import parse_args

    settings, overrides = parse_args(["scenarios=[a,b]", "seeds=[1,5]", "jobs=3", "out=x/y", "level=0.9",
                                      "progress=false", "population.size=500", "network=sbm", "report=false"])
    assert settings == {"scenarios": ["a", "b"], "seeds": [1, 5], "seed": 0, "jobs": 3, "out": "x/y",
                        "level": 0.9, "progress": False}
    assert overrides == ["population.size=500", "network=sbm"]
    settings, _ = parse_args(["scenarios=default", "seed=10"])
    assert settings["scenarios"] == ["default"] and settings["seeds"] == 20 and settings["seed"] == 10
