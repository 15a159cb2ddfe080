"""Frame time of the live demo: one day plus the redraw (``docs/performance.md``, *Live demo*).

    .venv/bin/python -m experiments.demo.bench                  # server side, 5,000 consumers
    .venv/bin/python -m experiments.demo.bench --browser        # + in headless Chromium
    .venv/bin/python -m experiments.demo.bench --sizes 5000,50000 --frames 60 --browser

**Server side** (in this process, no network): the Solara page is rendered in a
virtual kernel, as the server does for a browser tab, and its Step button is
clicked ``--frames`` times. One click is what one frame costs the server: the
day of the market and of its baseline, drawing the SVG panels, and Solara
re-rendering the page and updating the widgets (the messages to the browser are
built, not sent). Reported: median and 90th percentile per click, split into
step, drawing and the rest (Solara).

**Browser** (``--browser``): the app is served on a free 127.0.0.1 port and
opened in headless Chromium (``/usr/bin/chromium`` or ``$DEMO_CHROMIUM``). In the
page, a script clicks Step and waits until the new day is in the DOM and the
next frame is painted (``performance.now()`` around it): click → server →
websocket → DOM → paint. Then Play runs ``--play-days`` days with Mesa's
default play interval (100 ms sleep between frames): their time gives the frame
period (the 90-day preset leaves room for 40 clicks and 30 played days). Results: ``results/demo/bench.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

CLICK_AND_PAINT = """async (n) => {
  const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim().toUpperCase() === 'STEP');
  const out = [];
  for (let i = 0; i < n; i++) {
    const before = document.querySelector('#ctr-day').innerText;
    const changed = new Promise(resolve => {
      const obs = new MutationObserver(() => {
        const el = document.querySelector('#ctr-day');
        if (el && el.innerText !== before) { obs.disconnect(); resolve(); }
      });
      obs.observe(document.body, {childList: true, subtree: true, characterData: true});
    });
    const t0 = performance.now();
    button.click();
    await changed;
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));  // the frame is painted
    out.push(performance.now() - t0);
    await new Promise(r => setTimeout(r, 50));
  }
  return out;
}"""


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def server_side(size: int, frames: int, preset: str) -> dict:
    """Click Step ``frames`` times on the page rendered in a virtual kernel."""
    import ipyvuetify as v
    import solara
    from solara.server import kernel, kernel_context

    from experiments.demo import app

    built = []

    def first_model():
        built.append(app.DemoModel(size=size, preset=preset))
        return built[-1]

    original, app.initial_model = app.initial_model, first_model
    try:
        context = kernel_context.VirtualKernelContext(id=f"bench-{size}", kernel=kernel.Kernel(),
                                                      session_id="bench")
        with context:
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the app bar prints its elements here
                _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
            first = time.perf_counter() - start
            step = rc.find(v.Btn, children=["Step"]).widget
            step.click()  # warm-up: first-use imports
            app.render_seconds.clear()
            clicks = []
            for _ in range(frames):
                start = time.perf_counter()
                step.click()
                clicks.append(time.perf_counter() - start)

    finally:
        app.initial_model = original
    demo = built[0]
    steps = demo.step_seconds[-frames:]
    drawing = [sum(per[i] for per in app.render_seconds.values()) for i in range(frames)]
    def ms(xs):
        return round(1000 * statistics.median(xs), 1)

    return {"size": size, "preset": preset, "frames": frames, "first_render_s": round(first, 3),
            "frame_ms_median": ms(clicks), "frame_ms_p90": round(1000 * _pct(clicks, 0.9), 1),
            "frame_ms_max": round(1000 * max(clicks), 1),
            "step_ms_median": ms(steps), "drawing_ms_median": ms(drawing),
            "solara_ms_median": round(ms(clicks) - ms(steps) - ms(drawing), 1),
            "days_at_end": demo.day, "view_nodes": len(demo.view.nodes)}


def browser_side(size: int, frames: int, preset: str, play_days: int) -> dict:
    """Serve the app and measure click → painted frame, and Play's frame period, in Chromium."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="false", DEMO_SIZE=str(size), DEMO_PRESET=preset)
    server = subprocess.Popen([sys.executable, "-m", "solara", "run", "experiments.demo.app",
                               "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        chromium = os.environ.get("DEMO_CHROMIUM", "/usr/bin/chromium")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#demo-network", timeout=60_000)
            load = time.perf_counter() - start
            page.evaluate(CLICK_AND_PAINT, 2)  # warm-up
            clicks = page.evaluate(CLICK_AND_PAINT, frames)
            day0 = int(page.inner_text("#ctr-day").split("/")[0])
            page.get_by_role("button", name="▶").click()
            page.wait_for_function("d => parseInt(document.querySelector('#ctr-day').innerText) > d", arg=day0)
            start, day0 = time.perf_counter(), day0 + 1
            page.wait_for_function("d => parseInt(document.querySelector('#ctr-day').innerText) >= d",
                                   arg=day0 + play_days, timeout=120_000)
            elapsed = time.perf_counter() - start
            day1 = int(page.inner_text("#ctr-day").split("/")[0])
            page.get_by_role("button", name="❚❚").click()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    played = day1 - day0
    return {"size": size, "page_load_s": round(load, 2), "click_to_paint_ms_median": round(statistics.median(clicks), 1),
            "click_to_paint_ms_p90": round(_pct(clicks, 0.9), 1), "click_to_paint_ms_max": round(max(clicks), 1),
            "play_days": played, "play_seconds": round(elapsed, 2),
            "play_frame_period_ms": round(1000 * elapsed / played, 1) if played else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Frame time of the live demo.")
    parser.add_argument("--sizes", default="5000", help="consumers, comma-separated")
    parser.add_argument("--frames", type=int, default=40, help="Step clicks measured per size")
    parser.add_argument("--preset", default="referral_team_launch")
    parser.add_argument("--browser", action="store_true", help="also measure in headless Chromium")
    parser.add_argument("--play-days", type=int, default=30, help="days timed under Play")
    parser.add_argument("--out", default=str(REPO / "results" / "demo" / "bench.json"))
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    frames = args.frames
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "load_1min": os.getloadavg()[0]}, "server": [], "browser": []}
    for size in sizes:
        if frames > 90 - 3:  # the preset runs 90 days: stay within them
            frames = 87
        row = server_side(size, frames, args.preset)
        results["server"].append(row)
        print(f"server  {size:>6,} consumers: frame {row['frame_ms_median']} ms median, p90 {row['frame_ms_p90']} ms "
              f"(step {row['step_ms_median']}, drawing {row['drawing_ms_median']}, "
              f"Solara {row['solara_ms_median']}); first render {row['first_render_s']} s")
        if args.browser:
            row = browser_side(size, min(frames, 40), args.preset, args.play_days)
            results["browser"].append(row)
            print(f"browser {size:>6,} consumers: click -> painted frame {row['click_to_paint_ms_median']} ms median, "
                  f"p90 {row['click_to_paint_ms_p90']} ms; play: {row['play_days']} days in {row['play_seconds']} s "
                  f"= {row['play_frame_period_ms']} ms per frame (100 ms of it the play interval); "
                  f"page load {row['page_load_s']} s")
    results["machine"]["load_1min_end"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
