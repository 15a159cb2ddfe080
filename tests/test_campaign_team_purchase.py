"""The team purchase family: group-buy (拼团, ``team_purchase``) and community
group-buy with group leaders (社区团购, ``community_groupbuy``)."""

import math

import numpy as np
import pandas as pd
import pytest

from conftest import base_frame, small_config
from sim.errors import ConfigError
from sim.model import MarketModel

TEAM_COLUMNS = ("team_opened", "team_shares", "team_joins", "team_filled", "team_expired",
                "team_members_new", "team_gmv")
SBM = {"kind": "sbm"}


def run(network=None, days=60, **campaign):
    extra = {"network": network} if network else {}
    return MarketModel(small_config(days=days, campaign=campaign, **extra)).run()


def assert_same_market(a, b):
    pd.testing.assert_frame_equal(base_frame(a), base_frame(b), check_exact=True)
    pd.testing.assert_frame_equal(a.ledger.to_frame(), b.ledger.to_frame(), check_exact=True)


def team_orders(model, key="team_purchase"):
    orders = model.ledger.to_frame()
    return orders[orders["channel"] == model.mechanism[key].index + 1]


@pytest.fixture(scope="module")
def baseline():
    return MarketModel(small_config(days=60)).run()


@pytest.fixture(scope="module")
def sbm_baseline():
    return MarketModel(small_config(days=60, network=SBM)).run()


@pytest.fixture(scope="module")
def teams():
    """The defaults (teams of 2, 24 h, 20 % off)."""
    return run(team_purchase={})


# --------------------------------------------------------------------------- zero intensity
@pytest.mark.parametrize("settings", [{"team_discount": 0.0},
                                      {"team_discount": 0.0, "hassle": 0.0, "budget": 10.0},
                                      {"team_discount": 0.3, "hassle": 1e9}])
def test_team_price_equal_to_solo_price_reproduces_the_baseline(baseline, settings):
    model = run(team_purchase=settings)
    assert_same_market(model, baseline)
    frame = model.metrics.frame()
    assert (frame[list(TEAM_COLUMNS)] == 0).all().all()
    assert model.summary()["teams_opened"] == 0 and model.summary()["team_completion_rate"] is None


def test_community_groupbuy_without_discount_or_commission_is_the_baseline(sbm_baseline):
    model = run(network=SBM, community_groupbuy={"groupbuy_discount": 0.0, "leader_commission": 0.0})
    assert_same_market(model, sbm_baseline)
    assert model.payments.total_cents == 0 and model.summary()["groupbuy_orders"] == 0


# --------------------------------------------------------------------------- directions
def test_teams_open_fill_and_bring_new_customers(teams, baseline):
    s = teams.summary()
    assert s["teams_opened"] > 100
    assert s["teams_opened"] == s["teams_filled"] + s["teams_expired"] + s["teams_open_at_end"]
    assert 0 < s["team_completion_rate"] < 1
    assert s["team_new_customers"] > 0
    assert s["customers"] > baseline.summary()["customers"]
    assert s["gmv"] > baseline.summary()["gmv"]
    frame = teams.metrics.frame()
    assert frame["team_opened"].sum() == s["teams_opened"]
    assert frame["team_joins"].sum() == s["team_joins"] == s["teams_filled"]  # teams of 2: one join each


def test_a_deeper_team_discount_fills_more_teams():
    shallow = run(team_purchase={"team_discount": 0.1, "hassle": 0.1}).summary()
    deep = run(team_purchase={"team_discount": 0.4, "hassle": 0.1}).summary()
    assert deep["teams_filled"] > 1.2 * shallow["teams_filled"]
    assert deep["teams_opened"] > shallow["teams_opened"]


def test_a_smaller_team_completes_more_often():
    rates = [run(team_purchase={"team_size": n}).summary()["team_completion_rate"] for n in (2, 3, 5)]
    assert rates[0] > rates[1] > rates[2]


def test_a_longer_window_completes_more_often():
    rates = [run(team_purchase={"team_size": 3, "window_days": w}).summary()["team_completion_rate"]
             for w in (0.5, 1.0, 3.0)]
    assert rates[0] < rates[1] < rates[2]


