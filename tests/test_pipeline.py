"""The pipeline's promises: every run its own folder, locks, one-line refusals with no folder
left, interrupts, no orphaned workers, presets, the two seeds, provenance, no import circles."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PYTHON, REPO

QUICK = ["population.size=1000", "days=10", "progress=false", "report=false"]


def start(*args: str, cwd: Path = REPO, **kw) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "experiments.run", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


def run(*args: str, cwd: Path = REPO, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "experiments.run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(predicate, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        assert proc is None or proc.poll() is None, "the process ended too early"
        time.sleep(0.05)


def session_processes(sid: int) -> list[int]:
    """Live processes of session ``sid`` (the command and everything it started), itself excluded."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != sid:
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[3]) == sid:
                out.append(int(entry.name))
    return out


# ---------------------------------------------------------------------------- folders and locks
def test_two_runs_started_together_get_their_own_folders(tmp_path):
    procs = [start(*QUICK, f"seed={s}", cwd=tmp_path) for s in (1, 2)]
    for p in procs:
        assert p.wait(timeout=240) == 0, p.stderr.read()
    folders = sorted((tmp_path / "results" / "default").iterdir())
    assert len(folders) == 2
    seeds = set()
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text())
        assert f"seed: {summary['seed']}\n" in (folder / "config.yaml").read_text()  # never mixed
        seeds.add(summary["seed"])
    assert seeds == {1, 2}


