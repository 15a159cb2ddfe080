"""Content and influencer campaigns: kol_seeding (种草), livestream (直播带货), koc_reviews (晒单)."""

import numpy as np
import pandas as pd
import pytest

from conftest import small_config
from sim.errors import ConfigError
from sim.model import MarketModel

FREE = {"fee_per_post": 0, "fee_per_1k_followers": 0, "commission_rate": 0}
FREE_LIVE = {"fee_per_session": 0, "fee_per_1k_followers": 0, "commission_rate": 0}


def run(**overrides) -> MarketModel:
    return MarketModel(small_config(**overrides)).run()


@pytest.fixture(scope="module")
def baseline():
    return run()


def market_columns(model: MarketModel) -> pd.DataFrame:
    frame = model.metrics.frame()
    return frame[[c for c in frame.columns if not c.startswith("content_")]]


def assert_same_as_baseline(model: MarketModel, baseline: MarketModel) -> None:
    pd.testing.assert_frame_equal(market_columns(model), market_columns(baseline))
    pd.testing.assert_frame_equal(model.ledger.to_frame(), baseline.ledger.to_frame())
    assert model.payments.total_cents == 0 and model.payments.to_frame().empty


def mechanism_payments(model: MarketModel, key: str) -> pd.DataFrame:
    pay = model.payments.to_frame()
    return pay[pay["mechanism"] == key]


def assert_money_adds_up(model: MarketModel, key: str) -> None:
    """Cash in the payments ledger + discounts in the order ledger = the mechanism's cost, to the fen;
    GMV = merchant revenue + commission + discounts; the cost never exceeds the budget."""
    m = model.mechanism[key]
    paid = int(mechanism_payments(model, key)["amount_cents"].sum())
    assert paid == sum(m.payments_cents.values())
    assert paid + m.discount_cents == m.spent_cents
    orders = model.ledger.to_frame()
    assert int(orders["discount_cents"].sum()) == m.discount_cents  # the only discounting mechanism
    assert int(orders["value_cents"].sum()) == int(orders["merchant_revenue_cents"].sum()
                                                   + orders["commission_cents"].sum()
                                                   + orders["discount_cents"].sum())
    if m.budget_cents is not None:
        assert m.spent_cents <= m.budget_cents
    frame = model.metrics.frame()
    assert frame["campaign_cost"].sum() == pytest.approx(m.spent_cents / 100)
    assert frame["content_fees"].sum() == pytest.approx(paid / 100)


# --------------------------------------------------------------------------- zero intensity
@pytest.mark.parametrize("campaign", [
    {"kol_seeding": {"posts_per_week": 0}},
    {"livestream": {"content_quality": 0, **FREE_LIVE}},  # sessions nobody watches
    {"koc_reviews": {"review_reward": 0}},
    {"koc_reviews": {"review_uplift": 0}},
], ids=["no_posts", "no_viewers", "no_reward", "no_uplift"])
def test_zero_intensity_reproduces_the_baseline(campaign, baseline):
    assert_same_as_baseline(run(campaign=campaign), baseline)


# --------------------------------------------------------------------------- kol_seeding
def test_more_posts_more_reach_until_fatigue_bites():
    out = {}
    for fatigue in (0.0, 0.15):
        for posts in (1, 3, 7):
            m = run(campaign={"kol_seeding": {"posts_per_week": posts, "fatigue": fatigue, **FREE}})
            s = m.summary()
            out[fatigue, posts] = (s["kol_sponsored_posts"], s["kol_reach"], s["kol_engagements"])
    followers = np.sort(np.diff(m.follower_graph.indptr))[-3:]
    for fatigue in (0.0, 0.15):
        posts, reach, eng = zip(*(out[fatigue, p] for p in (1, 3, 7)))
        assert posts[0] < posts[1] < posts[2]
        # reach = posts x followers of the posting KOL: linear in posts
        for p, r in zip(posts, reach):
            assert followers.min() * p <= r <= followers.max() * p
    per_post = {k: v[2] / v[0] for k, v in out.items()}
    # without fatigue engagement per post does not depend on the posting rate
    assert per_post[0.0, 7] == pytest.approx(per_post[0.0, 1], rel=0.2)
    # with fatigue it falls as posts_per_week rises, and total engagements saturate
    assert per_post[0.15, 1] > per_post[0.15, 3] > per_post[0.15, 7]
    assert per_post[0.15, 7] < 0.5 * per_post[0.0, 7]
    assert out[0.15, 7][2] < 1.3 * out[0.15, 3][2] < 7 / 3 * out[0.15, 3][2]