# --------------------------------------------------------------------------- teams and money
@pytest.mark.parametrize("size, window", [(20, 0.5), (3, 1.0)])
def test_only_filled_teams_become_orders(size, window):
    model = run(team_purchase={"team_size": size, "window_days": window})
    mech, s = model.mechanism["team_purchase"], model.summary()
    orders = team_orders(model)
    assert s["teams_expired"] > 0
    assert len(orders) == size * s["teams_filled"]
    assert int(orders["value_cents"].sum()) == round(s["team_gmv"] * 100) == mech.gmv_cents
    assert model.metrics.frame()["team_gmv"].sum() == pytest.approx(s["team_gmv"])
    # every team order is at the team price: discount = P - T of its product
    assert (orders["discount_cents"].to_numpy() == mech.saving_cents[orders["product"]]).all()
    assert (orders["value_cents"].to_numpy() == model.catalogue.list_price_cents[orders["product"]]).all()
    if size == 20:
        assert s["teams_filled"] == 0 and len(orders) == 0 and s["team_gmv"] == 0
    # at most one order per consumer per day, team orders included
    assert not model.ledger.to_frame().duplicated(["day", "consumer"]).any()


def test_money_balances_to_the_fen(teams):
    mech, led = teams.mechanism["team_purchase"], teams.ledger
    orders = led.to_frame()
    gmv = int(orders["value_cents"].sum())
    assert gmv == int(orders["merchant_revenue_cents"].sum() + orders["commission_cents"].sum()
                      + orders["discount_cents"].sum())
    assert mech.discount_cents == int(team_orders(teams)["discount_cents"].sum()) == led.discount_cents
    assert mech.spent_cents == mech.discount_cents + teams.payments.total_cents
    assert teams.summary()["campaign_cost_total"] * 100 == pytest.approx(mech.spent_cents)
    assert round(teams.metrics.frame()["campaign_cost"].sum() * 100) == mech.spent_cents


def test_the_budget_is_never_exceeded():
    model = run(team_purchase={"team_size": 3, "budget": 800.0})
    mech = model.mechanism["team_purchase"]
    assert 0 < mech.spent_cents <= 80_000
    assert mech.spent_cents + mech.reserved_cents <= 80_000
    free = run(team_purchase={"team_size": 3}).mechanism["team_purchase"]
    assert free.spent_cents > 80_000  # the cap binds


def test_teams_run_their_whole_window_inside_the_campaign():
    model = run(team_purchase={"start_day": 10, "end_day": 30, "window_days": 1.5})
    s, orders = model.summary(), team_orders(model)
    assert s["teams_open_at_end"] == 0
    assert s["teams_opened"] == s["teams_filled"] + s["teams_expired"] > 0
    assert orders["day"].between(10, 30).all()
    frame = model.metrics.frame().set_index("day")
    # last opening day: 29 + 1/2 + 1.5 = 31 = end_day + 1
    assert frame.loc[:9, "team_opened"].sum() == 0 and frame.loc[30:, "team_opened"].sum() == 0


def test_complete_graph_and_new_users_target():
    model = run(network={"kind": "complete"}, team_purchase={"target": "new_users"})
    orders = team_orders(model)
    assert model.summary()["teams_filled"] > 0
    # members were new users when they opened or joined (a 24 h team opens the day before its
    # orders at the earliest): none had ordered before that day
    first = model.ledger.to_frame().groupby("consumer")["day"].min()
    assert (first[orders["consumer"]].to_numpy() >= orders["day"].to_numpy() - 1).all()
    everyone = run(network={"kind": "complete"}, team_purchase={})  # customers join teams too
    first = everyone.ledger.to_frame().groupby("consumer")["day"].min()
    anyone = team_orders(everyone)
    assert (first[anyone["consumer"]].to_numpy() < anyone["day"].to_numpy() - 1).any()


# --------------------------------------------------------------------------- community group-buy
@pytest.fixture(scope="module")
def groupbuy():
    return run(network=SBM, community_groupbuy={})


def test_leaders_are_the_best_connected_share_of_the_consumers(groupbuy):
    mech, net = groupbuy.mechanism["community_groupbuy"], groupbuy.network
    leaders = mech.leaders
    assert len(leaders) == math.ceil(0.006 * net.n)  # leader_share: the same per capita at any size
    others = np.setdiff1d(np.arange(net.n), leaders)
    assert net.degree[leaders].min() >= net.degree[others].max()


