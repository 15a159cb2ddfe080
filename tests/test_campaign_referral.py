"""Referral / fission (裂变): zero intensity, directions, fraud, budget, money, config."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from conftest import base_frame, small_config
from agents.consumers import SOURCE_REFERRAL
from sim.errors import ConfigError
from sim.model import MarketModel

DAILY = ("referral_invites_sent", "referral_invites_accepted", "referral_conversions",
         "referral_rewards_paid", "referral_fraud_losses")


def run(seed: int = 1, days: int = 60, network: dict | None = None, **settings) -> MarketModel:
    extra = {"network": network} if network else {}
    return MarketModel(small_config(seed=seed, days=days, campaign={"referral": settings}, **extra)).run()


@pytest.fixture(scope="module")
def baseline():
    return MarketModel(small_config(days=60)).run()


@pytest.fixture(scope="module")
def default_referral():
    return run()


# ------------------------------------------------------------------ zero intensity and direction
def test_zero_rewards_reproduce_the_baseline_exactly(baseline):
    model = run(inviter_reward=0.0, invitee_reward=0.0, fraud_share=0.3)
    pd.testing.assert_frame_equal(base_frame(model), base_frame(baseline), check_exact=True)
    pd.testing.assert_frame_equal(model.ledger.to_frame(), baseline.ledger.to_frame(), check_exact=True)
    assert model.payments.to_frame().empty and model.mechanisms[0].spent_cents == 0
    assert (model.metrics.frame()[list(DAILY)] == 0).all().all()
    s = model.summary()
    assert s["referral_invites_sent"] == 0 and s["k_factor"] is None


def test_default_launch_brings_customers_and_gmv(baseline, default_referral):
    s, b = default_referral.summary(), baseline.summary()
    assert s["referral_invites_sent"] > 1000 and s["referral_conversions"] > 50
    assert s["customers"] > b["customers"] + 20 and s["gmv"] > b["gmv"]
    assert 0 < s["k_factor"] < 1
    assert s["k_factor"] == pytest.approx(s["referral_invites_per_inviter"] * s["referral_conversion_rate"])
    # days before the first invitation is sent are identical to the baseline (common random numbers)
    pd.testing.assert_frame_equal(base_frame(default_referral).iloc[:1], base_frame(baseline).iloc[:1],
                                  check_exact=True)


def test_a_bigger_reward_sends_more_invitations_and_wins_more_customers():
    low = [run(seed=s, inviter_reward=2.0, invitee_reward=2.0).summary() for s in (1, 2)]
    high = [run(seed=s, inviter_reward=30.0, invitee_reward=30.0).summary() for s in (1, 2)]
    sent_low = sum(s["referral_invites_sent"] for s in low)
    sent_high = sum(s["referral_invites_sent"] for s in high)
    assert sent_high > 3 * sent_low
    assert sum(s["referral_conversions"] for s in high) > 4 * sum(s["referral_conversions"] for s in low)
    gain = np.mean([h["customers"] - lo["customers"] for h, lo in zip(high, low)])
    assert gain > 30  # ~75 of ~1,300 customers at 2,000 consumers x 60 days


def test_invitations_follow_friendship_ties_and_communities():
    ba = run(community_share=0.0)
    m = ba.mechanisms[0]
    bound = np.flatnonzero(m.referrer >= 0)
    assert bound.size > 100
    assert (np.asarray(ba.network.adjacency[m.referrer[bound], bound]).ravel() == 1).all()
    sbm = run(network={"kind": "sbm", "community_size": 200}, community_share=1.0)
    m = sbm.mechanisms[0]
    bound = np.flatnonzero(m.referrer >= 0)
    comm = sbm.network.community
    assert bound.size > 100 and (comm[m.referrer[bound]] == comm[bound]).all()
    assert (m.referrer[bound] != bound).all()
    complete = run(network={"kind": "complete"}, days=30)
    m = complete.mechanisms[0]
    bound = np.flatnonzero(m.referrer >= 0)
    assert bound.size > 0 and (m.referrer[bound] != bound).all()


def test_invitees_hear_from_a_friend_and_are_credited_only_in_the_window(default_referral):
    model, m = default_referral, default_referral.mechanisms[0]
    c = model.consumers
    s = model.summary()
    assert (c.aware_source == SOURCE_REFERRAL).sum() == s["referral_new_aware"] > 0
    conv = np.flatnonzero(m.converted)
    assert conv.size == s["referral_conversions"]
    lag = c.first_purchase_day[conv] - m.referral_day[conv]
    assert (lag >= 0).all() and (lag < model.config.campaign.mechanisms[0][1].attribution_days).all()
    # inviters are customers; invitees were new when they accepted
    assert (c.first_purchase_day[m.referrer[conv]] < c.first_purchase_day[conv]).all()
    same_day = run(attribution_days=1)
    m1 = same_day.mechanisms[0]
    conv = np.flatnonzero(m1.converted)
    assert conv.size > 0 and (same_day.consumers.first_purchase_day[conv] == m1.referral_day[conv]).all()


# ------------------------------------------------------------------ rewards, cap, fraud, budget
@pytest.mark.parametrize("form", ["cash", "coupon"])
def test_money_spend_equals_payments_plus_discounts_to_the_fen(form):
    model = run(reward_form=form, fraud_share=0.2, per_user_cap=2)
    m = model.mechanisms[0]
    pay = model.payments.to_frame()
    mine = pay[pay["mechanism"] == "referral"]
    orders = model.ledger.to_frame()
    assert m.discount_cents == int(orders["discount_cents"].sum())  # the only mechanism
    assert m.spent_cents == int(mine["amount_cents"].sum()) + m.discount_cents > 0
    assert m.spent_cents == m.reward_cents + m.fraud_cents
    s = model.summary()
    assert round((s["referral_rewards_paid"] + s["referral_fraud_losses"]) * 100) == m.spent_cents
    assert round(s["campaign_cost_total"] * 100) == m.spent_cents
    daily = model.metrics.frame()
    assert round(daily["campaign_cost"].sum() * 100) == m.spent_cents
    assert round((daily["referral_rewards_paid"] + daily["referral_fraud_losses"]).sum() * 100) == m.spent_cents
    gmv = int(orders["value_cents"].sum())
    assert gmv == int(orders["merchant_revenue_cents"].sum() + orders["commission_cents"].sum()
                      + orders["discount_cents"].sum()) == model.ledger.gmv_cents
    assert (m.rewarded <= 2).all()
    if form == "cash":
        assert set(mine["kind"]) == {"inviter_reward", "invitee_reward", "fraud"} and m.discount_cents == 0
        per_inviter = mine[mine["kind"] == "inviter_reward"].groupby("recipient").size()
        assert per_inviter.max() <= 2
        invitees = mine.loc[mine["kind"] == "invitee_reward", "recipient"].to_numpy()
        assert set(invitees) <= set(np.flatnonzero(m.converted))
        assert (mine.loc[mine["kind"] == "fraud", "recipient"] == -1).all()  # fake accounts are not consumers
    else:
        assert set(mine["kind"]) == {"fraud"} and m.discount_cents > 0
        # invitees redeem their coupon on the first order: a discount of at most the reward
        converted = np.flatnonzero(m.converted)
        assert converted.size > 0
        first = orders.sort_values("day", kind="stable").groupby("consumer").first().loc[converted]
        reward = round(model.config.campaign.mechanisms[0][1].invitee_reward * 100)
        assert (first["discount_cents"] == np.minimum(reward, first["value_cents"])).all()


def test_fraud_losses_follow_fraud_share_and_detection():
    none = run(fraud_share=0.0).summary()
    assert none["referral_fraud_losses"] == 0 and none["referral_fake_claims"] == 0
    fraud = run(fraud_share=0.3)
    s = fraud.summary()
    assert s["referral_fraud_losses"] > 0
    kinds = fraud.payments.to_frame().groupby("kind")["amount_cents"].sum()
    assert kinds["fraud"] == round(s["referral_fraud_losses"] * 100)
    caught = run(fraud_share=0.3, detection_rate=1.0).summary()
    assert caught["referral_fraud_losses"] == 0 and caught["referral_fake_detected"] > 0
    assert caught["referral_fake_claims"] == caught["referral_fake_detected"]
    # fake accounts are not consumers: customers, orders and GMV do not depend on fraud
    assert s["customers"] == none["customers"] and s["gmv"] == none["gmv"] and s["orders"] == none["orders"]


@pytest.mark.parametrize("seed", range(1, 21))
@pytest.mark.parametrize("form", ["cash", "coupon"])
def test_budget_is_never_exceeded_and_the_campaign_stops(form, seed):
    """Over 20 seeds: spending often lands exactly on the budget (rewards are round
    amounts); the campaign must stop then too, not only when a payment is refused."""
    model = run(seed=seed, reward_form=form, budget=300.0)
    m = model.mechanisms[0]
    assert m.exhausted and 0 < m.spent_cents <= 30_000
    daily = model.metrics.frame()
    assert round(daily["campaign_cost"].sum() * 100) == m.spent_cents
    stop = int(np.flatnonzero(daily["campaign_cost"].cumsum().to_numpy() * 100 >= m.spent_cents - 0.5)[0])
    assert (daily["referral_invites_sent"].iloc[stop + 1:] == 0).all()
    assert not m.running(model.day)


# ------------------------------------------------------------------ config
@pytest.mark.parametrize("key,value", [
    ("inviter_reward", -1.0), ("invitee_reward", -0.5), ("invite_rate", 1.5), ("accept_rate", -0.1),
    ("community_share", 2.0), ("fraud_share", 1.0), ("detection_rate", 1.2), ("invites_per_sender", 0),
    ("attribution_days", 0), ("coupon_days", 0), ("reward_form", "points"), ("reward_half_saturation", 0.0),
    ("target", "new_users"), ("per_user_cap", 0), ("budget", -5.0), ("no_such_key", 1),
])
def test_bad_parameters_are_refused_by_name(key, value):
    with pytest.raises(ConfigError) as err:
        small_config(campaign={"referral": {key: value}})
    assert err.value.key == f"campaign.referral.{key}"


def test_start_after_end_is_refused():
    with pytest.raises(ConfigError) as err:
        small_config(campaign={"referral": {"start_day": 20, "end_day": 10}})
    assert err.value.key == "campaign.referral.end_day"


def test_hydra_composes_campaign_referral_with_the_dataclass_defaults():
    from experiments.batch import compose
    from scenarios.referral import Referral, ReferralConfig

    sim = compose(["campaign=referral", "campaign.referral.inviter_reward=15"]).config
    (key, settings), = sim.campaign.mechanisms
    assert key == "referral" and isinstance(settings, ReferralConfig)
    assert settings == ReferralConfig(inviter_reward=15.0)  # the YAML says what the dataclass says
    model = MarketModel(sim.replace(days=3, population=dataclasses.replace(sim.population, size=500))).run()
    assert isinstance(model.mechanism["referral"], Referral)


def test_referred_customers_churn_less():
    """Schmitt, Skiera & Van den Bulte (2011): referred customers retain better."""
    from sim.model import MarketModel

    def churn_share(multiplier):
        model = MarketModel(small_config(days=90, population={"size": 4000}, campaign={
            "referral": {"inviter_reward": 30.0, "invitee_reward": 30.0, "referred_churn_multiplier": multiplier}})).run()
        ref = model.mechanisms[0].converted
        return model.consumers.churned[ref].mean(), ref.sum()

    loyal, n_loyal = churn_share(0.2)
    plain, n_plain = churn_share(1.0)
    assert n_loyal > 50 and n_plain > 50
    assert loyal < plain
