"""The Hydra app end to end, as a user runs it."""

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import PYTHON, REPO

SUMMARY_KEYS = {"gmv", "orders", "customers", "aov", "retention_d1", "retention_d7", "retention_d30",
                "days", "population"}


def run_app(*overrides: str, cwd: Path = REPO, exe: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = (exe or [PYTHON, "-m", "experiments.run"]) + ["progress=false", *overrides]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_run_writes_metrics_summary_config_and_report(tmp_path):
    out = tmp_path / "run"
    proc = run_app("population.size=3000", "days=40", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert metrics["day"].tolist() == list(range(1, 41))
    for col in ("day", "gmv", "orders", "buyers", "new_customers", "active_users", "aware", "adopters"):
        assert col in metrics.columns
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["days"] == 40 and summary["population"] == 3000
    assert summary["gmv"] == pytest.approx(metrics["gmv"].sum())
    assert summary["customers"] == metrics["adopters"].iloc[-1]
    assert "population:" in (out / "config.yaml").read_text()
    for name in ("gmv.png", "adopters.png", "retention.png", "report.md"):
        assert (out / name).stat().st_size > 0
    assert (out / "gmv.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "report.md" in proc.stdout and "GMV" in proc.stdout
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_scenario_bass_and_network_override(tmp_path):
    out = tmp_path / "bass"
    proc = run_app("scenario=bass", "population.size=2000", "days=20", "report=false", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["law"] == "bass" and summary["network"] == "complete"
    assert summary["orders"] == summary["customers"]
    out2 = tmp_path / "bass_ws"
    proc = run_app("scenario=bass", "network=watts_strogatz", "population.size=2000", "days=20",
                   "report=false", f"hydra.run.dir={out2}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out2 / "summary.json").read_text())["network"] == "watts_strogatz"


@pytest.mark.parametrize("override, key", [
    ("days=0", "days"),
    ("population.size=-5", "population.size"),
    ("diffusion.innovation=1.5", "diffusion.innovation"),
    ("network.kind=hypercube", "network.kind"),
])
def test_bad_input_stops_before_simulating_with_one_line(tmp_path, override, key):
    out = tmp_path / "bad"
    proc = run_app(override, f"hydra.run.dir={out}")
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.strip().splitlines() if line]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {key}=")
    assert not (out / "summary.json").exists()
    assert not (out / "metrics.parquet").exists()


def test_bad_edge_list_file_is_refused(tmp_path):
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\n1,2\n2,x\n")
    out = tmp_path / "bad_file"
    proc = run_app("network=file", f"network.path={edges}", f"hydra.run.dir={out}")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: network.path="), proc.stderr
    assert not (out / "summary.json").exists()


def test_own_edge_list_runs(tmp_path):
    import networkx as nx

    graph = nx.barabasi_albert_graph(500, 3, seed=1)
    pd.DataFrame([(u + 1000, v + 1000) for u, v in graph.edges()], columns=["source", "target"]) \
        .to_parquet(tmp_path / "edges.parquet")
    out = tmp_path / "own"
    proc = run_app("network=file", f"network.path={tmp_path / 'edges.parquet'}", "days=15", "report=false",
                   f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["population"] == 500 and summary["network"] == "file"


def test_console_script_finds_its_packaged_configs(tmp_path):
    """The installed script runs from any directory: configs come from the package (pkg://conf)."""
    script = Path(PYTHON).with_name("socialsim")
    assert script.exists()
    out = tmp_path / "script"
    proc = run_app("population.size=1000", "days=5", "report=false", f"hydra.run.dir={out}",
                   cwd=tmp_path, exe=[str(script)])
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").exists()


def test_campaign_run_writes_its_baseline_and_incremental_kpis(tmp_path):
    out = tmp_path / "incident"
    proc = run_app("campaign=quality_incident", "population.size=2000", "days=40", "report=false",
                   f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    baseline = json.loads((out / "baseline" / "summary.json").read_text())
    assert summary["campaigns"] == ["quality_incident"] and baseline["campaigns"] == []
    assert summary["incremental_gmv"] == pytest.approx(summary["gmv"] - baseline["gmv"], abs=0.01)
    assert summary["incremental_customers"] == summary["customers"] - baseline["customers"]
    assert {"campaign_cost", "cac", "roi", "ltv", "incremental_margin"} <= summary.keys()
    assert (out / "payments.parquet").exists()
    assert "incremental GMV" in proc.stdout
