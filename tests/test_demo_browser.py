"""The live demo in a real browser: serve it, drive headless Chromium, take a screenshot.

Starts ``solara run experiments.demo.app`` on a free 127.0.0.1 port, opens it in
the system's Chromium (Debian's ``chromium`` package) through playwright's Python
API (no ``playwright install``: its own browser download does not work here),
and checks that the page renders the network and the charts, that Step advances
the day and the GMV counter, that Play runs, and that moving the Consumers slider
and pressing Reset builds a new model. The screenshot goes to
``results/demo/browser.png`` (or ``$DEMO_SCREENSHOT``); its path is printed.

Skipped, with how to install what is missing, where playwright, Chromium, the
demo's extra or its offline assets are absent; under CI (``CI`` set) those are
failures instead, since ``.ci/run`` installs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import PYTHON, REPO

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(os.environ.get("DEMO_SCREENSHOT", REPO / "results" / "demo" / "browser.png"))


def missing(what: str) -> None:
    """Skip (a user's machine) or fail (CI, which installs everything) for a missing piece."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI installs it: see .ci/run)")
    pytest.skip(what)


def chromium_path() -> str:
    path = os.environ.get("DEMO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing("no Chromium: install Debian's package with 'apt-get install -y chromium' "
                "(or set DEMO_CHROMIUM=/path/to/chrome)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("playwright is not installed: .venv/bin/pip install -e '.[demo]' (or pip install playwright)")
    try:
        import solara  # noqa: F401
    except ImportError:
        missing("the demo's extra is not installed: .venv/bin/pip install -e '.[demo]'")
    check = subprocess.run([PYTHON, "scripts/fetch_solara_assets.py", "--check"], cwd=REPO,
                           capture_output=True, text=True, check=False)
    if check.returncode != 0:
        missing("Solara's front-end assets are not in the venv (the page would stay blank offline): "
                ".venv/bin/python scripts/fetch_solara_assets.py\n" + check.stderr)
    port = free_port()
    log = tmp_path_factory.mktemp("demo") / "server.log"
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="false")
    with open(log, "w") as out:
        proc = subprocess.Popen([PYTHON, "-m", "solara", "run", "experiments.demo.app", "--host", "127.0.0.1",
                                 "--port", str(port), "--production", "--no-open"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the demo server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the demo server did not answer within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        # playwright gives each launch a fresh, empty profile (its own --user-data-dir)
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1150})
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.goto(server)
            tab.wait_for_selector("#ctr-day", timeout=45_000)
            tab.errors = errors
            yield tab
        finally:
            browser.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def wait_text_change(page, selector: str, before: str, timeout: float = 15_000) -> str:
    page.wait_for_function("([s, b]) => document.querySelector(s) && document.querySelector(s).innerText.trim() !== b",
                           arg=[selector, before], timeout=timeout)
    return text(page, selector)


def test_page_renders_the_network_charts_and_controls(page):
    assert text(page, "#ctr-day").startswith("0 / ")
    assert text(page, "#ctr-gmv") == "¥0"
    net = page.locator("#demo-network")
    assert net.get_attribute("data-day") == "0"
    nodes = int(net.get_attribute("data-nodes"))
    assert 0 < nodes <= 1000 and int(net.get_attribute("data-population")) == 5000
    expect(page.locator("#demo-consumers circle")).to_have_count(nodes)
    assert int(page.locator("#demo-ties").get_attribute("data-ties")) > nodes  # the ties layer underneath
    ties, top = page.locator("#demo-ties").bounding_box(), net.bounding_box()
    assert abs(ties["x"] - top["x"]) < 1 and abs(ties["width"] - top["width"]) < 1  # drawn in register
    assert net.bounding_box()["width"] > 300 and net.bounding_box()["height"] > 300  # really laid out
    for chart in ("gmv", "customers", "dau", "retention"):
        assert page.locator(f"#demo-chart-{chart}").is_visible()
    for label in ("Reset", "Step"):
        assert page.get_by_role("button", name=label).is_visible()
    assert page.get_by_role("slider", name="Consumers").count() == 1
    assert page.errors == []


def test_step_advances_the_day_and_gmv(page):
    step = page.get_by_role("button", name="Step")
    gmv0 = text(page, "#ctr-gmv")
    latencies = []
    for day in range(1, 6):
        before = text(page, "#ctr-day")
        start = time.perf_counter()
        step.click()
        after = wait_text_change(page, "#ctr-day", before)
        latencies.append(time.perf_counter() - start)
        assert after.startswith(f"{day} / ")
    assert text(page, "#ctr-gmv") != gmv0
    # each panel is its own widget, updated by its own message: wait for them too
    expect(page.locator("#demo-network")).to_have_attribute("data-day", "5")
    expect(page.locator("#demo-chart-gmv")).to_have_attribute("data-points", "5")
    expect(page.locator("#demo-chart-gmv polyline")).to_have_count(2)  # the campaign and its baseline
    print(f"\nStep click -> day shown: median {statistics.median(latencies) * 1000:.0f} ms "
          f"(playwright click included)")
    assert statistics.median(latencies) < 3.0


def test_play_runs_and_pauses(page):
    day = int(text(page, "#ctr-day").split("/")[0])
    page.get_by_role("button", name="▶").click()
    page.wait_for_function("d => parseInt(document.querySelector('#ctr-day').innerText) >= d + 3", arg=day,
                           timeout=15_000)
    page.get_by_role("button", name="❚❚").click()
    page.wait_for_timeout(500)
    paused = text(page, "#ctr-day")
    page.wait_for_timeout(700)
    assert text(page, "#ctr-day") == paused and int(paused.split("/")[0]) >= day + 3


def test_slider_and_reset_rebuild_the_model(page, capsys):
    assert "5,000 consumers" in text(page, "#demo-info")
    slider = page.get_by_role("slider", name="Consumers")
    slider.focus()
    slider.press("ArrowRight")  # one step of 1,000
    slider.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('[role=slider][aria-label=Consumers]')"
                           ".getAttribute('aria-valuenow') === '7000'", timeout=10_000)
    before = text(page, "#demo-info")
    page.get_by_role("button", name="Reset").click()
    wait_text_change(page, "#demo-info", before, timeout=30_000)
    assert "7,000 consumers" in text(page, "#demo-info")
    assert text(page, "#ctr-day").startswith("0 / ") and text(page, "#ctr-gmv") == "¥0"
    expect(page.locator("#demo-network")).to_have_attribute("data-population", "7000")
    # a few days of the new market, for the screenshot
    step = page.get_by_role("button", name="Step")
    for _ in range(12):
        before = text(page, "#ctr-day")
        step.click()
        wait_text_change(page, "#ctr-day", before)
    assert text(page, "#ctr-day").startswith("12 / ")
    expect(page.locator("#demo-network")).to_have_attribute("data-day", "12")
    expect(page.locator("#demo-chart-retention polyline")).to_have_count(2)
    assert int(page.locator("#demo-network").get_attribute("data-customer")) > 0
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000
    with capsys.disabled():  # shown even without -s
        print(f"\n[test_demo_browser] screenshot: {SCREENSHOT}")
    assert page.errors == []
