"""The live demo's model glue (experiments/demo/glue.py, views.py): fast, no browser.

Sampling keeps at most 1,000 consumers, the layout is computed once per network and
reused across steps and resets, the colours drawn are the model's states, the
controls set the config keys they name, and Reset builds a new model.
"""

from __future__ import annotations

import inspect
import math
import re
import subprocess

import numpy as np
import pytest

from conftest import PYTHON, REPO
from experiments.demo import glue, views
from experiments.demo.glue import (AWARE, CHURNED, CUSTOMER, MAX_VIEW_NODES, UNAWARE, Controls, DemoModel,
                                   consumer_states, retention_so_far, sample_consumers)
from sim.build import build_config
from sim.model import MarketModel

SMALL = 600  # consumers: the whole network is drawn, the layout takes ~0.2 s


def small_model(**controls) -> DemoModel:
    return DemoModel(**{"size": SMALL, **controls})


def consumer_classes(svg: str) -> list[int]:
    group = re.search(r'<g id="demo-consumers">(.*?)</g>', svg).group(1)
    return [int(c) for c in re.findall(r'class="s(\d)"', group)]


# --------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("kind", ["barabasi_albert", "watts_strogatz", "sbm", "complete"])
def test_sampling_keeps_at_most_1000_consumers_and_their_real_ties(kind):
    model = MarketModel(build_config(population={"size": 5000}, network={"kind": kind}, days=10))
    rng = np.random.default_rng(0)
    nodes = sample_consumers(model.network.adjacency, model.n, MAX_VIEW_NODES, rng)
    assert len(nodes) == MAX_VIEW_NODES <= 1000
    assert np.all(np.diff(nodes) > 0) and nodes.min() >= 0 and nodes.max() < model.n
    view = glue.build_view(model)
    assert len(view.nodes) == MAX_VIEW_NODES and view.population == 5000
    assert view.pos.shape == (len(view.nodes), 2) and np.all((view.pos >= 0) & (view.pos <= 1))
    if kind == "complete":
        assert view.complete and len(view.edges) == 0
    else:
        adj = model.network.adjacency
        i, j = view.nodes[view.edges[:, 0]], view.nodes[view.edges[:, 1]]
        assert len(view.edges) > len(view.nodes)  # a snowball keeps the ties between its members
        assert np.all(np.asarray(adj[i, j]).ravel() == 1)  # every drawn tie is a real tie
        assert view.local[view.nodes].tolist() == list(range(len(view.nodes)))
    # KOLs: one position each, followers drawn are sampled followers of that KOL
    fg = model.follower_graph
    assert len(view.kol_pos) == fg.shape[0] == len(view.kol_followers)
    for k, mine in enumerate(view.kol_followers):
        assert set(view.nodes[mine]) <= set(fg.indices[fg.indptr[k]:fg.indptr[k + 1]])
        assert set(view.kol_spokes[k]) <= set(mine)


def test_small_population_is_drawn_whole():
    model = small_model(preset="default")
    assert len(model.view.nodes) == SMALL
    assert np.array_equal(model.view.nodes, np.arange(SMALL))


# --------------------------------------------------------------------------- layout
def test_layout_is_computed_once_and_reused_across_steps_and_resets():
    before = glue.view_builds
    model = small_model(seed=11)
    assert glue.view_builds == before + 1
    view, pos = model.view, model.view.pos.copy()
    first = views.network_svg(model)
    ties = views.network_ties_svg(model)
    assert f'data-ties="{len(view.edges)}"' in ties and "<circle" not in ties
    for _ in range(5):
        model.step()
        assert model.view is view
        views.network_svg(model)
        assert views.network_ties_svg(model) is ties  # the same object: Solara sends it once
    assert np.array_equal(view.pos, pos)
    assert views.network_svg(model) != first  # the states moved, the drawing followed
    # Reset with other campaign values, same network: the same view, no new layout
    again = small_model(seed=11, invite_reward=40.0, team_size=3)
    assert again.view is view and glue.view_builds == before + 1
    # another seed is another graph: a new view
    other = small_model(seed=12)
    assert other.view is not view and glue.view_builds == before + 2