def test_engagement_rate_falls_with_follower_tier():
    # 40 KOLs from 20 followers (1 % of the consumers) up; tiers scaled so 2,000 consumers stand
    # for 400,000 users (population.represents): nano < 50 followers <= micro < 500 <= mid
    m = run(population={"size": 2000, "represents": 400_000, "kols": {"count": 40, "follower_min_share": 0.01}},
            campaign={"kol_seeding": {"kol_selection": "all", "posts_per_week": 7, "fatigue": 0, **FREE}})
    s = m.summary()
    by_tier = s["kol_engagement_by_tier"]
    assert set(by_tier) == {"nano", "micro", "mid", "mega"}
    present = [by_tier[t] for t in ("nano", "micro", "mid", "mega") if by_tier[t] is not None]
    assert len(present) >= 3
    assert all(a > b for a, b in zip(present, present[1:]))
    assert sum(s["kol_sponsored_by_tier"].values()) == 40
    assert s["kol_engagement_rate"] == pytest.approx(s["kol_engagements"] / s["kol_reach"])


def test_sponsored_posts_are_attributed_paid_and_lift_sales(baseline):
    m = run(campaign={"kol_seeding": {"commission_rate": 0.1, "fee_per_post": 30}})
    s = m.summary()
    assert s["kol_sponsored_posts"] > 0 and s["kol_attributed_orders"] > 0
    assert s["gmv"] > baseline.summary()["gmv"]
    pay = mechanism_payments(m, "kol_seeding")
    assert set(pay["kind"]) == {"kol_fee", "kol_commission"}
    assert set(pay["recipient"]) <= set(m.mechanism["kol_seeding"].selected.tolist())
    assert s["kol_fees"] == pytest.approx(pay["amount_cents"].sum() / 100)
    assert m.metrics.frame()["content_attributed_orders"].sum() == s["kol_attributed_orders"]
    assert_money_adds_up(m, "kol_seeding")


def test_seeding_budget_is_never_exceeded():
    full = run(campaign={"kol_seeding": {"commission_rate": 0.2}}).summary()
    m = run(campaign={"kol_seeding": {"commission_rate": 0.2, "budget": 800}})
    assert m.mechanism["kol_seeding"].spent_cents <= 80_000
    assert m.mechanism["kol_seeding"].exhausted
    assert 0 < m.summary()["kol_sponsored_posts"] < full["kol_sponsored_posts"]
    assert_money_adds_up(m, "kol_seeding")


# --------------------------------------------------------------------------- livestream
def test_livestream_viewers_convert_above_ordinary_visitors(baseline):
    m = run(campaign={"livestream": {}})
    s = m.summary()
    assert s["livestream_sessions"] > 0 and s["livestream_viewers"] > 0
    base = baseline.metrics.frame()
    ordinary = base["orders"].sum() / base["active_users"].sum()
    assert s["livestream_conversion"] > s["livestream_other_conversion"]
    assert s["livestream_conversion"] > 1.2 * ordinary
    frame = m.metrics.frame()
    assert frame["content_livestream_orders"].sum() == s["livestream_orders"]
    assert (frame["content_livestream_viewers"] > 0).sum() == 9  # days 1, 8, ..., 57
    assert_money_adds_up(m, "livestream")
    pay = mechanism_payments(m, "livestream")
    assert set(pay["kind"]) == {"livestream_fee", "kol_commission"}


def test_livestream_budget_caps_fees_commissions_and_discounts():
    m = run(campaign={"livestream": {"budget": 2000, "every_days": 3}})
    mech = m.mechanism["livestream"]
    assert mech.exhausted and mech.spent_cents <= 200_000
    assert mech.discount_cents > 0
    assert_money_adds_up(m, "livestream")


# --------------------------------------------------------------------------- koc_reviews
def test_review_reward_makes_more_promoters_and_pays_only_satisfied_reviewers(baseline):
    m = run(campaign={"koc_reviews": {"review_reward": 10}})
    assert m.metrics.frame()["promoters"].sum() > 1.1 * baseline.metrics.frame()["promoters"].sum()
    s = m.summary()
    pay = mechanism_payments(m, "koc_reviews")
    assert len(pay) == s["koc_reviews_rewarded"] > 0
    assert (pay["amount_cents"] == 1000).all() and set(pay["kind"]) == {"review_reward"}
    # every rewarded reviewer bought that day and was satisfied by some purchase
    orders = m.ledger.to_frame()
    bought = set(zip(orders["day"].astype(int), orders["consumer"].astype(int)))
    assert all((int(d), int(c)) in bought for d, c in zip(pay["day"], pay["recipient"]))
    assert (m.consumers.satisfied_last[pay["recipient"].to_numpy()] >= 0).all()
    assert s["koc_extra_reviews"] > 0 and s["koc_rewards"] == pytest.approx(10 * len(pay))
    assert_money_adds_up(m, "koc_reviews")


