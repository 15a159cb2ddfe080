"""Typed configs: defaults are valid, bad values are refused by key in one line."""

import pytest

from sim.build import build_config
from sim.config import SimConfig
from sim.errors import ConfigError


def test_defaults_are_valid():
    cfg = build_config()
    assert isinstance(cfg, SimConfig)
    assert cfg.population.size == 10_000 and cfg.network.kind == "barabasi_albert"


@pytest.mark.parametrize("data, key", [
    ({"days": 0}, "days"),
    ({"days": -3}, "days"),
    ({"seed": -1}, "seed"),
    ({"population": {"size": 0}}, "population.size"),
    ({"population": {"size": -10}}, "population.size"),
    ({"diffusion": {"innovation": 1.5}}, "diffusion.innovation"),
    ({"diffusion": {"imitation": -0.1}}, "diffusion.imitation"),
    ({"market": {"churn_hazard": 2.0}}, "market.churn_hazard"),
    ({"platform": {"commission_rate": -0.01}}, "platform.commission_rate"),
    ({"network": {"kind": "smallworld"}}, "network.kind"),
    ({"network": {"mean_degree": 0}}, "network.mean_degree"),
    ({"network": {"kind": "sbm", "mixing": 1.2}}, "network.mixing"),
    ({"network": {"kind": "file"}}, "network.path"),
    ({"population": {"trust_ads": {"dist": "beta", "a": 0, "b": 1}}}, "population.trust_ads.a"),
    ({"population": {"budget": {"dist": "gamma"}}}, "population.budget.dist"),
    ({"population": {"kols": {"posts_per_week": 9}}}, "population.kols.posts_per_week"),
    ({"market": {"customer_visit_floor": 0.5, "customer_visit_peak": 0.2}}, "market.customer_visit_floor"),
    ({"market": {"merchants": 0}}, "market.merchants"),
    ({"scenario": {"law": "sir"}}, "scenario.law"),
    ({"campaign": {"lottery": {}}}, "campaign.lottery"),
    ({"campaign": {"lottery": 3}}, "campaign.lottery"),
    ({"days": "ten"}, "days"),
    ({"days": 2.5}, "days"),
    ({"diffusion": {"innovation": float("nan")}}, "diffusion.innovation"),
    ({"market": {"colour": 1}}, "market.colour"),
])
def test_bad_values_are_refused_by_key(data, key):
    with pytest.raises(ConfigError) as info:
        build_config(data)
    err = info.value
    assert err.key == key
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{key}=")


def test_error_says_what_is_allowed():
    with pytest.raises(ConfigError, match="must be one of barabasi_albert, watts_strogatz"):
        build_config(network={"kind": "smallworld"})
    with pytest.raises(ConfigError, match=r"probability in \[0, 1\]"):
        build_config(diffusion={"innovation": 2})


def test_ints_are_accepted_for_floats_and_nested_groups_merge_with_defaults():
    cfg = build_config(network={"mean_degree": 6}, population={"kols": {"count": 3}})
    assert cfg.network.mean_degree == 6.0 and isinstance(cfg.network.mean_degree, float)
    assert cfg.population.kols.count == 3
    assert cfg.population.kols.posts_per_week == 2.0  # default kept


def _compose(overrides=()):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="conf", version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_yaml_defaults_equal_the_dataclass_defaults():
    """conf/*/default.yaml and the dataclasses say the same thing (no drift)."""
    from experiments.run import to_sim_config

    cfg = to_sim_config(_compose())
    assert cfg == build_config(days=180, scenario={"description": "The baseline market, no campaign."})


@pytest.mark.parametrize("override", [
    "network=barabasi_albert", "network=watts_strogatz", "network=erdos_renyi", "network=holme_kim",
    "network=sbm", "network=complete", "scenario=bass", "scenario=default", "scenario=referral_team_launch",
])
def test_every_config_option_composes_into_a_valid_config(override):
    from experiments.run import to_sim_config

    cfg = to_sim_config(_compose([override]))
    group, option = override.split("=")
    if group == "network":
        assert cfg.network.kind == option
    else:
        assert cfg.scenario.name == option


def test_scenario_bass_presets_the_complete_graph_but_the_command_line_wins():
    from experiments.run import to_sim_config

    bass = to_sim_config(_compose(["scenario=bass"]))
    assert bass.scenario.law == "bass" and bass.network.kind == "complete"
    assert bass.market.merchants == 1 and bass.market.products_per_merchant == 1
    assert bass.population.kols.count == 0
    on_ba = to_sim_config(_compose(["scenario=bass", "network=barabasi_albert", "days=10"]))
    assert on_ba.network.kind == "barabasi_albert" and on_ba.days == 10


def test_a_scenario_can_run_several_campaigns_and_the_command_line_can_too():
    from experiments.run import to_sim_config

    cfg = to_sim_config(_compose(["scenario=referral_team_launch"]))
    assert cfg.campaign.keys == ("referral", "team_purchase")
    assert cfg.days == 90
    cli = to_sim_config(_compose(["campaign=[coupon,kol_seeding]", "campaign.coupon.value=15"]))
    assert cli.campaign.keys == ("coupon", "kol_seeding")
    assert cli.campaign.mechanisms[0][1].value == 15.0
    assert to_sim_config(_compose(["scenario=referral_team_launch", "campaign=none"])).campaign.keys == ()
