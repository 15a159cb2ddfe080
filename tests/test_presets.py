"""Platform presets (conf/platform/) and the platform parameters: they compose, run, move the
market in the documented direction, and bad values are refused by key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, small_config
from sim.build import build_config
from sim.config import SOCIAL_FEATURES, PlatformConfig
from sim.errors import ConfigError
from sim.model import MarketModel

PRESETS = ("taobao", "jd", "pinduoduo", "xiaohongshu", "douyin", "community_groupbuy")


def _compose(overrides=()):
    from experiments.batch import compose

    return compose(list(overrides)).config


def test_every_preset_has_a_file_and_the_default_is_the_generic_platform():
    files = {p.stem for p in (REPO / "conf" / "platform").glob("*.yaml")}
    assert files == set(PRESETS)  # the generic platform is the dataclass defaults (no file)
    assert _compose().platform == PlatformConfig() == _compose(["platform=generic"]).platform


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_and_runs(preset):
    cfg = _compose([f"platform={preset}", "population.size=2000", "days=20", "seed=3"])
    assert cfg.platform.name == preset
    assert cfg.platform != PlatformConfig()
    # a preset only sets platform keys: the consumers and catalogue stay the default market's
    default = _compose(["population.size=2000", "days=20", "seed=3"])
    assert cfg.replace(platform=default.platform) == default
    model = MarketModel(cfg).run()
    s = model.summary()
    assert s["platform"] == preset and s["days"] == 20 and s["orders"] > 0


@pytest.mark.parametrize("preset", PRESETS)
def test_command_line_overrides_a_preset_key(preset):
    cfg = _compose([f"platform={preset}", "platform.commission_rate=0.123"])
    assert cfg.platform.name == preset and cfg.platform.commission_rate == 0.123


def _run(**platform):
    return MarketModel(small_config(days=40, platform=platform)).run()


def _cvr(model) -> float:
    f = model.metrics.frame()
    return f["orders"].sum() / f["active_users"].sum()


def test_more_traffic_makes_more_consumers_aware():
    low, high = _run(traffic_multiplier=0.5), _run(traffic_multiplier=3.0)
    assert high.n_aware > low.n_aware
    assert _run(traffic_multiplier=0.0).consumers.aware_source.tolist().count(1) == 0  # no ads source


def test_more_personalization_converts_more_visits():
    base, some, full = _run(), _run(personalization=0.3), _run(personalization=1.0)
    assert _cvr(base) < _cvr(some) < _cvr(full)


def test_full_personalization_shows_each_visitor_its_best_match():
    model = MarketModel(small_config(days=5, platform={"personalization": 1.0}))
    for _ in range(5):
        model.step()
    who = np.flatnonzero(model.consumers.aware)[:300]
    shown = model._choose_products(who)
    n = model.catalogue.size
    prob = model.purchase_probability(np.repeat(who, n), np.tile(np.arange(n), len(who))).reshape(len(who), n)
    buys_something = prob.max(axis=1) > 0
    assert buys_something.any()
    assert np.array_equal(shown[buys_something], prob.argmax(axis=1)[buys_something])


def test_no_personalization_is_the_traffic_draw():
    model = MarketModel(small_config(days=1))
    u = np.linspace(0, 0.999, 50)
    cumulative = np.cumsum(model.platform.traffic_share)
    expected = np.minimum(np.searchsorted(cumulative, u * cumulative[-1], side="right"), len(cumulative) - 1)
    assert np.array_equal(model.platform.show(u), expected)


def test_platform_trust_raises_orders():
    low, high = _run(platform_trust=-0.5), _run(platform_trust=0.5)
    assert high.ledger.n_orders > low.ledger.n_orders
    assert _cvr(high) > _cvr(low)


def test_word_of_mouth_multiplier_makes_more_talkers():
    quiet, loud = _run(wom_multiplier=0.5), _run(wom_multiplier=2.0)
    talkers = lambda m: (m.metrics.frame()[["promoters", "detractors"]].sum().sum())  # noqa: E731
    assert talkers(loud) > talkers(quiet)
    silent = _run(wom_multiplier=0.0)
    assert talkers(silent) == 0


def test_content_multiplier_scales_kol_engagement():
    low, high = _run(content_multiplier=0.5), _run(content_multiplier=2.0)
    assert np.all(high.kol_engagement >= low.kol_engagement)
    assert high.metrics.frame()["kol_engagements"].sum() > low.metrics.frame()["kol_engagements"].sum()


def test_price_level_moves_list_prices_not_costs_or_the_reference_price():
    base = MarketModel(small_config(days=1))
    cheap = MarketModel(small_config(days=1, platform={"price_level": 0.8}))
    assert cheap.reference_price == base.reference_price
    assert np.array_equal(cheap.catalogue.unit_cost_cents, base.catalogue.unit_cost_cents)
    assert np.array_equal(cheap.catalogue.list_price_cents,
                          np.maximum(np.round(base.catalogue.list_price_cents * 0.8), 1).astype(np.int64))
    base.run()
    cheap.run()
    assert cheap.ledger.n_orders > base.ledger.n_orders


def test_a_campaign_needing_a_missing_social_feature_is_refused_by_key():
    with pytest.raises(ConfigError) as info:
        build_config(platform={"name": "jd", "social_features": ["referral"]}, campaign={"team_purchase": {}})
    assert info.value.key == "campaign.team_purchase" and "jd" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError) as info:  # an option under another key is checked by its kind
        build_config(platform={"social_features": []}, campaign={"my_live": {"mechanism": "livestream"}})
    assert info.value.key == "campaign.my_live"
    with pytest.raises(ConfigError) as info:  # through Hydra, as on the command line
        _compose(["platform=jd", "campaign=livestream"])
    assert info.value.key == "campaign.livestream"


def test_pricing_and_events_need_no_feature_and_features_can_be_added():
    cfg = build_config(platform={"social_features": []},
                       campaign={"coupon": {}, "discount": {}, "quality_incident": {}, "festival": {}})
    assert cfg.campaign.keys == ("coupon", "discount", "quality_incident", "festival")
    added = _compose(["platform=jd", "campaign=livestream", "platform.social_features=[livestream]"])
    assert added.campaign.keys == ("livestream",)


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_offers_the_features_its_archetype_has(preset):
    features = set(_compose([f"platform={preset}"]).platform.social_features)
    assert features <= set(SOCIAL_FEATURES)
    expected = {"pinduoduo": {"team_purchase", "referral"}, "xiaohongshu": {"kol_seeding", "koc_reviews"},
                "douyin": {"livestream"}, "community_groupbuy": {"community_groupbuy"},
                "taobao": {"livestream"}, "jd": set()}[preset]
    assert expected <= features
    if preset == "jd":
        assert "team_purchase" not in features and "livestream" not in features  # less social


@pytest.mark.parametrize("key, value", [
    ("traffic_multiplier", -1.0), ("wom_multiplier", float("nan")), ("content_multiplier", -0.1),
    ("platform_trust", float("inf")), ("personalization", 1.5), ("personalization", -0.1),
    ("price_level", 0.0), ("social_features", ["referral", "bogus"]), ("social_features", "referral"),
    ("allocation_strength", -1.0), ("traffic_allocation", "random"),
])
def test_bad_platform_values_are_refused_by_key(key, value):
    with pytest.raises(ConfigError) as info:
        build_config(platform={key: value})
    assert info.value.key == f"platform.{key}"
    assert str(info.value).startswith(f"platform.{key}=") and "\n" not in str(info.value)


def test_model_md_documents_every_platform_key_and_preset():
    text = Path(REPO / "docs" / "model.md").read_text()
    for key in PlatformConfig.__dataclass_fields__:
        assert f"platform.{key}" in text, key
    for preset in PRESETS:
        assert f"`{preset}`" in text, preset
