"""The campaign framework: registry, common random numbers, baseline comparison,
budgets, wallet and offers. The families have their own test files."""

import numpy as np
import pandas as pd
import pytest

from conftest import base_frame, small_config
from sim.errors import ConfigError
from sim.evaluation import baseline_config, evaluate, incremental
from sim.model import MarketModel
from sim.offer import Offer
from sim.wallet import Wallet



@pytest.fixture(scope="module")
def baseline():
    return MarketModel(small_config(days=60)).run()


def test_incident_of_zero_size_reproduces_the_baseline_exactly(baseline):
    run = MarketModel(small_config(days=60, campaign={"quality_incident": {"quality_drop": 0.0}})).run()
    pd.testing.assert_frame_equal(base_frame(run), base_frame(baseline), check_exact=True)
    pd.testing.assert_frame_equal(run.ledger.to_frame(), baseline.ledger.to_frame(), check_exact=True)


def test_common_random_numbers_days_before_a_campaign_are_identical(baseline):
    run = MarketModel(small_config(days=60, campaign={"quality_incident": {"start_day": 25, "end_day": 40}})).run()
    a, b = base_frame(run), base_frame(baseline)
    pd.testing.assert_frame_equal(a.iloc[:24], b.iloc[:24], check_exact=True)
    assert not a.iloc[24:].equals(b.iloc[24:])


def test_quality_incident_brings_negative_word_of_mouth_and_less_repeat_buying(baseline):
    run = MarketModel(small_config(days=60, campaign={"quality_incident": {"start_day": 10, "end_day": 40}})).run()
    a, b = run.metrics.frame(), baseline.metrics.frame()
    assert a["detractors"].sum() > 1.3 * b["detractors"].sum()
    assert a["repeat_buyers"].sum() < b["repeat_buyers"].sum()
    assert run.summary()["churned"] > baseline.summary()["churned"]
    assert a["incident_affected_orders"].sum() > 0 and b["incident_affected_orders"].sum() == 0


def test_baseline_is_the_same_config_without_the_campaign():
    cfg = small_config(campaign={"quality_incident": {}})
    base = baseline_config(cfg)
    assert base.campaign.mechanisms == () and base.seed == cfg.seed and base.market == cfg.market


def test_incremental_kpis_follow_from_the_two_summaries():
    result = evaluate(small_config(days=60, campaign={"quality_incident": {"start_day": 10}}))
    s, b = result.model.summary(), result.baseline.summary()
    inc = result.summary()
    assert inc["incremental_gmv"] == pytest.approx(s["gmv"] - b["gmv"])
    assert inc["incremental_customers"] == s["customers"] - b["customers"]
    assert inc["incremental_margin"] == pytest.approx(s["gross_margin"] - b["gross_margin"])
    assert inc["roi"] is None and inc["cac"] is None  # the incident costs nothing
    assert inc["incremental_gmv"] < 0


def test_cac_and_roi_formulas():
    camp = {"gmv": 1500.0, "customers": 120, "gross_margin": 600.0, "campaign_cost_total": 100.0,
            "retention_d30": 0.1, "ltv": 5.0, "net_gmv": 1300.0, "net_margin": 500.0}
    base = {"gmv": 1000.0, "customers": 100, "gross_margin": 400.0, "retention_d30": 0.1, "ltv": 4.0,
            "net_gmv": 900.0, "net_margin": 350.0}
    out = incremental(camp, base)
    assert out["cac"] == 5.0  # 100 / 20
    assert out["roi"] == 1.0  # (200 - 100) / 100
    assert (out["incremental_net_gmv"], out["incremental_net_margin"]) == (400.0, 150.0)
    assert out["roi_net"] == 0.5  # (150 - 100) / 100: after returns, the same cost
    assert incremental({**camp, "customers": 90}, base)["cac"] is None


def test_runs_without_campaign_have_every_campaign_column_at_zero(baseline):
    frame = baseline.metrics.frame()
    cols = baseline.metrics.campaign_columns
    assert "incident_affected_orders" in cols
    assert (frame[list(cols)] == 0).all().all() and (frame["campaign_cost"] == 0).all()
    summary = baseline.summary()
    assert summary["campaigns"] == [] and summary["campaign_cost_total"] == 0