# --------------------------------------------------------------------------- colours
def test_state_colours_match_model_state():
    model = small_model(seed=3)
    for _ in range(25):
        model.step()
    c = model.market.consumers
    nodes = model.view.nodes
    expected = np.full(len(nodes), UNAWARE)
    expected[c.aware[nodes]] = AWARE
    expected[c.first_purchase_day[nodes] >= 0] = CUSTOMER
    expected[c.churned[nodes]] = CHURNED
    states = consumer_states(c, nodes)
    assert np.array_equal(states, expected)
    assert {UNAWARE, AWARE, CUSTOMER, CHURNED} <= set(states.tolist())  # all four are on show by day 25
    svg = views.network_svg(model)
    assert consumer_classes(svg) == expected.tolist()
    for code, colour in views.STATE_COLOURS.items():
        assert f".s{code}{{fill:{colour}}}" in svg
    counts = np.bincount(expected, minlength=4)
    for code, name in enumerate(glue.STATE_NAMES):
        assert f'data-{name}="{counts[code]}"' in svg
    assert f'data-day="{model.day}"' in svg


def test_events_are_todays_and_inside_the_sample():
    model = small_model(seed=5)  # referral + team purchase
    seen = {"new_customers": 0, "team": 0, "kol_touched": 0, "referrals": 0, "reshared": 0, "reshare_ties": 0}
    for _ in range(30):
        model.step()
        ev = model.events()
        c, nodes, day = model.market.consumers, model.view.nodes, model.day
        assert np.all(c.first_purchase_day[nodes[ev["new_customers"]]] == day)
        assert np.all(c.kol_touch_day[nodes[ev["kol_touched"]]] == day)
        assert np.all(c.last_purchase_day[nodes[ev["team"]]] == day)
        if len(ev["referrals"]):
            inviter, invitee = nodes[ev["referrals"][:, 0]], nodes[ev["referrals"][:, 1]]
            referral = model.market.mechanism["referral"]
            assert np.array_equal(referral.referrer[invitee], inviter)
        for key in seen:
            seen[key] += len(ev[key])
    assert all(seen.values()), seen


# --------------------------------------------------------------------------- reshare cascades
def reshare_model(tmp_path, monkeypatch, reshare: float, **controls) -> DemoModel:
    """A small Barabási–Albert market (no campaign) with ``diffusion.reshare`` set by a preset
    file, as ``make demo PRESET=file.yaml`` would."""
    preset = tmp_path / "reshare.yaml"
    preset.write_text(f"diffusion.reshare: {reshare}\n")
    monkeypatch.setattr(glue, "PRESET", str(preset))
    monkeypatch.setattr(glue, "_COMPOSED", {})
    model = small_model(**{"preset": "default", "network": "barabasi_albert", **controls})
    assert model.config.diffusion.reshare == reshare and model.market.network.adjacency is not None
    return model


def reshare_group(svg: str) -> str:
    return re.search(r'<g id="demo-reshares">(.*?)</g>', svg).group(1)


