"""The live market demo: Mesa's ``SolaraViz`` with custom components.

Serve it with ``make demo`` (127.0.0.1:8765), or::

    SOLARA_TELEMETRY_MIXPANEL_ENABLE=false .venv/bin/solara run experiments.demo.app \\
        --host 127.0.0.1 --port 8765 --production --no-open

Mesa's ``SolaraViz`` gives the sidebar (play / pause, step, reset; play
interval; the model parameters below, passed to :class:`DemoModel` on Reset)
and the grid of components. The components are ours (``views.py``): the
sampled network, the counters and four live charts, drawn as SVG. Each browser
tab gets its own model. See ``docs/demo.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import solara
from mesa.visualization import SolaraViz
from mesa.visualization import solara_viz as _solara_viz

from experiments.demo import views
from experiments.demo.glue import CAMPAIGNS, NETWORKS, PLATFORMS, SCENARIOS, Controls, DemoModel

logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO

try:  # the first referral fraud draw imports scipy.stats (0.5 s): pay it at start, not on the first Step
    import scipy.stats  # noqa: F401
except ImportError:  # pragma: no cover
    pass


def _initial_controls() -> Controls:
    """The sidebar's starting values: the defaults, or ``DEMO_PRESET`` / ``DEMO_SIZE`` /
    ``DEMO_SEED`` from the environment (``make demo DEMO_SIZE=20000``, the benchmark)."""
    env = os.environ
    return Controls(preset=env.get("DEMO_PRESET", Controls.preset),
                    size=int(env.get("DEMO_SIZE", Controls.size)), seed=int(env.get("DEMO_SEED", Controls.seed)))


_D = _initial_controls()
if _D.preset not in SCENARIOS:
    raise SystemExit(f"DEMO_PRESET={_D.preset!r}: must be one of {', '.join(SCENARIOS)}")

#: The sidebar controls (Mesa's ModelCreator): name → input. Names are DemoModel's arguments.
MODEL_PARAMS = {
    "preset": {"type": "Select", "value": _D.preset, "values": SCENARIOS, "label": "Scenario"},
    "platform": {"type": "Select", "value": _D.platform, "values": PLATFORMS, "label": "Platform"},
    "size": {"type": "SliderInt", "value": _D.size, "min": 1000, "max": max(50_000, _D.size), "step": 1000,
             "label": "Consumers"},
    "network": {"type": "Select", "value": _D.network, "values": NETWORKS, "label": "Network"},
    "campaign": {"type": "Select", "value": _D.campaign, "values": list(CAMPAIGNS), "label": "Campaign"},
    "invite_reward": {"type": "SliderFloat", "value": _D.invite_reward, "min": 0, "max": 50, "step": 1,
                      "label": "Invite reward, ¥ each (referral)"},
    "team_size": {"type": "SliderInt", "value": _D.team_size, "min": 2, "max": 6, "step": 1,
                  "label": "Team size (team_purchase)"},
    "team_discount": {"type": "SliderFloat", "value": _D.team_discount, "min": 0, "max": 0.6, "step": 0.05,
                      "label": "Team discount, share (team_purchase)"},
    "coupon_value": {"type": "SliderFloat", "value": _D.coupon_value, "min": 0, "max": 50, "step": 1,
                     "label": "Coupon value, ¥ (coupon)"},
    "coupon_threshold": {"type": "SliderFloat", "value": _D.coupon_threshold, "min": 0, "max": 200, "step": 5,
                         "label": "Coupon threshold, ¥ (coupon)"},
    "kol_posts_per_week": {"type": "SliderFloat", "value": _D.kol_posts_per_week, "min": 0, "max": 7,
                           "step": 0.5, "label": "KOL sponsored posts / week (kol_seeding)"},
    "seed": {"type": "SliderInt", "value": _D.seed, "min": 0, "max": 99, "step": 1, "label": "Seed"},
}

#: Server-side time of the last frames' drawing (seconds per component), for the benchmark.
render_seconds: dict[str, list[float]] = {}


def _html(name: str, build, model: DemoModel, style: str = "width:100%"):
    start = time.perf_counter()
    content = build(model)
    render_seconds.setdefault(name, []).append(time.perf_counter() - start)
    del render_seconds[name][:-200]
    return solara.HTML(tag="div", unsafe_innerHTML=content, style=style)


def Dashboard(model: DemoModel):
    """The whole display, one component: counters on top, the network on the left, the four
    charts on the right (stacked on narrow screens).

    One component rather than six: Mesa re-renders the components after each step through
    one reactive counter, and every component subscribed to it costs Solara a render pass
    of the whole page, sidebar included; six separate components made a server frame
    about twice as slow (53 ms against 28 ms, docs/performance.md)."""
    with solara.Column(gap="8px", style="width:100%;padding:4px") as main:
        _html("counters", views.counters_html, model)
        with solara.Row(gap="12px", style="flex-wrap:wrap;align-items:flex-start"):
            with solara.Div(style="flex:1 1 440px;min-width:320px;max-width:660px;position:relative"):
                # the ties (sent once per network) under the consumers (sent every frame)
                solara.HTML(tag="div", unsafe_innerHTML=views.network_ties_svg(model), style="width:100%")
                _html("network", views.network_svg, model, "position:absolute;top:0;left:0;width:100%")
            with solara.Div(style="flex:1 1 460px;display:grid;gap:8px;"
                                  "grid-template-columns:repeat(auto-fill,minmax(225px,1fr))"):
                _html("gmv", views.gmv_chart, model)
                _html("customers", views.customers_chart, model)
                _html("active_users", views.active_users_chart, model)
                _html("retention", views.retention_chart, model)
    return main


COMPONENTS = [Dashboard]

#: Initial grid of SolaraViz (12 columns, rows of 30 px + 10 px gaps): the dashboard across
#: the whole width. SolaraViz has no parameter for it, so this replaces Mesa's module function.
GRID = [{"i": 0, "x": 0, "y": 0, "w": 12, "h": 24}]

_mesa_grid = getattr(_solara_viz, "make_initial_grid_layout", None)


def _initial_grid(num_components: int) -> list[dict]:
    """Our layout for our component; Mesa's own for any other number of components."""
    if num_components == len(GRID):
        return [dict(item, moved=False) for item in GRID]
    return _mesa_grid(num_components)


if _mesa_grid is not None:
    _solara_viz.make_initial_grid_layout = _initial_grid


#: Page CSS: show every slider's value all the time (Vuetify shows it only while dragging).
CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-slider__thumb-label { height: 24px !important; width: 24px !important; font-size: 10px; }
.v-slider--horizontal { margin-top: 14px; }
"""


def initial_model() -> DemoModel:
    """Each tab's first model: the sidebar's starting values (the benchmark replaces this)."""
    return DemoModel(**dataclasses.asdict(_D))


@solara.component
def Page():
    # One model per browser tab (a module-level model would be shared by every tab).
    model = solara.use_memo(lambda: initial_model(), [])
    solara.Title("socialsim — live market demo")
    solara.Style(CSS)
    SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS, name="socialsim — live market demo",
              play_interval=100)
