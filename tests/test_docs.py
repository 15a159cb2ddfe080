"""Every shell command shown in README.md and docs/*.md runs, and every sample output shown
is what the command prints.

Commands come from ```bash blocks (one per line, ``\\`` continuations joined) and from
``$ `` lines in other blocks, whose following lines are the output they print (a line
ending in ``...`` matches any continuation). Each file's commands run in order in one
temporary folder (later commands read what earlier ones wrote), with ``python`` the test's
interpreter and large sizes made small (:data:`SMALLER`). Python blocks of
``docs/pipeline.md`` run too. A block after ``<!-- output of: CMD -->`` is the output of
CMD at its full size, kept up to date by ``scripts/docs_outputs.py``.

Not run here, with the reason: the test suite itself, installs (CI does them), and
commands that need a Ray cluster or SLURM (their local equivalents are in
tests/test_sweep_launchers.py). Servers and commands that take minutes run in
``make test-slow``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import PYTHON, REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]

#: Commands not run by the tests, and why.
NOT_RUN = {
    r"^make test\b": "the test suite itself (CI runs it)",
    r"^make (install|demo-install|clean)\b|pip install|fetch_solara_assets": "installs (CI runs them: make demo-install)",
    r"ray\.init\.address=auto": "needs a running Ray cluster (a local Ray sweep: tests/test_sweep_launchers.py)",
    r"hydra/launcher=slurm": "needs SLURM (the submitit path: tests/test_sweep_launchers.py)",
    r"^make mutate\b|\bmutmut\b": "mutation testing runs by hand, for minutes to hours (docs/testing.md)",
}
#: Commands that take minutes or start a server: ``make test-slow``.
SLOW = (r"^make (demo|bench)\b", r"solara run", r"scripts/validation\.py", r"scripts/anticipation\.py", r"benchmarks\.",
        r"scripts/docking\.py",
        r"cdnow")
#: Large sizes made small for ``make test`` (the command's meaning is kept).
SMALLER = [
    (r"population\.size=\d+", "population.size=600"), (r"\bdays=(\d+)", lambda m: f"days={min(int(m[1]), 40)}"),
    (r"(seed=['\"]?)range\(\d+\)", r"\1range(2)"), (r"\bseeds=(\d+)", "seeds=2"), (r"--n \d+", "--n 2"),
    (r"--trials \d+", "--trials 3"), (r"--seeds \d+", "--seeds 1"), (r"--runs \d+", "--runs 6"),
    (r"\bevaluations=\d+", "evaluations=3"), (r"\bsample=\d+", "sample=300"), (r"\bdraws=\d+", "draws=3"),
    # a calibration: 2 seeds, 4 runs for the moments' noise (defaults 3 and 24)
    (r"(-m experiments\.calibrate )(?!.*\bnoise_runs=)", r"\1seeds=2 noise_runs=4 "),
]
#: Files the documented commands read.
FIXTURES = {
    "my_edges.csv": "source,target\n" + "".join(f"{i},{(i * 7 + 1) % 300}\n{i},{(i + 1) % 300}\n" for i in range(300)),
    "my_market.yaml": "network: sbm\nplatform: jd\npopulation:\n  size: 3000\ndiffusion.weak_tie: 0.05\n",
    "my_products.csv": "product_id,merchant,price,unit_cost,quality\n" + "".join(
        f"sku-{k},shop-{k % 3},{19.9 + 10 * k:.2f},{8 + 5 * k:.2f},{0.5 + 0.04 * k:.2f}\n" for k in range(10)),
    # a shop's order export: 400 customers over 120 days from 2025-01-01, first orders spread over
    # the first 80 days, then a repeat every 9-37 days while the customer stays (docs/calibration.md)
    "my_orders.csv": "order_no,customer_id,date,amount\n" + "".join(
        f"{k},c{i:03d},{dt.date(2025, 1, 1) + dt.timedelta(days=d)},{30 + (i * 13 + k) % 70}.00\n"
        for k, (i, d) in enumerate((i, d) for i in range(400) for d in range(i % 80, 120, 9 + i % 29)
                                   if (d - i % 80) // (9 + i % 29) < 1 + i % 6)),
}


def blocks(path: Path):
    """(language, text, preceding line) of every fenced block."""
    text = path.read_text(encoding="utf-8")
    for m in re.finditer(r"(?:^|\n)([^\n]*)\n```(\w*)\n(.*?)```", text, re.S):
        yield m.group(2), m.group(3), m.group(1)


def commands(path: Path) -> list[tuple[str, list[str] | None]]:
    """(command, expected output lines or None) in the order the file shows them."""
    out = []
    for lang, body, _ in blocks(path):
        lines = body.replace("\\\n", " ").splitlines()
        if lang in ("bash", "sh", "shell"):
            while lines:
                line = lines.pop(0)
                heredoc = re.search(r"<<'?(\w+)'?", line)
                if heredoc:  # the here-document's lines belong to the command
                    end = lines.index(heredoc.group(1))
                    line, lines = "\n".join([line, *lines[:end + 1]]), lines[end + 1:]
                if line.strip() and not line.lstrip().startswith("#"):
                    out.append((line.strip(), None))
        elif lang == "":
            for i, line in enumerate(lines):
                if line.startswith("$ "):
                    rest = lines[i + 1:]
                    end = next((k for k, r in enumerate(rest) if r.startswith("$ ")), len(rest))
                    out.append((line[2:].strip(), rest[:end]))
    return out


def all_commands():
    for path in DOCS:
        for cmd, expected in commands(path):
            yield path, cmd, expected


def kind(cmd: str) -> str:
    if any(re.search(p, cmd) for p in NOT_RUN):
        return "not run"
    return "slow" if any(re.search(p, cmd) for p in SLOW) else "run"


def smaller(cmd: str) -> str:
    for pattern, repl in SMALLER:
        cmd = re.sub(pattern, repl, cmd)
    return cmd


def split_command(cmd: str) -> tuple[dict[str, str], list[str]]:
    """A shell command line as (its leading ``NAME=value`` environment assignments, its words),
    with ``python`` this interpreter and ``scripts/`` the repository's."""
    words = shlex.split(cmd, comments=True)
    assigned = {}
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]) and len(words) > 1:
        name, value = words.pop(0).split("=", 1)
        assigned[name] = value
    if words and re.fullmatch(r"(\.venv/bin/)?python3?", words[0]):
        words[0] = PYTHON
    return assigned, [str(REPO / w) if w.startswith("scripts/") else w for w in words]  # the repository's scripts


