"""Typed configs: defaults are valid, bad values are refused by key in one line."""

import pytest

from sim.build import build_config
from sim.config import SimConfig

from sim.errors import ConfigError

from conftest import REPO


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
    from experiments.batch import compose

    return compose(list(overrides)).config


def test_the_composed_defaults_are_the_dataclass_defaults():
    """The dataclasses are the one source of defaults: composing nothing gives them."""
    assert _compose() == build_config(scenario={"description": "The baseline market, no campaign."})


def _yaml_files():
    return sorted(p for p in (REPO / "conf").rglob("*.yaml") if p.parent.name not in ("conf", "launcher"))


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_preset_files_hold_only_values_that_differ_from_the_defaults(path):
    """conf/ holds presets: a key set to its default (from the dataclasses) is a copy that can drift."""
    import yaml

    from scenarios.registry import load
    from sim.build import schema

    data = yaml.safe_load(path.read_text()) or {}
    data.pop("defaults", None)
    header = path.read_text().splitlines()[0]
    if header.startswith("# @package campaign."):
        option = header.split(".")[-1]
        data = {"campaign": {option: data}}
    elif "_global_" not in header:
        data = {path.parent.name: data}
    defaults = build_config().as_dict()
    options = load()

    def same(node, default, where):
        for key, value in node.items():
            if isinstance(value, dict) and isinstance(default.get(key), dict):
                same(value, default[key], f"{where}{key}.")
            elif key in default:
                assert value != default[key] or (where, key) == ("scenario.", "name"), f"{where}{key} = default"

    campaign = data.pop("campaign", {}) or {}
    same(data, defaults, "")
    for option, values in campaign.items():
        same(values or {}, build_config(campaign={option: {}}).as_dict()["campaign"][option], f"campaign.{option}.")
    assert schema() and options  # the schema and the options the YAML is checked against exist


@pytest.mark.parametrize("override", [
    "network=barabasi_albert", "network=watts_strogatz", "network=erdos_renyi", "network=holme_kim",
    "network=sbm", "network=complete", "scenario=bass", "scenario=default", "scenario=referral_team_launch",
    "platform=generic",
])
def test_every_config_option_composes_into_a_valid_config(override):
    cfg = _compose([override])
    group, option = override.split("=")
    if group == "network":
        assert cfg.network.kind == option
    elif group == "platform":
        assert cfg.platform.name == option
    else:
        assert cfg.scenario.name == option


def test_every_network_kind_is_an_option_and_in_the_docs():
    """The network registry is the one list: the config options and docs/model.md derive from it."""
    from experiments.batch import HydraContext
    from sim.network import NETWORK_KINDS

    with HydraContext() as loader:
        assert sorted(loader.get_group_options("network")) == sorted(NETWORK_KINDS)
    model = (REPO / "docs" / "model.md").read_text()
    for kind in NETWORK_KINDS:
        assert f"| `{kind}` |" in model, kind


def test_scenario_bass_presets_the_complete_graph_but_the_command_line_wins():
    bass = _compose(["scenario=bass"])
    assert bass.scenario.law == "bass" and bass.network.kind == "complete"
    assert bass.market.merchants == 1 and bass.market.products_per_merchant == 1
    assert bass.population.kols.count == 0
    on_ba = _compose(["scenario=bass", "network=barabasi_albert", "days=10"])
    assert on_ba.network.kind == "barabasi_albert" and on_ba.days == 10


def test_a_scenario_can_run_several_campaigns_and_the_command_line_can_too():
    cfg = _compose(["scenario=referral_team_launch"])
    assert cfg.campaign.keys == ("referral", "team_purchase")
    assert cfg.days == 90
    cli = _compose(["campaign=[coupon,kol_seeding]", "campaign.coupon.value=15"])
    assert cli.campaign.keys == ("coupon", "kol_seeding")
    assert cli.campaign.mechanisms[0][1].value == 15.0
    assert _compose(["scenario=referral_team_launch", "campaign=none"]).campaign.keys == ()


def test_a_config_round_trips_through_as_dict():
    cfg = build_config(campaign={"referral": {"inviter_reward": 3}, "c2": {"mechanism": "coupon", "value": 4}},
                       network={"kind": "sbm"}, market_seed=5)
    assert build_config(cfg.as_dict()) == cfg and hash(build_config(cfg.as_dict())) == hash(cfg)


def test_a_variant_option_extends_its_option_and_is_typed():
    cfg = _compose(["campaign=referral_fraud", "campaign.referral.inviter_reward=3"])
    (key, settings), = cfg.campaign.mechanisms
    assert key == "referral" and settings.fraud_share == 0.4 and settings.inviter_reward == 3.0