def test_two_mechanisms_of_one_kind_under_their_own_keys():
    cfg = small_config(days=30, campaign={"early": {"mechanism": "quality_incident", "start_day": 5, "end_day": 8},
                                          "late": {"mechanism": "quality_incident", "start_day": 20, "end_day": 25}})
    model = MarketModel(cfg).run()
    assert [m.key for m in model.mechanisms] == ["early", "late"]
    assert model.summary()["campaigns"] == ["early", "late"]


@pytest.mark.parametrize("campaign, key", [
    ({"lottery": {}}, "campaign.lottery"),
    ({"x": {"mechanism": "lottery"}}, "campaign.x.mechanism"),
    ({"quality_incident": {"start_day": 20, "end_day": 10}}, "campaign.quality_incident.end_day"),
    ({"quality_incident": {"start_day": 0}}, "campaign.quality_incident.start_day"),
    ({"quality_incident": {"quality_drop": 2}}, "campaign.quality_incident.quality_drop"),
    ({"quality_incident": {"budget": -1}}, "campaign.quality_incident.budget"),
    ({"quality_incident": {"per_user_cap": 0}}, "campaign.quality_incident.per_user_cap"),
    ({"quality_incident": {"target": "vips"}}, "campaign.quality_incident.target"),
    ({"quality_incident": {"target": "community"}}, "campaign.quality_incident.communities"),
])
def test_bad_campaign_settings_are_refused_by_key(campaign, key):
    with pytest.raises(ConfigError) as info:
        small_config(campaign=campaign)
    assert info.value.key == key and "\n" not in str(info.value)


def test_community_target_needs_communities_in_the_network():
    with pytest.raises(ConfigError, match="network=sbm"):
        MarketModel(small_config(campaign={"quality_incident": {"target": "community", "communities": [1]}}))
    with pytest.raises(ConfigError) as info:
        MarketModel(small_config(network={"kind": "sbm", "community_size": 500},  # 2,000 consumers: communities 0-3
                                 campaign={"quality_incident": {"target": "community", "communities": [7]}}))
    assert info.value.key == "campaign.quality_incident.communities"


def test_budget_pays_the_longest_affordable_prefix_and_then_stops():
    model = MarketModel(small_config(days=5, campaign={"quality_incident": {"budget": 10.0, "start_day": 1}}))
    mech = model.mechanisms[0]
    paid = mech.pay(model, np.array([1, 2, 3, 4]), np.array([400, 400, 300, 100]), "reward")
    assert paid.tolist() == [True, True, False, False]  # 8 yuan paid; the 3rd would overshoot
    assert mech.spent_cents == 800 and mech.exhausted and not mech.running(model.day + 1)
    frame = model.payments.to_frame()
    assert frame["amount_cents"].sum() == 800 and set(frame["recipient"]) == {1, 2}
    assert model.payments.by_family == {"event": 800}


def test_targeting_by_segment_and_new_users():
    model = MarketModel(small_config(days=5, campaign={
        "seg": {"mechanism": "quality_incident", "start_day": 1, "target": "segment", "segment_trait": "budget",
                "segment_min_quantile": 0.5}}))
    mech = model.mechanisms[0]
    idx = np.arange(model.n)
    chosen = mech.targeted(model, idx)
    budget = model.consumers.budget
    assert abs(chosen.mean() - 0.5) < 0.01
    assert budget[chosen].min() >= np.quantile(budget, 0.5) - 1e-9


def test_wallet_keeps_the_better_coupon_and_expires():
    w = Wallet(4)
    assert w.issue(np.array([0, 1]), 500, 0, last_day=5, owner=0, day=1).tolist() == [True, True]
    assert w.issue(np.array([1, 2]), 300, 0, last_day=9, owner=1, day=2).tolist() == [False, True]
    assert w.value_cents.tolist() == [500, 500, 300, 0]
    assert w.valid(np.arange(4), 5).tolist() == [True, True, True, False]
    assert w.valid(np.arange(4), 6).tolist() == [False, False, True, False]
    assert w.issue(np.array([0]), 100, 0, last_day=9, owner=1, day=6).tolist() == [True]  # expired one is replaced


def test_offer_discounts_never_exceed_the_order_value():
    offer = Offer.at_list_price(np.array([0, 1]), np.array([0, 1]), np.array([1000, 300]))
    offer.add_discount("a", np.array([600, 200]))
    added = offer.add_discount("b", np.array([600, 600]))
    assert added.tolist() == [400, 100]
    assert offer.paid_cents.tolist() == [0, 0]
    offer.remove("a", 0, np.array([True, False]))
    assert offer.discount_cents.tolist() == [400, 300]
