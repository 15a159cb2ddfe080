"""Every yuan accounted for with all campaign families running together."""

import pytest

from conftest import small_config
from sim.model import MarketModel

ALL = {
    "referral": {"budget": 3000.0},
    "discount": {"rate": 0.1, "start_day": 10, "end_day": 20, "budget": 2000.0},
    "threshold_discount": {},
    "coupon": {"issue_prob": 0.05},
    "flash_sale": {"start_day": 15, "end_day": 16},
    "new_user_subsidy": {"budget": 1500.0},
    "team_purchase": {"budget": 5000.0},
    "kol_seeding": {"budget": 2000.0},
    "livestream": {},
    "koc_reviews": {"budget": 500.0},
    "quality_incident": {"start_day": 40, "end_day": 45},
}


@pytest.fixture(scope="module")
def everything():
    return MarketModel(small_config(days=60, population={"size": 4000}, campaign=ALL)).run()


def test_all_families_run_together(everything):
    summary = everything.summary()
    assert summary["campaigns"] == list(ALL)
    assert set(summary["campaign_cost"]) == {"referral", "pricing", "team_purchase", "content", "event"}
    for key in ("k_factor", "team_completion_rate", "coupon_redemption_rate", "kol_reach"):
        assert summary[key] is not None
    assert summary["teams_opened"] > 0  # the team price still competes with the discounted solo price


def test_gmv_splits_to_the_cent(everything):
    led = everything.ledger
    orders = led.to_frame()
    gmv = int(orders["value_cents"].sum())
    assert gmv == led.gmv_cents
    assert int(orders["merchant_revenue_cents"].sum() + orders["commission_cents"].sum()
               + orders["discount_cents"].sum()) == gmv
    assert sum(m.revenue_cents for m in everything.merchants) == led.net_merchant_revenue_cents


def test_campaign_cost_is_discounts_plus_payments_to_the_cent(everything):
    mechs = everything.mechanisms
    led, pay = everything.ledger, everything.payments
    assert sum(m.discount_cents for m in mechs) == led.discount_cents
    frame = pay.to_frame()
    assert int(frame["amount_cents"].sum()) == pay.total_cents == sum(sum(m.payments_cents.values()) for m in mechs)
    for m in mechs:
        mine = frame[frame["mechanism"] == m.key]
        assert int(mine["amount_cents"].sum()) == sum(m.payments_cents.values())
    total = led.discount_cents + pay.total_cents
    summary = everything.summary()
    assert round(summary["campaign_cost_total"] * 100) == total
    assert round(sum(summary["campaign_cost"].values()) * 100) == total
    assert round(everything.metrics.frame()["campaign_cost"].sum() * 100) == total


def test_budgets_are_never_exceeded(everything):
    capped = [m for m in everything.mechanisms if m.budget_cents is not None]
    assert len(capped) == 6
    for m in capped:
        assert m.spent_cents <= m.budget_cents, m.key
    assert any(m.exhausted for m in capped)


def test_two_families_at_zero_intensity_reproduce_the_baseline():
    base = MarketModel(small_config(days=40)).run()
    zero = MarketModel(small_config(days=40, campaign={
        "referral": {"inviter_reward": 0.0, "invitee_reward": 0.0}, "team_purchase": {"team_discount": 0.0},
        "discount": {"rate": 0.0}, "kol_seeding": {"posts_per_week": 0.0}})).run()
    cols = [c for c in base.metrics.columns if c not in base.metrics.campaign_columns]
    assert base.metrics.frame()[cols].equals(zero.metrics.frame()[cols])
    assert base.ledger.to_frame().equals(zero.ledger.to_frame())
    assert zero.payments.total_cents == 0