def argv(cmd: str) -> list[str]:
    return split_command(cmd)[1]


def run_command(cmd: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if "\n" in cmd:  # a here-document: the shell runs it
        return subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assigned, words = split_command(cmd)
    env.update(assigned)
    if words[0] == "make":
        words += [f"PY={PYTHON}"]
        return subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    env_words = [w for w in words if re.fullmatch(r"[A-Z_]+=.*", w) and words.index(w) < 3]
    env.update(w.split("=", 1) for w in env_words)
    words = [w for w in words if w not in env_words]
    return subprocess.run(words, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def same_output(actual: str, expected: list[str]) -> bool:
    lines = [line for line in actual.splitlines() if line.strip()]
    want = [line for line in expected if line.strip()]
    if len(lines) != len(want):
        return False
    return all(a == w or (w.endswith("...") and a.startswith(w[:-3])) for a, w in zip(lines, want))


def test_every_command_is_classified():
    found = list(all_commands())
    assert len(found) >= 30
    for path, cmd, _ in found:
        assert kind(cmd) in ("run", "slow", "not run"), cmd


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_documented_commands_run(path, tmp_path):
    for name, content in FIXTURES.items():
        (tmp_path / name).write_text(content)
    ran = 0
    for cmd, expected in commands(path):
        if kind(cmd) != "run":
            continue
        proc = run_command(cmd if expected is not None else smaller(cmd), tmp_path)
        shown = proc.stdout + proc.stderr
        if expected is not None:
            assert same_output(shown, expected), f"{path.name}: `{cmd}` printed:\n{shown}\ndocumented:\n" + "\n".join(expected)
        else:
            assert proc.returncode == 0, f"{path.name}: `{smaller(cmd)}` failed ({proc.returncode}):\n{shown[-3000:]}"
        ran += 1
    if path.name == "pipeline.md":
        for lang, body, _ in blocks(path):
            if lang == "python":
                script = tmp_path / "example.py"
                script.write_text(body)
                proc = run_command(f"python {script}", tmp_path)
                assert proc.returncode == 0, proc.stderr[-3000:]
                ran += 1
    if not ran:
        pytest.skip("no command to run in make test")


def test_documented_outputs_are_what_the_commands_print():
    """A block after ``<!-- output of: CMD -->`` is CMD's output (folder times normalized):
    ``scripts/docs_outputs.py`` writes them; this checks nobody typed them."""
    sys.path.insert(0, str(REPO / "scripts"))
    from docs_outputs import documented_outputs, produce

    found = list(documented_outputs())
    assert found
    for path, cmd, shown in found:
        assert produce(cmd) == shown, f"{path.name}: the output of `{cmd}` is stale: run scripts/docs_outputs.py"


# ---------------------------------------------------------------------------- make test-slow
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("path, cmd", [(p, c) for p, c, _ in all_commands() if kind(c) == "slow"],
                         ids=lambda x: x if isinstance(x, str) else x.name)
def test_slow_documented_commands_run(path, cmd, tmp_path):
    for name, content in FIXTURES.items():
        (tmp_path / name).write_text(content)
        cmd = cmd.replace(name, str(tmp_path / name))  # make runs in the repository
    if re.search(r"make demo|solara run", cmd):
        port = _free_port()
        cmd = re.sub(r"--port \d+", f"--port {port}", cmd)
        assigned, words = split_command(cmd)  # a leading NAME=value is the environment, as in a shell
        words += [f"DEMO_PORT={port}", f"PY={PYTHON}"] if cmd.startswith("make") else []
        words = [w for w in words if not w.startswith("DEMO_HOST=")]  # the test reads it on 127.0.0.1
        env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false", **assigned}
        proc = subprocess.Popen(words, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
        try:
            deadline = time.time() + 180
            while True:
                assert proc.poll() is None, proc.stderr.read()[-2000:]
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                        assert page.status == 200
                        break
                except OSError:
                    assert time.time() < deadline, "the demo did not answer"
                    time.sleep(1)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
        return
    proc = run_command(cmd, tmp_path, timeout=3600)
    assert proc.returncode == 0, f"`{cmd}` failed:\n{(proc.stdout + proc.stderr)[-3000:]}"