def test_a_folder_in_use_is_refused_and_a_finished_one_needs_overwrite(tmp_path):
    out = tmp_path / "shared"
    assert run(*QUICK, "seed=1", "campaign=coupon", f"out={out}").returncode == 0
    again = run(*QUICK, "seed=2", f"out={out}")
    assert again.returncode == 2 and again.stderr.count("\n") == 1
    assert again.stderr.startswith(f"error: out='{out}': holds a finished run; pass overwrite=true")
    assert json.loads((out / "summary.json").read_text())["seed"] == 1
    assert (out / "baseline").is_dir() and (out / "payments.parquet").exists()
    long = start("population.size=300000", "days=365", "progress=false", "seed=3", f"out={out}", "overwrite=true")
    try:
        wait_for(lambda: json.loads((out / "job.json").read_text()).get("seed") == 3, proc=long)
        second = run(*QUICK, "seed=4", f"out={out}", "overwrite=true")
        assert second.returncode == 2 and second.stderr.count("\n") == 1
        assert second.stderr.startswith(f"error: out='{out}': in use by a running process (pid {long.pid} on ")
        assert not (out / "summary.json").exists()  # the first run's outputs went when the second began
    finally:
        long.send_signal(signal.SIGTERM)
        long.wait(timeout=60)
    replaced = run(*QUICK, "seed=5", f"out={out}")  # an unfinished run needs no overwrite
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads((out / "summary.json").read_text())["seed"] == 5
    assert not (out / "baseline").exists() and not (out / "payments.parquet").exists()  # nothing left over


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("args, line", [
    (["network=foo"], "error: network='foo': unknown option; known: barabasi_albert, complete, erdos_renyi, file, "
                      "holme_kim, sbm, watts_strogatz"),
    (["campaign=refferal"], "error: campaign='refferal': unknown option; did you mean referral? known: "),
    (["platform=gneric"], "error: platform='gneric': unknown option; did you mean generic? known: "),
    (["populaton.size=5"], "error: populaton.size=5: unknown key; did you mean population.size?"),
    (["campaign=referral", "campaign.referral.inviter_rewrd=5"],
     "error: campaign.referral.inviter_rewrd=5: unknown key; did you mean campaign.referral.inviter_reward?"),
    (["report=maybe"], "error: report='maybe': must be true or false"),
    (["baseline=2x"], "error: baseline='2x': must be true or false"),
    (["days=ten"], "error: days='ten': must be an integer"),
    (["population.size=1000000000"], "error: population.size=1000000000: needs about "),
    (["campaign=referral", "campaign.referral.start_day=500", "days=90"],
     "error: campaign.referral.start_day=500: must be <= days=90: the campaign would start after the run ends"),
    (["diffusion.innovation=1.5"], "error: diffusion.innovation=1.5: must be a probability in [0, 1]"),
    (["preset=missing.yaml"], "error: preset='missing.yaml': cannot be read (No such file or directory)"),
    (["--frobnicate"], "error: --frobnicate=None: unknown option; see --help"),
])
def test_every_refusal_is_one_line_exit_2_and_no_folder(tmp_path, args, line):
    proc = run(*QUICK, *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(line) and proc.stderr.count("\n") == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no results/ folder, nothing at all


def test_an_output_folder_that_cannot_be_written_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    proc = run(*QUICK, f"out={tmp_path / 'a_file' / 'run'}", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"error: out='{tmp_path / 'a_file'}': cannot be created: ")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        proc = run(*QUICK, f"out={locked / 'run'}", cwd=tmp_path)
        assert proc.returncode == 2 and "cannot be written" in proc.stderr and not (locked / "run").exists()


def test_a_refusal_while_building_the_model_removes_the_new_folder(tmp_path):
    (tmp_path / "bad.csv").write_text("source,target\n1,2\n2,x\n")
    proc = run(*QUICK, "network=file", "network.path=bad.csv", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: network.path='bad.csv'")
    assert not (tmp_path / "results" / "default").exists() or not list((tmp_path / "results" / "default").iterdir())


def test_booleans_are_read_as_booleans(tmp_path):
    proc = run("population.size=1000", "days=10", "progress=false", "report=no", "campaign=coupon", "baseline=no",
               "out=r", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "r" / "report.md").exists() and not (tmp_path / "r" / "baseline").exists()


# ---------------------------------------------------------------------------- interrupts and workers
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_prints_one_line(tmp_path, sig, code):
    proc = start("population.size=50000", "days=300", "progress=false", "out=r", cwd=tmp_path)
    wait_for(lambda: (tmp_path / "r" / "job.json").exists(), proc=proc)
    time.sleep(0.5)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == code
    stderr = proc.stderr.read()
    assert stderr == ("error: interrupted\n" if code == 130 else "error: terminated\n")
    assert not (tmp_path / "r" / "summary.json").exists()  # nothing that looks finished


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_a_killed_sweep_leaves_no_worker_behind(tmp_path, sig):
    proc = start("-m", "seed=range(20)", "population.size=20000", "days=120", "progress=false", "jobs=2",
                 "out=s", cwd=tmp_path)
    try:
        wait_for(lambda: len(list((tmp_path / "s").glob("*/job.json"))) >= 2, proc=proc)
        assert len(session_processes(proc.pid)) >= 2  # workers (and loky's resource trackers)
        # Ctrl-C in a terminal reaches the whole process group; kill and kill -9 the launcher only
        (os.killpg if sig == signal.SIGINT else os.kill)(proc.pid, sig)
        proc.wait(timeout=60)
        wait_for(lambda: not session_processes(proc.pid), timeout=10)
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if session_processes(proc.pid) else None
    if sig != signal.SIGKILL:  # the sweep's first line, then one line for the end, nothing else
        lines = proc.stderr.read().splitlines()
        assert lines[1:] == ["error: interrupted" if sig == signal.SIGINT else "error: terminated"], lines


# ---------------------------------------------------------------------------- presets, seeds, provenance
def test_a_preset_file_is_applied_first_and_the_command_line_wins(tmp_path):
    from experiments.batch import compose

    preset = tmp_path / "market.yaml"
    preset.write_text("network: sbm\nplatform: jd\npopulation:\n  size: 3000\n  kols: {count: 5}\n"
                      "diffusion.weak_tie: 0.05\ncampaign:\n  referral: {inviter_reward: 20}\ndays: 60\n")
    from_file = compose(["days=30"], preset=preset)
    spelled = compose(["network=sbm", "platform=jd", "population.size=3000", "population.kols.count=5",
                       "diffusion.weak_tie=0.05", "campaign=referral", "campaign.referral.inviter_reward=20",
                       "days=30"])
    assert from_file.config == spelled.config and from_file.config.days == 30
    listed = tmp_path / "list.yaml"
    listed.write_text("- network=sbm\n- population.size=3000\n")
    assert compose([], preset=listed).config.network.kind == "sbm"
    written = tmp_path / "written.yaml"  # what a calibrator writes: a whole config
    import yaml

    written.write_text(yaml.safe_dump(spelled.config.as_dict()))
    assert compose([], preset=written).config == spelled.config
    proc = run(*QUICK, f"preset={preset}", "population.size=1500", "out=r", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["population"], summary["network"], summary["platform"], summary["days"]) == (1500, "sbm", "jd", 10)


def test_market_seed_holds_the_market_and_seed_varies_the_dynamics():
    from sim.build import build_config
    from sim.model import MarketModel

    def model(**seeds):
        return MarketModel(build_config(days=30, population={"size": 2000}, **seeds)).run()

    a, b, c = model(seed=1, market_seed=7), model(seed=2, market_seed=7), model(seed=1, market_seed=8)
    assert (a.network.adjacency != b.network.adjacency).nnz == 0
    assert (a.consumers.budget == b.consumers.budget).all() and (a.catalogue.quality == b.catalogue.quality).all()
    assert (a.follower_graph != b.follower_graph).nnz == 0
    assert a.summary()["gmv"] != b.summary()["gmv"]  # other dynamics
    assert (a.consumers.budget != c.consumers.budget).any()  # another market
    default, spelled = model(seed=3), model(seed=3, market_seed=3)
    assert default.metrics.frame().equals(spelled.metrics.frame())  # null follows the seed, bit for bit
    assert default.summary()["market_seed"] == 3


def test_memory_estimate_refuses_what_cannot_fit_and_tracks_size():
    from experiments.batch import available_memory, fit_workers
    from sim.build import build_config
    from sim.errors import ConfigError
    from sim.model import estimated_peak_bytes

    small, big = build_config(population={"size": 10_000}), build_config(population={"size": 1_000_000})
    assert estimated_peak_bytes(big) > 10 * (estimated_peak_bytes(small) - 250 * 2**20)
    assert estimated_peak_bytes(build_config(network={"mean_degree": 30})) > estimated_peak_bytes(small)
    huge = build_config(population={"size": 10**9})
    assert estimated_peak_bytes(huge) > available_memory()
    with pytest.raises(ConfigError) as err:
        fit_workers([huge], 2)
    assert err.value.key == "population.size"
    assert fit_workers([small], 2) == 2


# ---------------------------------------------------------------------------- the house
def _project_modules() -> dict[str, Path]:
    mods = {}
    for path in REPO.rglob("*.py"):
        rel = path.relative_to(REPO)
        if rel.parts[0] in (".venv", "tests", "results", "build", "mutants") or rel.parts[0].startswith("."):
            continue
        parts = list(rel.with_suffix("").parts)
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        mods[".".join(parts)] = path
    return mods


def _imports(path: Path, mods: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken) for each import of a project module in ``path``,
    imports under ``if TYPE_CHECKING:`` left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in mods]
            out += [(s, []) for s in subs] or [(node.module, [a.name for a in node.names])]
    return [(m, names) for m, names in out if m in mods]


def test_the_import_graph_has_no_circle():
    mods = _project_modules()
    graph = {m: {i for i, _ in _imports(p, mods) if i != m} for m, p in mods.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                pytest.fail("import circle: " + " -> ".join([*stack[stack.index(n):], n]))
            if n not in state:
                visit(n, [*stack, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_no_module_imports_a_private_name_of_another():
    mods = _project_modules()
    offenders = [(str(p.relative_to(REPO)), m, n) for mod, p in mods.items() for m, names in _imports(p, mods)
                 for n in names if n.startswith("_") and m != mod]
    assert offenders == []