def test_reshare_events_are_todays_cascades_inside_the_sample(tmp_path, monkeypatch):
    model = reshare_model(tmp_path, monkeypatch, 0.5, seed=9)
    # a partial sample (250 of 600), so that some of today's resharers are not drawn
    model.view = view = glue.build_view(model.market, max_nodes=250)
    adj, nodes = model.market.network.adjacency, view.nodes
    seen = {"days": 0, "ties": 0, "origins": 0, "unsampled": 0}
    for _ in range(25):
        model.step()
        market, ev = model.market, model.events()
        reshared, origins, ties = ev["reshared"], ev["reshare_origins"], ev["reshare_ties"]
        expected = view.local[market.reshared_today]
        assert np.array_equal(reshared, np.sort(expected[expected >= 0]))
        expected_origins = view.local[market.reshare_origins_today]
        assert np.array_equal(origins, np.sort(expected_origins[expected_origins >= 0]))
        assert set(origins.tolist()) <= set(reshared.tolist())
        # the ties: real friendships, both ends reshared today, each pair once, and all of them
        assert ties.shape[1] == 2 and np.all(ties[:, 0] < ties[:, 1])
        assert np.all(np.isin(ties, reshared))
        if len(ties):
            assert np.all(np.asarray(adj[nodes[ties[:, 0]], nodes[ties[:, 1]]]).ravel() != 0)
        among = adj[nodes[reshared]][:, nodes[reshared]]
        assert len(ties) == len(np.unique(ties, axis=0)) == (among != 0).sum() // 2
        # the daily metric counts the resharers, the origins not
        assert market.metrics.rows[-1]["reshares"] == len(market.reshared_today) - len(market.reshare_origins_today)
        assert model.counters()["reshares_today"] == market.metrics.rows[-1]["reshares"]
        # drawn: one ring per sampled resharer (thick for an origin), one line per tie
        svg = views.network_svg(model)
        group = reshare_group(svg)
        assert group.count('class="ev-reshare') == len(reshared)
        assert group.count('class="ev-reshare ev-origin"') == len(origins)
        assert f'data-reshared="{len(reshared)}"' in svg and f'data-reshare-ties="{len(ties)}"' in svg
        assert f"in a reshare cascade today {len(reshared):,} " in svg
        lines = re.search(r'<path id="demo-reshare-ties" d="([^"]*)"', svg)
        assert (lines.group(1).count("M") if lines else 0) == len(ties)
        assert "demo-reshare-ties" not in views.network_ties_svg(model)  # per frame, not in the static layer
        seen["days"] += len(reshared) > 0
        seen["ties"] += len(ties)
        seen["origins"] += len(origins)
        seen["unsampled"] += int((expected < 0).sum())
    assert all(seen.values()), seen
    # the counters: the largest cascade so far is the model's
    c = model.counters()
    assert c["largest_cascade"] == model.market.cascades_frame()["size"].max() > 1
    html = views.counters_html(model)
    assert f'id="ctr-cascade" style="font-size:17px;font-weight:600;color:#263238;white-space:nowrap">' \
           f'{c["largest_cascade"]:,}<' in html
    assert f'{c["reshares_today"]:,}<' in html.split('id="ctr-reshares"')[1][:120]


def test_no_reshares_when_off_or_on_the_complete_graph(tmp_path, monkeypatch):
    off = reshare_model(tmp_path, monkeypatch, 0.0, seed=9)
    for _ in range(15):
        off.step()
        ev = off.events()
        assert len(ev["reshared"]) == len(ev["reshare_origins"]) == len(ev["reshare_ties"]) == 0
    assert off.market.metrics.rows[-1]["reshares"] == 0
    svg = views.network_svg(off)
    assert reshare_group(svg) == "" and "demo-reshare-ties" not in svg and 'data-reshared="0"' in svg
    assert "reshare cascades: off" in svg
    c = off.counters()
    assert c["reshares_today"] is None and c["largest_cascade"] is None
    assert re.search(r'id="ctr-reshares"[^>]*>—<', views.counters_html(off))
    # the complete graph has no ties to reshare along: empties, whatever the market says
    bass = small_model(preset="bass", size=300)
    bass.step()
    bass.market.reshared_today = bass.market.reshare_origins_today = np.arange(5)
    ev = bass.events()
    assert len(ev["reshared"]) == len(ev["reshare_origins"]) == len(ev["reshare_ties"]) == 0
    svg = views.network_svg(bass)
    assert reshare_group(svg) == "" and "none on the complete graph" in svg
    assert bass.counters()["largest_cascade"] is None


# --------------------------------------------------------------------------- controls
def test_controls_are_the_model_arguments_and_name_their_config_keys():
    params = [p for p in inspect.signature(DemoModel.__init__).parameters if p != "self"]
    fields = [f.name for f in glue.dataclasses.fields(Controls)]
    assert params == fields and set(glue.CONTROL_KEYS) == set(fields)
    defaults = {p.name: p.default for p in inspect.signature(DemoModel.__init__).parameters.values()
                if p.name != "self"}
    assert Controls(**defaults) == Controls()


