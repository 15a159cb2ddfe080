"""Named scenarios (conf/scenario/): each composes, runs at small N with its campaigns and
platform, costs money where it has a campaign, and `campaign=none` removes its campaigns.
Also the festival event (scenarios/festival.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, small_config
from sim.build import build_config
from sim.errors import ConfigError
from sim.evaluation import evaluate
from sim.model import MarketModel

#: scenario -> (platform, network, campaign keys)
NAMED = {
    "referral_launch": ("generic", "barabasi_albert", ("referral",)),
    "referral_team_launch": ("generic", "barabasi_albert", ("referral", "team_purchase")),
    "pinduoduo_team_purchase": ("pinduoduo", "barabasi_albert", ("team_purchase",)),
    "xiaohongshu_kol_seeding": ("xiaohongshu", "barabasi_albert", ("kol_seeding", "koc_reviews")),
    "douyin_livestream_flash_sale": ("douyin", "barabasi_albert", ("livestream", "flash_sale")),
    "livestream_returns": ("douyin", "barabasi_albert", ("livestream",)),
    "community_groupbuy_leaders": ("community_groupbuy", "sbm", ("community_groupbuy",)),
    "festival_peak": ("taobao", "barabasi_albert", ("discount", "coupon", "festival")),
    "double11_presale": ("taobao", "barabasi_albert", ("discount", "coupon", "festival", "presale")),
    "quality_incident": ("generic", "barabasi_albert", ("quality_incident",)),
    "crisis_response": ("generic", "barabasi_albert", ("quality_incident",)),
    "referral_fraud_wave": ("generic", "barabasi_albert", ("referral",)),
}
ALL = sorted(p.stem for p in (REPO / "conf" / "scenario").glob("*.yaml"))


def _compose(overrides=()):
    from experiments.batch import compose

    return compose(list(overrides)).config


def test_the_scenario_list_is_complete():
    assert set(ALL) == {"default", "bass", "cascade", "threshold", "goldenberg", *NAMED}


#: Scenarios whose every campaign spends only at a larger N: on Double 11 the warm-up coupon
#: (满100减20) rarely reaches its threshold after the 30 % peak-day discount (2-3 of ~900 issued).
SIZE = {"double11_presale": 4000}


@pytest.mark.parametrize("name", ALL)
def test_every_scenario_runs_at_small_n(name):
    cfg = _compose([f"scenario={name}", f"population.size={SIZE.get(name, 2000)}", "days=40", "seed=2"])
    assert cfg.scenario.name == name
    if name in NAMED:
        platform, network, keys = NAMED[name]
        assert (cfg.platform.name, cfg.network.kind, cfg.campaign.keys) == (platform, network, keys)
    model = MarketModel(cfg).run()
    s = model.summary()
    assert s["days"] == 40 and s["orders"] > 0
    assert s["campaigns"] == list(cfg.campaign.keys)
    paying = [m for m in model.mechanisms if m.family != "event"]
    if paying:
        assert s["campaign_cost_total"] > 0
        for m in paying:
            assert m.spent_cents > 0, m.key


@pytest.mark.parametrize("name", ALL)
def test_campaign_none_removes_the_scenarios_campaigns(name):
    cfg = _compose([f"scenario={name}", "campaign=none"])
    assert cfg.campaign.keys == ()
    assert cfg.scenario.name == name


def test_scenarios_set_no_campaign_keys_in_their_body():
    """Settings live in conf/campaign/ (variants), so campaign=none removes everything."""
    for path in (REPO / "conf" / "scenario").glob("*.yaml"):
        body = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
        assert not any(line.startswith("campaign:") for line in body), path.name


def test_variant_options_keep_the_standard_keys_and_take_their_settings():
    fraud = dict(_compose(["scenario=referral_fraud_wave"]).campaign.mechanisms)["referral"]
    assert (fraud.fraud_share, fraud.detection_rate, fraud.inviter_reward) == (0.4, 0.2, 10.0)
    fest = dict(_compose(["scenario=festival_peak"]).campaign.mechanisms)
    assert (fest["discount"].rate, fest["discount"].start_day, fest["discount"].end_day) == (0.3, 30, 30)
    assert (fest["coupon"].start_day, fest["coupon"].end_day, fest["coupon"].validity_days) == (24, 29, 7)
    live = dict(_compose(["scenario=douyin_livestream_flash_sale"]).campaign.mechanisms)["livestream"]
    assert (live.start_day, live.end_day, live.every_days) == (30, 32, 1)
    # the command line still wins over a variant's settings
    cli = dict(_compose(["scenario=festival_peak", "campaign.discount.rate=0.5"]).campaign.mechanisms)
    assert cli["discount"].rate == 0.5


def test_a_scenario_on_a_platform_without_its_feature_is_refused():
    with pytest.raises(ConfigError) as info:
        _compose(["scenario=pinduoduo_team_purchase", "platform=jd"])
    assert info.value.key == "campaign.team_purchase"
    other = _compose(["scenario=pinduoduo_team_purchase", "platform=taobao"])
    assert other.platform.name == "taobao"  # the command line wins over the scenario's platform


def test_docs_describe_every_named_scenario():
    text = (REPO / "docs" / "scenarios.md").read_text()
    for name in NAMED:
        assert f"`scenario={name}`" in text, name


# --------------------------------------------------------------------------- festival event
def _festival(**settings):
    return small_config(days=45, campaign={"festival": settings})


def test_festival_at_zero_intensity_is_the_baseline():
    zero = MarketModel(_festival(visit_prob=0.0, awareness_prob=0.0, hangover_utility=0.0)).run()
    base = MarketModel(small_config(days=45)).run()
    assert zero.ledger.to_frame().equals(base.ledger.to_frame())
    f, fb = zero.metrics.frame(), base.metrics.frame()
    cols = [c for c in fb.columns if not c.startswith("festival_")]
    assert f[cols].equals(fb[cols])


def test_festival_surge_brings_traffic_and_orders_on_the_peak_day_only():
    result = evaluate(_festival())
    f, fb = result.model.metrics.frame(), result.baseline.metrics.frame()
    day = f["day"]
    assert (f.loc[day < 30, "gmv"].to_numpy() == fb.loc[day < 30, "gmv"].to_numpy()).all()
    peak = day == 30
    assert f.loc[peak, "active_users"].item() > 2 * fb.loc[peak, "active_users"].item()
    assert f.loc[peak, "orders"].item() > fb.loc[peak, "orders"].item()
    assert f.loc[peak, "festival_surge_visits"].item() > 0
    s = result.model.summary()
    assert s["festival_peak_orders"] == f.loc[peak, "orders"].item()
    assert s["campaign_cost"] == {"event": 0.0}


def test_festival_hangover_lowers_peak_buyers_demand_afterwards():
    with_hangover = MarketModel(_festival(hangover_utility=3.0)).run()
    without = MarketModel(_festival(hangover_utility=0.0)).run()
    mech = with_hangover.mechanisms[0]
    assert mech.peak_buyer.sum() > 0
    assert with_hangover.metrics.frame()["festival_hangover_visitors"].sum() > 0
    led, led0 = with_hangover.ledger.to_frame(), without.ledger.to_frame()
    window = lambda led: led[(led["day"] > 30) & (led["day"] <= 37)]  # noqa: E731
    peak_buyers = np.flatnonzero(mech.peak_buyer)
    n = lambda led: window(led)["consumer"].isin(peak_buyers).sum()  # noqa: E731
    assert n(led) < n(led0)
    assert led[led["day"] <= 30].equals(led0[led0["day"] <= 30])


@pytest.mark.parametrize("key, value", [
    ("visit_prob", 1.5), ("awareness_prob", -0.1), ("hangover_days", -1), ("hangover_utility", -1.0),
])
def test_bad_festival_values_are_refused_by_key(key, value):
    with pytest.raises(ConfigError) as info:
        build_config(campaign={"festival": {key: value}})
    assert info.value.key == f"campaign.festival.{key}"


def test_scenarios_md_exists_and_links_from_the_model_docs():
    assert Path(REPO / "docs" / "scenarios.md").exists()
    assert "scenarios.md" in (REPO / "docs" / "model.md").read_text()


def test_every_scenario_produces_a_non_empty_report(tmp_path):
    """All scenarios side by side (one seed, small and short): one comparison report holds them all."""
    from experiments.compare import compare

    result = compare(ALL, seeds=1, overrides=["population.size=1000", "days=35"], jobs=2, out=tmp_path,
                     progress=False)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(html) > 10_000 and html.count("data:image/png;base64,") >= 5
    for name in ALL:
        assert name in html
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert sorted(runs["scenario"]) == sorted(ALL)
    assert (runs["gmv"] > 0).all() and (runs["orders"] > 0).all()
    assert set(result.summary["scenario"]) == set(ALL)
