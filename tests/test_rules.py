"""The consumer's daily rules, pinned one by one (``agents/``; docs/model.md, *The day*).

Each rule is tested twice where state matters: the function alone on hand-made
arrays (the math fixes exact values), and the model's phase on a tiny market
whose uniform draws are set by hand, so that the test fails whether a bug is in
the rule or in how the phase feeds it. Every weight and key of the rules is
varied away from its default at least once, so a phase that ignores a key fails.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import ndtr

from conftest import small_config
from agents import buying, churning, hearing, judging, talking, visiting
from agents.consumers import (SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, SOURCE_NONE, SOURCE_REFERRAL, SOURCE_TEAM,
                              Consumers)
from sim.config import Distribution, PopulationConfig
from sim.model import MarketModel


def tiny(n: int = 12, days: int = 20, market: dict | None = None, platform: dict | None = None,
         diffusion: dict | None = None, network: dict | None = None) -> MarketModel:
    """A tiny market on the complete graph (friends' shares are counts / (n - 1)), no KOLs."""
    return MarketModel(small_config(
        days=days, population={"size": n, "kols": {"count": 0}}, network=network or {"kind": "complete"},
        market={"merchants": 1, "products_per_merchant": 3, **(market or {})},
        platform=platform or {}, diffusion=diffusion or {}))


def at_day(model: MarketModel, day: int, **uniforms: np.ndarray) -> MarketModel:
    """Put ``model`` inside day ``day`` with today's uniform draws of the named streams set by
    hand (one per consumer), full-length (``model.uniforms``) or counter-based (``uniforms_of``)."""
    model.day = day
    model._reset_today()
    by_hand = {stream: np.asarray(u, dtype=np.float64) for stream, u in uniforms.items()}
    model._uniforms.update(by_hand)
    drawn = MarketModel.uniforms_of.__get__(model)
    model.uniforms_of = lambda stream, who: by_hand[stream][who] if stream in by_hand else drawn(stream, who)
    return model


def logit(p):
    return np.log(p / (1.0 - p))


# =========================================================================== purchases
#: A value of every weight of the purchase utility away from its default (docs/model.md, phase 4).
WEIGHTS = {"base_utility": -1.25, "quality_weight": 2.5, "social_proof_weight": 4.5, "negative_wom_weight": 7.5,
           "source_trust_weight": 1.75}


def purchase_market(**market):
    """Eight consumers, each with another trust source or experience, their friends' shares,
    prices and budgets set by hand. Returns (model, who, product, unit price, hand τ)."""
    model = tiny(n=8, market=market, platform={"platform_trust": 0.3})
    c, cat = model.consumers, model.catalogue
    cat.quality[:] = [0.9, 0.55, 0.3]
    cat.list_price_cents[:] = [12_000, 8_000, 4_000]  # R = the market's mean price, fixed at build
    model.reference_price = 80.0
    c.quality_expectation[:] = [0.6, 0.7, 0.5, 0.8, 0.4, 0.65, 0.75, 0.55]
    c.price_sensitivity[:] = [1.0, 2.5, 0.5, 3.0, 1.5, 2.0, 0.8, 1.2]
    c.trust_friends[:] = [0.11, 0.82, 0.33, 0.74, 0.65, 0.56, 0.47, 0.38]
    c.trust_kol[:] = [0.21, 0.32, 0.93, 0.24, 0.15, 0.86, 0.27, 0.18]
    c.trust_ads[:] = [0.71, 0.12, 0.23, 0.34, 0.45, 0.26, 0.37, 0.48]
    c.aware_source[:] = [SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, SOURCE_REFERRAL, SOURCE_TEAM, SOURCE_FRIENDS,
                         SOURCE_ADS, SOURCE_FRIENDS]
    at_day(model, 5)
    c.kol_touch_day[:] = [-1, 4, -1, -1, -1, 5, -1, -1]  # consumer 5 touched by a KOL today, 1 yesterday
    c.satisfied_last[:] = [-1, -1, -1, -1, -1, -1, 1, 0]  # 6 liked its last purchase, 7 did not
    c.budget[:] = 1_000.0
    model.positive_share = np.array([0.0, 0.5, 0.25, 0.1, 0.0, 0.3, 0.6, 0.2])  # friends' shares, set by hand
    model.negative_share = np.array([0.2, 0.0, 0.125, 0.05, 0.4, 0.1, 0.0, 0.3])
    model.friends_shares = lambda who, product: (model.positive_share[who], model.negative_share[who])
    model.rating_term = np.array([0.25, -0.5, 0.0])  # each product's rating term, set by hand
    tau = np.array([c.trust_ads[0], c.trust_friends[1], c.trust_kol[2], c.trust_friends[3], c.trust_friends[4],
                    c.trust_kol[5], 1.0, 0.0])
    who = np.arange(8)
    product = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    c.last_merchant[:] = cat.merchant[product]  # 6 and 7 judge the merchant they bought from
    price = np.array([120.0, 80.0, 40.0, 100.0, 80.0, 40.0, 120.0, 60.0])
    return model, who, product, price, tau


@pytest.mark.parametrize("key", list(WEIGHTS) + [None])
def test_purchase_probability_is_the_hand_computed_logit(key):
    """Pr = 1 / (1 + e^-U), U = u0 + γQ (Q - e) - β (P - R)/R + γS σ+ - γN σ- + γT τ + θP + shift,
    every term written out here, with each weight key in turn away from its default."""
    model, who, product, price, tau = purchase_market(**({key: WEIGHTS[key]} if key else {}))
    mk, c, cat = model.config.market, model.consumers, model.catalogue
    shift = np.array([0.0, 0.0, 0.4, 0.0, -0.2, 0.0, 0.0, 0.0])
    u = (mk.base_utility
         + mk.quality_weight * (cat.quality[product] - c.quality_expectation)
         - c.price_sensitivity * (price - 80.0) / 80.0
         + mk.social_proof_weight * model.positive_share
         - mk.negative_wom_weight * model.negative_share
         + mk.source_trust_weight * tau
         + model.rating_term[product]
         + 0.3 + shift)
    got = model.purchase_probability(who, product, price, utility_shift=shift)
    np.testing.assert_allclose(got, 1.0 / (1.0 + np.exp(-u)), rtol=1e-12, atol=0)
    if key:
        assert getattr(mk, key) == WEIGHTS[key]


@pytest.mark.parametrize("key", WEIGHTS)
def test_each_weight_moves_the_log_odds_by_its_own_term(key):
    """Raising one weight by 1 adds exactly its term to the log-odds: 1, Q - e, σ+, -σ-, τ."""
    model, who, product, price, tau = purchase_market()
    before = logit(model.purchase_probability(who, product, price))
    model2, *_ = purchase_market(**{key: getattr(model.config.market, key) + 1.0})
    after = logit(model2.purchase_probability(who, product, price))
    c = model.consumers
    term = {"base_utility": np.ones(8), "quality_weight": model.catalogue.quality[product] - c.quality_expectation,
            "social_proof_weight": model.positive_share, "negative_wom_weight": -model.negative_share,
            "source_trust_weight": tau}[key]
    np.testing.assert_allclose(after - before, term, atol=1e-9)


def test_trust_term_is_the_source_then_a_kol_touch_today_then_the_own_experience():
    source = np.array([SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, SOURCE_REFERRAL, SOURCE_TEAM, SOURCE_NONE,
                       SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, SOURCE_ADS])
    friends, kol, ads = np.full(10, 0.7), np.full(10, 0.4), np.full(10, 0.2)
    touched = np.array([False] * 6 + [True, False, False, True])
    last = np.array([-1, -1, -1, -1, -1, -1, -1, 0, 1, 0], dtype=np.int8)
    got = buying.trust_in_source(source, friends, kol, ads, touched, last)
    # ads, friends, KOL, referral = friends, team = friends, none = ads; KOL touch today;
    # a dissatisfied customer trusts 0 whatever its source or a KOL touch, a satisfied one 1
    np.testing.assert_array_equal(got, [0.2, 0.7, 0.4, 0.7, 0.7, 0.2, 0.4, 0.0, 1.0, 0.0])
    assert got.dtype == np.float64
    # another merchant's product: the experience weighs 0.25 against the source's trust
    same = np.array([True] * 8 + [False, False])
    got = buying.trust_in_source(source, friends, kol, ads, touched, last, same, 0.25)
    np.testing.assert_allclose(got, [0.2, 0.7, 0.4, 0.7, 0.7, 0.2, 0.4, 0.0, 0.25 + 0.75 * 0.4, 0.75 * 0.4],
                               rtol=0, atol=1e-15)
    # by default the product is of the merchant bought from, and the experience carries over in full
    whole = [0.2, 0.7, 0.4, 0.7, 0.7, 0.2, 0.4, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(buying.trust_in_source(source, friends, kol, ads, touched, last, same), whole)
    np.testing.assert_array_equal(
        buying.trust_in_source(source, friends, kol, ads, touched, last, experience_spillover=0.25), whole)


def test_purchase_utility_term_by_term():
    from types import SimpleNamespace

    mk = SimpleNamespace(base_utility=-2.0, quality_weight=3.0, social_proof_weight=5.0, negative_wom_weight=7.0,
                         source_trust_weight=11.0)
    args = dict(quality=np.array([0.5]), expectation=np.array([0.25]), price_sensitivity=np.array([2.0]),
                price=np.array([150.0]), reference_price=100.0, promoting_share=np.array([0.5]),
                warning_share=np.array([0.25]), trust=np.array([0.5]), platform_trust=0.125, utility_shift=-0.5)
    # -2 + 3 * 0.25 - 2 * 0.5 + 5 * 0.5 - 7 * 0.25 + 11 * 0.5 + 0.125 - 0.5
    assert buying.purchase_utility(mk, **args)[0] == pytest.approx(3.625, abs=1e-12)
    assert buying.purchase_utility(mk, **args, rating_term=np.array([-0.75]))[0] == pytest.approx(2.875, abs=1e-12)


def test_purchase_probability_is_zero_only_above_the_budget():
    u = np.array([0.0, 0.0, math.log(3.0), 2.0, 2.0])
    got = buying.purchase_probability(u, cost=np.array([10.0, 10.0, 5.0, 50.0, 50.01]),
                                      budget=np.array([20.0, 10.0, 5.0, 50.0, 50.0]))
    np.testing.assert_allclose(got, [0.5, 0.5, 0.75, 1 / (1 + math.exp(-2.0)), 0.0], rtol=1e-14)


def test_the_model_applies_the_budget_to_price_times_quantity():
    model, who, product, price, _ = purchase_market()
    model.consumers.budget[:] = [120.0, 79.99, 80.0, 1000.0, 160.0, 79.0, 240.0, 119.0]
    got = model.purchase_probability(who, product, price, quantity=np.array([1, 1, 2, 1, 2, 2, 2, 2]))
    assert (got > 0).tolist() == [True, False, True, True, True, False, True, False]


def test_best_match_is_the_likeliest_product_ties_to_the_lower_index():
    prob = np.array([[0.1, 0.3, 0.2], [0.4, 0.4, 0.1], [0.0, 0.0, 0.0], [0.0, 0.0, 0.05]])
    np.testing.assert_array_equal(buying.best_matches(prob), [1, 0, -1, 2])


# =========================================================================== visits
def test_visit_curve_k_days_after_a_purchase():
    curve = visiting.customer_visit_curve(floor=0.05, peak=0.25, decay_days=4.0, days=10)
    assert len(curve) == 12
    expected = 0.05 + 0.2 * np.exp(-np.arange(12) / 4.0)
    np.testing.assert_allclose(curve, expected, rtol=1e-14)
    assert curve[0] == pytest.approx(0.25)  # the day after the purchase: the peak


def test_visit_probability_by_days_since_purchase_prospects_and_forced_visits():
    curve = np.array([0.5, 0.4, 0.3, 0.2, 0.1, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03])  # days + 2 entries
    last = np.array([9, 8, 7, 6, 10, -1, -1, 6])
    forced = np.array([False] * 6 + [True, True])
    got = visiting.visit_probability(last, 10, curve, 0.07, forced)
    # day 10: bought on 9 -> k = 0; on 8 -> k = 1; ...; today (a campaign order) -> k = 0
    np.testing.assert_array_equal(got, [0.5, 0.4, 0.3, 0.2, 0.5, 0.07, 1.0, 1.0])


@pytest.mark.parametrize(("weekday", "want"), [
    (2.0, [0.8, 0.6, 1.0, 1.0]),  # doubled, capped at 1 (0.7 x 2); a forced visit stays 1
    (1.5, [0.6, 0.45, 1.0, 1.0]),
    (0.5, [0.2, 0.15, 0.35, 1.0]),  # a quiet day: halved
    (1.0, [0.4, 0.3, 0.7, 1.0]),
])
def test_visit_probability_is_multiplied_by_the_weekday_effect_capped_at_one(weekday, want):
    curve = np.array([0.4, 0.7, 0.3, 0.2, 0.1, 0.1, 0.1])  # days + 2 entries
    last = np.array([4, -1, 3, -1])  # day 5: k = 0, a prospect, k = 1, forced
    forced = np.array([False, False, False, True])
    got = visiting.visit_probability(last, 5, curve, 0.3, forced, weekday)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_a_customers_visit_propensity_multiplies_its_curve_not_a_prospects_rate():
    curve = np.array([0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1])
    last = np.array([4, 3, 4, -1, 3, 4])  # day 5: k = 0, 1, 0, a prospect, 1, forced
    forced = np.array([False] * 5 + [True])
    propensity = np.array([0.5, 2.0, 3.0, 4.0, 0.0, 0.1])
    got = visiting.visit_probability(last, 5, curve, 0.3, forced, 1.0, propensity)
    # 0.4 x 0.5; 0.3 x 2; 0.4 x 3 capped at 1; a prospect's rate is its own; 0: never; forced: 1
    np.testing.assert_allclose(got, [0.2, 0.6, 1.0, 0.3, 0.0, 1.0], rtol=1e-15, atol=0)
    # then the weekday effect, capped again
    np.testing.assert_allclose(visiting.visit_probability(last, 5, curve, 0.3, forced, 2.0, propensity),
                               [0.4, 1.0, 1.0, 0.6, 0.0, 1.0], rtol=1e-15, atol=0)


def test_heterogeneous_visit_propensity_makes_heavy_and_light_buyers_and_leaves_other_traits():
    from conftest import small_config

    from sim.model import MarketModel

    same = MarketModel(small_config(days=60, population={"size": 3000})).run()
    mixed = MarketModel(small_config(days=60, population={"size": 3000, "visit_propensity": {"sigma": 1.0}})).run()
    assert np.array_equal(same.consumers.budget, mixed.consumers.budget)  # its own stream
    assert (same.consumers.visit_propensity == 1.0).all()
    c = mixed.consumers
    buyers = c.first_purchase_day >= 0
    high = c.visit_propensity[buyers] > np.median(c.visit_propensity[buyers])
    orders = c.n_orders[buyers]
    assert orders[high].mean() > 1.3 * orders[~high].mean()  # the customers who visit more buy more


@pytest.mark.parametrize("decay", [2.0, 6.0])
def test_the_visit_phase_draws_against_the_curve_k_days_after_a_purchase(decay):
    """Customer bought on day 20 - 1 - k visits on day 20 iff its uniform is below
    v_floor + (v_peak - v_floor) e^(-k/T); each k has one consumer just below, one just above."""
    ks = np.arange(6)
    n = 2 * len(ks) + 4
    model = tiny(n=n, days=30, market={"customer_visit_peak": 0.6, "customer_visit_floor": 0.1,
                                       "visit_decay_days": decay, "prospect_visit_prob": 0.07})
    c = model.consumers
    c.aware[:] = True
    c.aware_day[:] = 3
    last = np.concatenate([20 - 1 - ks, 20 - 1 - ks, [-1, -1, -1, -1]])
    c.last_purchase_day[:] = last
    c.first_purchase_day[:] = np.where(last >= 0, 1, -1)
    v = 0.1 + 0.5 * np.exp(-ks / decay)
    eps = 1e-9
    u = np.concatenate([v - eps, v + eps, [0.07 - eps, 0.07 + eps, 0.0, 0.0]])
    c.churned[-1] = True  # churned: never visits
    c.aware[-2] = False  # unaware: never visits
    at_day(model, 20, visits=u)
    model._phase_visits()
    expected = np.concatenate([np.ones(6, bool), np.zeros(6, bool), [True, False, False, False]])
    np.testing.assert_array_equal(c.active, expected)
    np.testing.assert_array_equal(model._visitors, np.flatnonzero(expected))


def test_consumers_who_heard_today_or_were_touched_by_a_kol_or_a_campaign_always_visit():
    model = tiny(n=6)
    c = model.consumers
    c.aware[:] = True
    c.aware_day[:] = [7, 3, 3, 3, 3, 3]
    c.kol_touch_day[:] = [-1, 7, 6, -1, -1, -1]
    at_day(model, 7, visits=np.full(6, 0.999))
    model.visit_boost[3] = True
    model._phase_visits()
    np.testing.assert_array_equal(c.active, [True, True, False, True, False, False])


# =========================================================================== satisfaction
def test_realized_quality_is_quality_plus_shock_plus_normal_noise():
    u = np.array([0.5, ndtr(1.0), ndtr(-2.0)])
    got = judging.realized_quality(np.array([0.6, 0.6, 0.5]), np.array([0.0, -0.1, 0.2]), 0.15, u)
    np.testing.assert_allclose(got, [0.6, 0.65, 0.4], atol=1e-12)


def test_satisfied_at_expectation_less_tolerance_not_below():
    realized = np.array([0.5, 0.5 - 2**-30, 0.75, 0.2])
    expectation = np.array([0.75, 0.75, 0.75, 0.75])
    np.testing.assert_array_equal(judging.satisfied(realized, expectation, 0.25), [True, False, True, False])
    np.testing.assert_array_equal(judging.satisfied(realized, expectation, 0.0), [False, False, True, False])


@pytest.mark.parametrize("tolerance", [0.0, 0.25])
def test_the_satisfaction_phase_judges_at_the_tolerance_boundary(tolerance):
    """No noise: a buyer is satisfied iff Q_j + shock_j >= e_i - δ."""
    model = tiny(n=6, market={"quality_noise": 0.0, "satisfaction_tolerance": tolerance})
    c = model.consumers
    model.catalogue.quality[:] = [0.5, 0.5, 0.875]
    c.quality_expectation[:] = [0.75, 0.75 + 2**-30, 0.5, 0.5, 0.875, 1.0]
    at_day(model, 4, satisfaction=np.full(6, 0.5))
    model.quality_shift[2] = -0.125  # today's shock on product 2: 0.75 realized
    model._buyer_parts, model._product_parts = [np.array([0, 1, 2])], [np.array([0, 0, 0])]
    model._buyer_parts.append(np.array([3, 4, 5]))
    model._product_parts.append(np.array([1, 2, 2]))
    model._phase_satisfaction()
    if tolerance:  # 0.5 >= 0.75 - 0.25; 0.5 < 0.75 + ε - 0.25; ...; 0.75 >= 0.875 - 0.25; 0.75 >= 1 - 0.25
        want = [True, False, True, True, True, True]
    else:
        want = [False, False, True, True, False, False]
    np.testing.assert_array_equal(model._satisfied, want)
    np.testing.assert_array_equal(c.satisfied_last, np.array(want, dtype=np.int8))


def test_the_experience_gap_is_realized_quality_less_expectation_less_tolerance():
    realized, expectation = np.array([0.875, 0.5, 0.25]), np.array([0.5, 0.75, 0.5])
    got = judging.experience_gap(realized, expectation, 0.25)
    np.testing.assert_array_equal(got, [0.625, 0.0, 0.0])  # 0.875 - (0.5 - 0.25); then at the boundary: 0
    np.testing.assert_array_equal(got >= 0, judging.satisfied(realized, expectation, 0.25))


# =========================================================================== word of mouth
def test_talk_probability_dissatisfied_buyers_talk_mu_times_as_often_capped_at_one():
    sharing = np.array([0.1, 0.1, 0.4, 0.4, 0.25])
    satisfied = np.array([True, False, True, False, False])
    got = talking.talk_probability(sharing, 1.5, satisfied, 3.0)
    np.testing.assert_allclose(got, [0.15, 0.45, 0.6, 1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(talking.talk_probability(np.array([0.8]), 2.0, np.array([True]), 3.0), [1.0])


def test_word_of_mouth_sign_and_last_day():
    sign, until = talking.word_of_mouth(np.array([True, True, False, False]), np.array([True, False, True, False]),
                                        day=10, wom_days=30)
    np.testing.assert_array_equal(sign, [1, -1, 0, 0])
    np.testing.assert_array_equal(until, [40, 40, -1, -1])


def test_talking_states_code_silence_promoting_and_warning_by_merchant():
    promoters = np.array([False, True, False, True, False])
    warners = np.array([False, False, True, False, True])
    merchant = np.array([2, 0, 1, 2, 0], dtype=np.int16)
    got = talking.talking_states(promoters, warners, merchant, 3)
    # 0 silent; 1 + m promoting merchant m; 1 + M + m warning about it (M = 3)
    np.testing.assert_array_equal(got, [0, 1, 5, 3, 4])
    assert got.dtype == np.int16


def test_talking_is_live_through_the_last_day():
    until = np.array([40, 40, 39, 41, -1, 40])
    sign = np.array([1, -1, 1, -1, 1, 0])
    promoters, warners = talking.talking(until, sign, 40)
    np.testing.assert_array_equal(promoters, [True, False, False, False, False, False])
    np.testing.assert_array_equal(warners, [False, True, False, True, False, False])


def test_the_word_of_mouth_phase_uses_the_negative_multiplier():
    """μ = 3: dissatisfied buyers with s = 0.2 talk with probability 0.6, satisfied ones 0.2."""
    model = tiny(n=6, market={"negative_wom_multiplier": 3.0, "wom_days": 9})
    c = model.consumers
    c.sharing_propensity[:] = 0.2
    at_day(model, 12, wom=np.array([0.5, 0.5, 0.59, 0.61, 0.19, 0.0]))
    model._buyers, model._products = np.arange(6), np.zeros(6, dtype=np.int64)
    model._satisfied = np.array([True, False, False, False, True, False])
    model._phase_word_of_mouth()
    np.testing.assert_array_equal(c.wom_sign, [0, -1, -1, 0, 1, -1])
    np.testing.assert_array_equal(c.wom_until, [-1, 21, 21, -1, 21, 21])


@pytest.mark.parametrize("wom_days", [1, 4])
def test_word_of_mouth_is_live_for_wom_days_days_after_the_purchase(wom_days):
    """A promoter and a warner who talked on day 10 count in their friends' shares on days
    11 .. 10 + wom_days, no longer (docs/model.md, phase 2)."""
    n = 5
    model = tiny(n=n, days=30, market={"wom_days": wom_days, "negative_wom_multiplier": 5.0})
    c = model.consumers
    c.sharing_propensity[:] = 1.0
    at_day(model, 10, wom=np.full(n, 0.99))
    model._buyers, model._satisfied, model._products = np.array([0, 1]), np.array([True, False]), np.zeros(2, np.int64)
    model._phase_word_of_mouth()
    live = []
    for day in range(10, 10 + wom_days + 3):
        model.day = day
        model._word_of_mouth_shares()
        positive, negative = model.friends_shares(np.arange(n), np.zeros(n, np.int64))
        # on the complete graph, the share of friends of consumer 4: one of its 4 friends each way
        assert positive[4] == negative[4]
        live.append(positive[4] == 0.25)
    assert sum(live[1:]) == wom_days and live[1: 1 + wom_days] == [True] * wom_days
    assert not positive.any() and not negative.any()  # silent again


def test_friends_shares_count_promoters_and_warners_separately():
    model = tiny(n=6)
    c = model.consumers
    c.wom_sign[:] = [1, 1, -1, -1, 1, 0]
    c.wom_until[:] = [8, 7, 9, 8, 5, -1]  # on day 8: 0 promotes; 2 and 3 warn; 1 and 4 are silent again
    model.day = 8
    model._word_of_mouth_shares()
    positive, negative = model.friends_shares(np.arange(6), np.zeros(6, np.int64))
    np.testing.assert_allclose(positive, [0, 1, 1, 1, 1, 1] * np.array(1 / 5))
    np.testing.assert_allclose(negative, np.array([2, 2, 1, 1, 2, 2]) / 5)
    positive, negative = model.friends_shares(np.array([3, 0]), np.array([1, 2]))  # any consumers, in any order
    np.testing.assert_allclose(positive, [1 / 5, 0])
    np.testing.assert_allclose(negative, [1 / 5, 2 / 5])


# =========================================================================== hearing
def test_hazards_of_broadcast_and_word_of_mouth():
    np.testing.assert_allclose(hearing.broadcast_hazard(0.01, 2.0, np.array([0.5, 1.5])), [0.01, 0.03])
    # a tie of strength s carries beta = beta_w + s (beta_s - beta_w), as -ln(1 - beta)
    np.testing.assert_allclose(hearing.tie_weights(np.array([0.0, 1.0, 0.5], dtype=np.float32), 0.4, 0.1),
                               -np.log([0.9, 0.6, 0.75]), rtol=1e-6)
    np.testing.assert_allclose(hearing.tie_weights(None, 0.4, 0.1), -np.log(0.9))
    # two weak ties of beta 0.3 talking: 1 - 0.7^2; a^F = 0.5 halves the exponent: 1 - 0.7
    w = -np.log(0.7)
    np.testing.assert_allclose(hearing.word_of_mouth_hazard(np.array([2 * w, 2 * w, 0.0]), np.array([1.0, 0.5, 3.0])),
                               [0.51, 0.3, 0.0])


def test_one_uniform_decides_whether_and_from_whom_a_consumer_hears():
    """Independent channels: u < 1 - (1 - p)(1 - q); from the broadcast when u < p."""
    p = np.array([0.125, 0.125, 0.125, 0.125, 0.625, 0.0, 2.0])
    q = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.0, 0.0])  # 1 - 0.875 x 0.75 = 0.34375; 1 - 0.375 x 0.25
    u = np.array([0.0625, 0.125, 0.34, 0.34375, 0.9, 0.0, 0.999])
    heard, from_broadcast = hearing.hear(u, p, q)
    np.testing.assert_array_equal(heard, [True, True, True, False, True, False, True])
    np.testing.assert_array_equal(from_broadcast, [True, False, False, False, False, False, True])


def test_kol_posts_reach_all_followers_and_engage_with_the_kols_probability():
    # KOL 0 -> consumers 0, 2, 4; KOL 1 -> 1, 2; KOL 2 -> 2, 5
    graph = sp.csr_matrix((np.ones(7), ([0, 0, 0, 1, 1, 2, 2], [0, 2, 4, 1, 2, 2, 5])), shape=(3, 6))
    rng = np.random.default_rng(0)
    engaged, reach, engagements = hearing.engaged_followers(graph, [0, 2], np.array([1.0, 1.0]), rng)
    np.testing.assert_array_equal(engaged, [0, 2, 4, 5])
    assert (reach, engagements) == (5, 5)
    engaged, reach, engagements = hearing.engaged_followers(graph, [0, 1], np.array([0.0, 1.0]), rng)
    np.testing.assert_array_equal(engaged, [1, 2])
    assert (reach, engagements) == (5, 2)


@pytest.mark.parametrize("warner", [False, True])
def test_the_awareness_phase_sources_ads_then_friends(warner):
    """p = 0.1 x traffic 2 = 0.2; each talking friend (all ties weak on the complete graph)
    is a chance beta_w = 0.5: one promoter gives 1 - 0.8 x 0.5 = 0.6, a promoter and a
    warner 1 - 0.8 x 0.25 = 0.8 (negative word of mouth counts the same way). Heard from
    ads below 0.2, from friends below the total."""
    n = 7
    model = tiny(n=n, diffusion={"innovation": 0.1, "weak_tie": 0.5, "strong_tie": 0.9},
                 platform={"traffic_multiplier": 2.0})
    c = model.consumers
    c.ads_factor[:] = 1.0
    c.friends_factor[:] = 1.0
    c.aware[:2] = True  # a live promoter, and a warner or a silent customer
    c.aware_day[:2], c.aware_source[:2] = 1, SOURCE_ADS
    c.wom_sign[:2], c.wom_until[:2] = [1, -1], [30, 30 if warner else 5]
    model.n_aware = 2
    total = 0.8 if warner else 0.6
    at_day(model, 9, awareness=np.array([0.0, 0.0, 0.19, 0.21, total - 0.01, total + 0.01, 0.999]))
    model._phase_awareness()
    np.testing.assert_array_equal(c.aware, [True] * 5 + [False] * 2)
    np.testing.assert_array_equal(c.aware_source, [SOURCE_ADS] * 3 + [SOURCE_FRIENDS] * 2 + [0, 0])
    np.testing.assert_array_equal(c.aware_day, [1, 1, 9, 9, 9, -1, -1])
    assert model.n_aware == 5


# =========================================================================== churn
def test_churn_hazard_is_multiplied_after_a_bad_experience():
    got = churning.churn_hazard(0.02, np.array([-1, 0, 1], dtype=np.int8), 3.0)
    np.testing.assert_allclose(got, [0.02, 0.06, 0.02], rtol=1e-14)


def test_the_churn_phase_by_satisfaction():
    """c = 0.02, x 3 after a bad experience; hazards capped at 1; non-customers never churn."""
    model = tiny(n=7, market={"churn_hazard": 0.02, "dissatisfied_churn_multiplier": 3.0})
    c = model.consumers
    c.first_purchase_day[:] = [2, 2, 2, 2, -1, 2, 2]
    c.satisfied_last[:] = [1, 1, 0, 0, -1, 0, 0]
    c.churned[6] = True
    model.n_churned = 1
    at_day(model, 5, churn=np.array([0.019, 0.021, 0.059, 0.061, 0.0, 0.0, 0.0]))
    model._phase_churn()
    np.testing.assert_array_equal(c.churned, [True, False, True, False, False, True, True])
    assert model.n_churned == 4


def test_churn_hazard_above_one_always_churns():
    model = tiny(n=3, market={"churn_hazard": 0.5, "dissatisfied_churn_multiplier": 10.0})
    c = model.consumers
    c.first_purchase_day[:] = 1
    c.satisfied_last[:] = [0, 1, 1]
    at_day(model, 3, churn=np.array([0.9999, 0.4999, 0.5]))
    model._phase_churn()
    np.testing.assert_array_equal(c.churned, [True, True, False])


# =========================================================================== product choice
def shown(model: MarketModel, u) -> np.ndarray:
    at_day(model, model.day + 1, choice=np.asarray(u))
    return model._choose_products(np.arange(len(u)))


def test_uniform_allocation_shows_products_by_equal_shares():
    model = tiny(n=8, platform={"traffic_allocation": "uniform"})
    np.testing.assert_allclose(model.platform.traffic_share, [1 / 3] * 3)
    np.testing.assert_array_equal(shown(model, [0.0, 0.33, 0.34, 0.66, 0.67, 0.999, 0.5, 0.1]),
                                  [0, 0, 1, 1, 2, 2, 1, 0])


def test_quality_allocation_shares_are_quality_to_the_strength():
    model = tiny(n=4, platform={"traffic_allocation": "quality", "allocation_strength": 2.0})
    model.catalogue.quality[:] = [0.2, 0.4, 0.8]  # the platform's array: same object
    model._phase_platform()
    np.testing.assert_allclose(model.platform.traffic_share, np.array([1, 4, 16]) / 21)
    np.testing.assert_array_equal(shown(model, [0.04, 0.05, 0.23, 0.24, 0.999]), [0, 1, 1, 2, 2])


def test_popularity_allocation_shares_follow_orders_rich_get_richer():
    """w_j ∝ (1 + orders_j)^λ, re-allocated at the end of the day from the booked orders."""
    model = tiny(n=8, platform={"traffic_allocation": "popularity", "allocation_strength": 2.0})
    np.testing.assert_allclose(model.platform.traffic_share, [1 / 3] * 3)  # no orders yet
    at_day(model, 1)
    model.book_orders(np.arange(4), np.array([2, 2, 2, 0]))
    model._phase_platform()
    np.testing.assert_array_equal(model.platform.product_orders, [1, 0, 3])
    np.testing.assert_allclose(model.platform.traffic_share, np.array([4, 1, 16]) / 21)
    np.testing.assert_array_equal(shown(model, [0.1, 0.19, 0.2, 0.23, 0.24, 0.9]), [0, 0, 1, 1, 2, 2])
    strength1 = tiny(n=8, platform={"traffic_allocation": "popularity", "allocation_strength": 1.0})
    strength1.platform.book(np.array([0, 0, 1]), 0)
    strength1.platform.step()
    np.testing.assert_allclose(strength1.platform.traffic_share, np.array([3, 2, 1]) / 6)


def test_personalization_shows_the_best_match_to_a_share_phi_of_visitors():
    """φ = 0.5: u < φ sees its best match (u/φ draws for one with none), others (u - φ)/(1 - φ)."""
    model = tiny(n=8, platform={"personalization": 0.5})
    share = np.array([0.5, 0.25, 0.25])
    model.platform.traffic_share = share
    best = np.array([2, 1, -1, -1, 0, 0])
    u = np.array([0.1, 0.4, 0.1, 0.4, 0.6, 0.9])
    # unmatched draws: 0.2 -> 0, 0.8 -> 2 (u/φ); 0.2 -> 0, 0.8 -> 2 ((u - φ)/(1 - φ))
    np.testing.assert_array_equal(model.platform.show(u, best), [2, 1, 0, 2, 0, 2])
    np.testing.assert_array_equal(model.platform.show(u), [0, 0, 0, 0, 1, 2])


# =========================================================================== the consumers' arrays
def test_consumers_traits_are_drawn_clipped_and_scaled_relative_to_the_mean():
    spread = Distribution(dist="normal", mean=0.5, sd=0.6)
    cfg = PopulationConfig(size=400, price_sensitivity=Distribution(dist="normal", mean=1.0, sd=2.0),
                           quality_expectation=spread, trust_friends=spread, trust_kol=spread, trust_ads=spread,
                           sharing_propensity=spread, budget=Distribution(dist="normal", mean=1.0, sd=2.0))
    c = Consumers(400, cfg, np.random.default_rng(3))
    for name in ("quality_expectation", "trust_friends", "trust_kol", "trust_ads", "sharing_propensity"):
        values = getattr(c, name)
        assert values.dtype == np.float64 and values.min() == 0.0 and values.max() == 1.0, name
    for name in ("price_sensitivity", "budget"):  # not capped at 1, floored at 0
        values = getattr(c, name)
        assert values.dtype == np.float64 and values.min() == 0.0 and values.max() > 3.0, name
    np.testing.assert_allclose(c.ads_factor, c.trust_ads / c.trust_ads.mean(), rtol=1e-14)
    np.testing.assert_allclose(c.friends_factor, c.trust_friends / c.trust_friends.mean(), rtol=1e-14)
    assert c.friends_factor.mean() == pytest.approx(1.0) and c.n == 400


def test_consumers_start_unaware_and_never_bought():
    c = Consumers(5, PopulationConfig(trust_ads=Distribution(value=0.0)), np.random.default_rng(0))
    assert c.ads_factor.shape == (5,) and c.ads_factor.dtype == np.float64
    np.testing.assert_array_equal(c.ads_factor, np.ones(5))  # nobody trusts ads: factor 1, not 0 / 0
    expected = {"aware": (False, np.bool_), "aware_day": (-1, np.int32), "aware_source": (0, np.int8),
                "first_purchase_day": (-1, np.int32), "last_purchase_day": (-1, np.int32),
                "n_orders": (0, np.int32), "satisfied_last": (-1, np.int8), "wom_sign": (0, np.int8),
                "wom_until": (-1, np.int32), "wom_merchant": (0, np.int16), "last_merchant": (-1, np.int16),
                "kol_touch_day": (-1, np.int32), "churned": (False, np.bool_),
                "active": (False, np.bool_)}
    for name, (value, dtype) in expected.items():
        values = getattr(c, name)
        assert values.dtype == dtype and values.shape == (5,) and (values == value).all(), name
    assert not c.adopted.any()
    c.first_purchase_day[[1, 3]] = [0, 7]
    np.testing.assert_array_equal(c.adopted, [False, True, False, True, False])