def test_controls_map_to_config_keys():
    model = small_model(preset="default", platform="generic", network="watts_strogatz", campaign="all four",
                        invite_reward=25.0, team_size=3, team_discount=0.3, coupon_value=15.0,
                        coupon_threshold=80.0, kol_posts_per_week=4.5, seed=7)
    cfg = model.config
    assert (cfg.population.size, cfg.seed, cfg.network.kind, cfg.platform.name) == (SMALL, 7, "watts_strogatz",
                                                                                    "generic")
    mech = dict(cfg.campaign.mechanisms)
    assert list(mech) == ["referral", "team_purchase", "coupon", "kol_seeding"]
    for (key, setting), value in model.controls.campaign_values().items():
        assert getattr(mech[key], setting) == value, (key, setting)
    assert (mech["referral"].inviter_reward, mech["referral"].invitee_reward) == (25.0, 25.0)
    assert (mech["team_purchase"].team_size, mech["team_purchase"].team_discount) == (3, 0.3)
    assert (mech["coupon"].value, mech["coupon"].threshold) == (15.0, 80.0)
    assert mech["kol_seeding"].posts_per_week == 4.5
    for keys in glue.CONTROL_KEYS.values():
        for key in keys:
            if key.startswith("campaign.") and "<" not in key:
                _, option, setting = key.split(".")
                assert getattr(mech[option], setting) == model.controls.campaign_values()[(option, setting)]


def test_scenario_presets_keep_their_own_settings_unless_a_control_replaces_them():
    pdd = small_model(preset="pinduoduo_team_purchase")
    assert pdd.config.platform.name == "pinduoduo" and pdd.config.campaign.keys == ("team_purchase",)
    assert pdd.config.days == 90 and pdd.baseline is not None
    jd = small_model(preset="pinduoduo_team_purchase", platform="jd")
    assert jd.config.platform.name == "jd"
    bass = small_model(preset="bass")
    assert bass.config.scenario.law == "bass" and bass.config.network.kind == "complete"
    assert bass.baseline is None and bass.view.complete
    plain = small_model(preset="referral_team_launch", campaign="none")
    assert plain.config.campaign.mechanisms == () and plain.baseline is None
    # sliders at their defaults leave a scenario's own values (festival: ¥20 off ¥100) ...
    festival = dict(small_model(preset="festival_peak").config.campaign.mechanisms)["coupon"]
    assert (festival.value, festival.threshold, festival.start_day) == (20.0, 100.0, 24)
    # ... a moved slider sets its key, the others stay
    festival = dict(small_model(preset="festival_peak", coupon_value=30.0).config.campaign.mechanisms)["coupon"]
    assert (festival.value, festival.threshold) == (30.0, 100.0)


def test_slider_defaults_are_the_campaign_options_defaults():
    data = glue.compose_data(("campaign=[referral,team_purchase,coupon,kol_seeding]",))
    for (key, setting), value in Controls().campaign_values().items():
        assert data["campaign"][key][setting] == value, (key, setting)


def test_a_campaign_the_platform_lacks_is_dropped_with_a_notice():
    model = small_model(preset="default", platform="xiaohongshu", campaign="referral + coupon")
    assert model.config.campaign.keys == ("coupon",)
    assert len(model.notices) == 1 and "referral" in model.notices[0] and "xiaohongshu" in model.notices[0]
    html = views.counters_html(model)
    assert 'class="demo-notice"' in html and "xiaohongshu" in html


# --------------------------------------------------------------------------- reset and counters
def test_reset_rebuilds_the_model_from_the_controls():
    model = small_model(seed=2)
    for _ in range(10):
        model.step()
    assert model.day == 10 and model.counters()["gmv"] > 0
    params = dict(glue.dataclasses.asdict(model.controls), invite_reward=40.0)
    # Mesa's Reset button calls type(model)(**kwargs) with the controls' values by name: the
    # model must take every control as a keyword, with the control's default, and need nothing else.
    signature = inspect.signature(type(model).__init__)
    taken = {name: p.default for name, p in signature.parameters.items() if name != "self"}
    assert taken == {name: getattr(Controls, name) for name in params}
    try:  # with the demo's extra: through Mesa's own helper, which must pass them unchanged
        from mesa.visualization.solara_viz import _build_model_init_kwargs
    except ImportError:
        kwargs = params
    else:
        kwargs = _build_model_init_kwargs(model, params, add_scenario_when_empty=True,
                                          require_model_accepts_scenario=True)
        assert kwargs == params
    fresh = type(model)(**kwargs)
    assert fresh.day == 0 and fresh.market is not model.market and fresh.running
    assert dict(fresh.config.campaign.mechanisms)["referral"].inviter_reward == 40.0
    assert fresh.counters()["gmv"] == 0 and fresh.series["gmv"] == []
    for _ in range(10):
        fresh.step()
    assert fresh.series["gmv"] != model.series["gmv"]  # a bigger reward, another market