def test_review_budget_pays_every_rewarded_review():
    m = run(campaign={"koc_reviews": {"review_reward": 10, "budget": 300}})
    mech = m.mechanism["koc_reviews"]
    assert mech.exhausted and 0 < mech.spent_cents <= 30_000
    assert_money_adds_up(m, "koc_reviews")


# --------------------------------------------------------------------------- together, renamed
def test_options_combine_and_renamed_keys_do_not_collide():
    m = run(campaign={"kol_seeding": {}, "livestream": {}, "koc_reviews": {},
                      "nano_push": {"mechanism": "kol_seeding", "kol_selection": "nano", "n_kols": 5}})
    s = m.summary()
    assert s["kol_sponsored_posts"] > 0 and s["nano_push_kol_sponsored_posts"] > 0
    assert s["livestream_viewers"] > 0 and s["koc_reviews_rewarded"] > 0
    assert s["campaign_cost"]["content"] == pytest.approx(s["campaign_cost_total"])
    frame = m.metrics.frame()
    assert frame["content_sponsored_posts"].sum() == s["kol_sponsored_posts"] + s["nano_push_kol_sponsored_posts"]


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("option, settings, key", [
    ("kol_seeding", {"posts_per_week": 8}, "posts_per_week"),
    ("kol_seeding", {"posts_per_week": -1}, "posts_per_week"),
    ("kol_seeding", {"fee_per_post": -5}, "fee_per_post"),
    ("kol_seeding", {"fee_per_1k_followers": -1}, "fee_per_1k_followers"),
    ("kol_seeding", {"commission_rate": -0.1}, "commission_rate"),
    ("kol_seeding", {"commission_rate": 1.5}, "commission_rate"),
    ("kol_seeding", {"format": "podcast"}, "format"),
    ("kol_seeding", {"kol_selection": "best"}, "kol_selection"),
    ("kol_seeding", {"n_kols": 0}, "n_kols"),
    ("kol_seeding", {"fatigue": -0.1}, "fatigue"),
    ("kol_seeding", {"fatigue_window_days": 0}, "fatigue_window_days"),
    ("kol_seeding", {"content_quality": -1}, "content_quality"),
    ("kol_seeding", {"attribution_days": 0}, "attribution_days"),
    ("kol_seeding", {"n_kols": 0}, "n_kols"),
    ("kol_seeding", {"target": "new_users"}, "target"),
    ("kol_seeding", {"start_day": 10, "end_day": 5}, "end_day"),
    ("kol_seeding", {"budget": -1}, "budget"),
    ("livestream", {"every_days": 0}, "every_days"),
    ("livestream", {"fee_per_session": -1}, "fee_per_session"),
    ("livestream", {"offer_discount": 1.0}, "offer_discount"),
    ("livestream", {"offer_discount": -0.1}, "offer_discount"),
    ("livestream", {"excitement": -1}, "excitement"),
    ("livestream", {"commission_rate": -0.2}, "commission_rate"),
    ("livestream", {"kol_selection": "mega"}, "kol_selection"),
    ("koc_reviews", {"review_reward": -1}, "review_reward"),
    ("koc_reviews", {"review_uplift": 1.5}, "review_uplift"),
    ("koc_reviews", {"half_saturation": 0}, "half_saturation"),
    ("koc_reviews", {"start_day": 30, "end_day": 3}, "end_day"),
])
def test_bad_parameters_are_refused_by_name(option, settings, key):
    with pytest.raises(ConfigError) as info:
        small_config(campaign={option: settings})
    assert info.value.key == f"campaign.{option}.{key}"
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- Hydra
@pytest.mark.parametrize("option", ["kol_seeding", "livestream", "koc_reviews"])
def test_hydra_option_composes_to_the_documented_defaults(option):
    from experiments.batch import compose
    from scenarios.registry import MECHANISMS

    sim = compose([f"campaign={option}", "population.size=1000", "days=20"]).config
    ((key, settings),) = sim.campaign.mechanisms
    assert key == option
    assert settings == MECHANISMS[option].settings()  # the YAML holds the dataclass defaults
    s = MarketModel(sim).run().summary()
    assert s["campaigns"] == [option] and s["campaign_cost"]["content"] > 0