def test_leaders_earn_their_commission_on_recruits_orders(groupbuy, sbm_baseline):
    mech, s = groupbuy.mechanism["community_groupbuy"], groupbuy.summary()
    orders = groupbuy.ledger.to_frame()
    deal = orders[orders["discount_cents"] > 0]  # the only discounts in this run are the deal's
    paid = deal["value_cents"] - deal["discount_cents"]
    expected = int(np.round(paid.to_numpy() * 0.1).sum())
    pay = groupbuy.payments.to_frame()
    assert expected > 0 and int(pay["amount_cents"].sum()) == expected == mech.commission_cents
    assert set(pay["kind"]) == {"leader_commission"} and pay["recipient"].isin(mech.leaders).all()
    assert len(deal) == s["groupbuy_orders"] and s["leader_commission"] == expected / 100
    assert mech.spent_cents == int(deal["discount_cents"].sum()) + expected
    assert (deal["discount_cents"] == np.round(deal["value_cents"] * 0.15)).all()
    assert s["customers"] > sbm_baseline.summary()["customers"]
    assert s["gmv"] > sbm_baseline.summary()["gmv"]


def test_groupbuy_without_communities_and_within_budget():
    model = run(community_groupbuy={"budget": 2000.0, "leader_share": 0.02})
    mech = model.mechanism["community_groupbuy"]
    assert len(mech.leaders) == 40
    assert (model.network.degree[mech.leaders].min() >= np.sort(model.network.degree)[-40])
    assert 0 < mech.spent_cents <= 200_000 and mech.exhausted


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("option, settings, key", [
    ("team_purchase", {"team_size": 1}, "team_size"),
    ("team_purchase", {"team_size": 2.5}, "team_size"),
    ("team_purchase", {"window_days": 0}, "window_days"),
    ("team_purchase", {"window_days": -1.0}, "window_days"),
    ("team_purchase", {"team_discount": 1.0}, "team_discount"),
    ("team_purchase", {"team_discount": -0.1}, "team_discount"),
    ("team_purchase", {"hassle": -0.5}, "hassle"),
    ("team_purchase", {"share_reach": 0}, "share_reach"),
    ("team_purchase", {"share_trust_weight": -1.0}, "share_trust_weight"),
    ("team_purchase", {"products": [-1]}, "products"),
    ("team_purchase", {"start_day": 10, "end_day": 5}, "end_day"),
    ("team_purchase", {"team_sizes": 3}, "team_sizes"),
    ("community_groupbuy", {"leader_commission": -0.1}, "leader_commission"),
    ("community_groupbuy", {"groupbuy_discount": 1.2}, "groupbuy_discount"),
    ("community_groupbuy", {"leader_share": 0}, "leader_share"),
    ("community_groupbuy", {"leader_share": 0.0}, "leader_share"),
    ("community_groupbuy", {"post_every_days": 0}, "post_every_days"),
    ("community_groupbuy", {"reach_prob": 1.5}, "reach_prob"),
    ("community_groupbuy", {"visit_prob": -0.1}, "visit_prob"),
    ("community_groupbuy", {"pickup_days": 0}, "pickup_days"),
    ("community_groupbuy", {"start_day": 0}, "start_day"),
])
def test_bad_parameters_are_refused_by_name(option, settings, key):
    with pytest.raises(ConfigError) as err:
        small_config(campaign={option: settings})
    assert err.value.key == f"campaign.{option}.{key}"


def test_products_beyond_the_catalogue_are_refused():
    with pytest.raises(ConfigError) as err:
        MarketModel(small_config(campaign={"team_purchase": {"products": [0, 99]}}))
    assert err.value.key == "campaign.team_purchase.products"


def test_hydra_composes_the_yaml_defaults():
    from experiments.batch import compose
    from scenarios.team_purchase import CommunityGroupBuyConfig, TeamPurchaseConfig

    one = compose(["campaign=team_purchase"]).config
    both = compose(["campaign=[team_purchase,community_groupbuy]", "campaign.team_purchase.team_size=3"]).config
    assert one.campaign.mechanisms == (("team_purchase", TeamPurchaseConfig()),)
    assert both.campaign.keys == ("team_purchase", "community_groupbuy")
    assert both.campaign.mechanisms[0][1].team_size == 3
    assert both.campaign.mechanisms[1][1] == CommunityGroupBuyConfig()