def test_counters_roi_and_k_factor_with_a_lockstep_baseline():
    model = small_model(seed=4)
    c0 = model.counters()
    assert c0["day"] == 0 and c0["roi"] is None and c0["k_factor"] is None
    for _ in range(20):
        model.step()
    assert model.baseline.day == model.market.day == 20
    c = model.counters()
    assert c["campaign_cost"] > 0 and c["roi"] is not None and c["k_factor"] is not None
    base = model.baseline
    inc_margin = ((model.market.ledger.gmv_cents - model.market.ledger.commission_cents
                   - model.market.ledger.cost_cents)
                  - (base.ledger.gmv_cents - base.ledger.commission_cents - base.ledger.cost_cents)) / 100
    assert c["roi"] == pytest.approx((inc_margin - c["campaign_cost"]) / c["campaign_cost"], abs=1e-5)
    assert c["incremental_customers"] == model.market.n_adopters - base.n_adopters
    led = model.market.ledger
    assert (c["net_gmv"], c["returns"]) == (led.net_gmv_cents / 100, led.n_returns) and c["returns"] > 0
    assert c["refund_rate"] == led.refunded["refund_cents"] / led.gmv_cents and c["roi_net"] < c["roi"]
    html = views.counters_html(model)
    for key in ("day", "gmv", "net-gmv", "returns", "customers", "dau", "reshares", "cascade", "rating", "k", "roi",
                "roi-net", "cost", "inc-gmv", "inc-customers"):
        assert f'id="ctr-{key}"' in html
    assert f'id="ctr-returns" style="font-size:17px;font-weight:600;color:#263238;white-space:nowrap">' \
           f'{c["returns"]:,} ({c["refund_rate"]:.0%})<' in html
    reviews = int(model.market.metrics.frame()["reviews"].sum())
    assert c["reviews"] == reviews and c["mean_rating"] == model.market.reviews.rating().mean()
    assert f'>{c["mean_rating"]:.2f}★ ({reviews:,})<' in html
    assert f">{model.day} / {model.days}<" in html
    # no campaign: no baseline, ROI and K-factor undefined
    plain = small_model(preset="default")
    plain.step()
    assert plain.baseline is None and plain.counters()["roi"] is None and plain.counters()["k_factor"] is None
    assert 'id="ctr-roi"' in views.counters_html(plain)


def test_counters_at_the_last_day_are_the_runs_kpis():
    """Stepping the market and its baseline in lockstep gives what experiments.run reports."""
    from sim.evaluation import evaluate

    model = small_model(preset="referral_launch", size=400, seed=8)
    while model.running:
        model.step()
    c = model.counters()
    summary = evaluate(model.config).summary()
    assert c["day"] == summary["days"] == model.days
    assert (c["gmv"], c["customers"]) == (summary["gmv"], summary["customers"])
    assert c["roi"] == summary["roi"] and c["k_factor"] == summary["k_factor"]
    assert (c["incremental_gmv"], c["incremental_customers"]) == (summary["incremental_gmv"],
                                                                  summary["incremental_customers"])
    cur, _ = model.retention(horizon=30)
    assert (cur[1], cur[7], cur[30]) == pytest.approx((summary["retention_d1"], summary["retention_d7"],
                                                       summary["retention_d30"]))


def test_running_stops_after_the_last_day():
    model = small_model(preset="bass", size=300)
    for _ in range(model.days):
        assert model.running
        model.step()
    assert not model.running and model.day == model.days
    model.step()  # a step after the end is a no-op, as Mesa's play loop may call one more
    assert model.day == model.days


def test_retention_so_far_is_the_cohort_curve_at_the_end():
    market = MarketModel(build_config(population={"size": 800}, days=25, seed=1)).run()
    cohorts = market.metrics.cohorts
    so_far = retention_so_far(cohorts, market.day)
    curve = cohorts.curve()["retention"].to_numpy()
    assert np.allclose(so_far, curve, equal_nan=True)
    assert so_far[0] == 1.0  # everyone is active on the day of the first purchase
    assert len(retention_so_far(cohorts, 10, horizon=5)) == 6 and len(retention_so_far(cohorts, 0)) == 0


# --------------------------------------------------------------------------- drawing
def test_charts_draw_every_series_and_break_at_missing_values():
    model = small_model(seed=6)
    for _ in range(12):
        model.step()
    for draw, chart_id in ((views.gmv_chart, "demo-chart-gmv"), (views.customers_chart, "demo-chart-customers"),
                           (views.active_users_chart, "demo-chart-dau")):
        svg = draw(model)
        assert f'id="{chart_id}"' in svg and svg.count("<polyline") == 2  # campaign and baseline
        first = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
        assert len(first) == 12
    svg = views.line_chart("t", "t", [("a", [1, 2, 3, 4], [1.0, math.nan, 2.0, 3.0], "#000", False)], 10)
    assert svg.count("<polyline") == 2  # the NaN splits the line
    assert views.retention_chart(model).count("<polyline") == 2


def test_number_formats():
    assert [views.compact(v) for v in (0, 7.5, 250, 1250, 15000, 2.5e6)] == ["0", "7.5", "250", "1.25k", "15k",
                                                                            "2.5M"]
    assert [views.nice_max(v) for v in (0, 0.3, 7, 480, 1300, 4100)] == [1.0, 0.5, 10, 500, 2000, 5000]
    assert views.money(None) == "—" and views.money(1234.5) == "¥1,234"


def test_glue_and_views_do_not_import_solara():
    code = ("import sys; import experiments.demo.glue, experiments.demo.views; "
            "bad = [m for m in ('solara', 'reacton', 'ipywidgets', 'altair') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    done = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


def test_app_components_and_params_match_the_model():
    pytest.importorskip("solara", reason="the demo's extra is not installed: pip install -e '.[demo]'")
    from experiments.demo import app

    params = [p for p in inspect.signature(DemoModel.__init__).parameters if p != "self"]
    assert list(app.MODEL_PARAMS) == params
    for name, spec in app.MODEL_PARAMS.items():
        assert spec["value"] == getattr(Controls(), name)
        if spec["type"] == "Select":
            assert spec["value"] in spec["values"]
        else:
            assert spec["min"] <= spec["value"] <= spec["max"]
    assert app.MODEL_PARAMS["size"]["max"] >= 5000
    from mesa.visualization import solara_viz

    assert solara_viz.make_initial_grid_layout(len(app.COMPONENTS))[0]["w"] == 12
    assert len(solara_viz.make_initial_grid_layout(3)) == 3  # Mesa's own for other apps


def test_vue_widget_libraries_are_below_2():
    """ipyvue / ipyvuetify 3 break Mesa's SolaraViz in the browser ("GlobalVue.use is not a
    function", blank plots): the demo's extra pins them below 2."""
    pytest.importorskip("solara", reason="the demo's extra is not installed: pip install -e '.[demo]'")
    from importlib.metadata import version

    for package in ("ipyvue", "ipyvuetify"):
        assert int(version(package).split(".")[0]) < 2, f"{package} {version(package)}: pin {package}<2"


def test_a_preset_file_sets_the_market_under_every_choice(tmp_path, monkeypatch):
    """``make demo PRESET=file.yaml``: the file's overrides come first, the sidebar's after them."""
    from experiments.demo import glue

    preset = tmp_path / "market.yaml"
    preset.write_text("network: sbm\ndiffusion.weak_tie: 0.05\npopulation: {kols: {count: 3}}\n")
    monkeypatch.setattr(glue, "PRESET", str(preset))
    monkeypatch.setattr(glue, "_COMPOSED", {})
    config, _ = glue.build_demo_config(glue.Controls(size=SMALL))
    assert config.network.kind == "sbm" and config.diffusion.weak_tie == 0.05
    assert config.population.kols.count == 3 and config.population.size == SMALL  # the sidebar's size wins
    config, _ = glue.build_demo_config(glue.Controls(size=SMALL, network="erdos_renyi"))
    assert config.network.kind == "erdos_renyi"  # a control moved off "scenario" wins over the file
