"""Ratings and reviews per product, and word of mouth and experience attached to the merchant
(issue 11): the rules against their equations, the reviews' delay and prior, merchants.parquet,
and the directions under common random numbers (docs/model.md, *Reviews and reputation*)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents import reviewing
from conftest import small_config
from sim.build import build_config
from sim.config import ReviewsConfig
from sim.errors import ConfigError
from sim.model import MarketModel
from sim.outputs import write_run
from sim.reviews import ProductReviews


# =========================================================================== rules
def test_review_probability_is_j_shaped_in_the_experience_gap():
    gap = np.array([-0.5, -0.1, 0.0, 0.1, 0.5, 2.0])
    np.testing.assert_allclose(reviewing.review_probability(gap, 0.15, 1.0), [0.65, 0.25, 0.15, 0.25, 0.65, 1.0])
    np.testing.assert_allclose(reviewing.review_probability(gap, 0.15, 0.0), 0.15)


def test_stars_from_the_gap():
    gap = np.array([-0.3, -0.2, -0.19, -1e-9, 0.0, 0.19, 0.2, 0.9])
    assert reviewing.stars(gap, 0.2).tolist() == [1, 1, 2, 2, 4, 4, 5, 5]
    assert reviewing.stars(gap, 0.2).dtype == np.int8  # one byte a review
    assert reviewing.stars(gap, 0.0).tolist() == [1, 1, 1, 1, 5, 5, 5, 5]


def test_displayed_rating_is_a_running_mean_with_a_prior():
    got = reviewing.displayed_rating(np.array([0.0, 10.0, 100.0]), np.array([0, 2, 20]), 4.0, 10.0)
    np.testing.assert_allclose(got, [4.0, 50 / 12, 140 / 30])


def test_low_ratings_weigh_more_and_the_weight_grows_with_the_count():
    rating, count = np.array([4.5, 3.5, 3.5, 4.0]), np.array([50.0, 50.0, 150.0, 0.0])
    got = reviewing.rating_utility(rating, 4.0, count, 0.5, 1.5, 50.0)
    np.testing.assert_allclose(got, [0.5 * 0.5 * 0.5, -0.5 * 1.5 * 0.5, -0.75 * 1.5 * 0.5, 0.0])
    assert abs(got[1]) > got[0]  # the same half star below costs more than above gains
    assert got[2] < got[1]  # more reviews, more weight


def test_word_of_mouth_about_one_merchant_spills_over_by_a_share():
    own, every = np.array([2.0, 0.0, 3.0]), np.array([5.0, 4.0, 3.0])
    np.testing.assert_allclose(reviewing.attached_share(own, every, 0.25), [2.75, 1.0, 3.0])
    np.testing.assert_array_equal(reviewing.attached_share(own, every, 1.0), every)
    np.testing.assert_array_equal(reviewing.attached_share(own, every, 0.0), own)


def test_reviews_show_after_the_delay_and_fakes_can_be_taken_down():
    reviews = ProductReviews(3, ReviewsConfig(delay_days=2, prior_rating=4.0, prior_weight=10.0))
    reviews.post(5, np.array([0, 0, 2]), np.array([5, 1, 4]))
    reviews.post(5, np.array([1, 1]), np.array([5, 5]), fake=True)
    for day in (5, 6):
        reviews.show(day)
        assert reviews.shown_count.sum() == 0 and (reviews.rating() == 4.0).all()
    reviews.show(7)
    assert reviews.posted_today == 5 and reviews.count.tolist() == [2, 0, 1] and reviews.fake_count.tolist() == [0, 2, 0]
    np.testing.assert_allclose(reviews.rating(), [46 / 12, 50 / 12, 44 / 11])
    reviews.post(7, np.array([1]), np.array([5]), fake=True)
    assert reviews.remove_fakes(np.array([1])) == 3  # two shown, one not yet
    reviews.show(9)
    assert reviews.fake_count.sum() == 0 and reviews.rating()[1] == 4.0  # the pending fake was taken down too


@pytest.mark.parametrize("key, value", [("prior_rating", 6.0), ("review_prob", 1.5), ("count_half", 0.0),
                                        ("wom_spillover", -0.1), ("delay_days", -1)])
def test_bad_review_keys_are_refused_in_one_line(key, value):
    with pytest.raises(ConfigError, match=rf"^reviews\.{key}"):
        build_config(reviews={key: value})


# =========================================================================== the model
def test_reviews_follow_the_buyers_and_merchants_parquet_adds_up(tmp_path):
    model = MarketModel(small_config(days=40, population={"size": 3000}))
    model.run()
    daily = model.metrics.frame()
    written = int(daily["reviews"].sum())
    shown = int(model.reviews.shown_count.sum())
    assert 0 < shown <= written and written - shown == int(daily["reviews"].iloc[-3:].sum())  # last 3 days pending
    assert 0.1 < written / int(daily["orders"].sum()) < 0.6
    write_run(model, tmp_path)
    merchants = pd.read_parquet(tmp_path / "merchants.parquet")
    assert list(merchants.columns) == ["day", "merchant", "gmv", "orders", "rating", "reviews", "returns", "refunds"]
    assert len(merchants) == 40 * model.config.market.merchants
    led = model.ledger.to_frame()
    by_merchant = led.groupby("merchant").value_cents.sum()
    np.testing.assert_array_equal((merchants.groupby("merchant").gmv.sum() * 100).round().astype(np.int64),
                                  by_merchant.reindex(range(model.config.market.merchants), fill_value=0))
    assert merchants.orders.sum() == len(led)
    refunds = model.ledger.refunds()
    assert merchants.returns.sum() == len(refunds["row"]) == model.summary()["returns"] > 0
    assert round(merchants.refunds.sum() * 100) == refunds["refund_cents"].sum()
    assert merchants[merchants.day == 40].reviews.sum() == shown
    assert 1.0 <= merchants.rating.min() and merchants.rating.max() <= 5.0


def run(seed=0, days=60, size=4000, **groups):
    return MarketModel(small_config(days=days, seed=seed, population={"size": size}, **groups)).run()


def test_without_weights_or_attachment_reviews_change_nothing_but_themselves():
    """Rating weights 0 and full spill-over: the purchases are those of a market without
    reviews (the review stream is its own: common random numbers)."""
    neutral = {"high_rating_weight": 0.0, "low_rating_weight": 0.0, "wom_spillover": 1.0, "experience_spillover": 1.0}
    a = MarketModel(small_config(days=30, population={"size": 2000}, reviews=neutral))
    b = MarketModel(small_config(days=30, population={"size": 2000}, reviews={**neutral, "review_prob": 0.9}))
    a.run(), b.run()
    pd.testing.assert_frame_equal(a.ledger.to_frame(), b.ledger.to_frame())
    assert b.reviews.shown_count.sum() > 2 * a.reviews.shown_count.sum()


def merchant_gmv(model):
    return model.merchant_days.frame().groupby("merchant").gmv.sum().to_numpy()


def test_an_incident_costs_its_merchant_several_times_what_it_costs_rivals():
    focal, rival = [], []
    for seed in range(2):
        base = merchant_gmv(run(seed))
        hit = merchant_gmv(run(seed, campaign={"quality_incident": {"products": [0, 1, 2, 3], "start_day": 20,
                                                                     "end_day": 34}}))
        focal.append(1 - hit[0] / base[0])
        rival.append(1 - hit[1:].sum() / base[1:].sum())
    assert np.mean(focal) > 0.08
    assert np.mean(focal) > 3 * max(np.mean(rival), 0.0)
    # without reviews and with word of mouth and experience spread over every merchant, as before
    flat = {"high_rating_weight": 0.0, "low_rating_weight": 0.0, "wom_spillover": 1.0, "experience_spillover": 1.0}
    base = merchant_gmv(run(0, reviews=flat))
    hit = merchant_gmv(run(0, reviews=flat, campaign={"quality_incident": {"products": [0, 1, 2, 3], "start_day": 20,
                                                                            "end_day": 34}}))
    assert 1 - hit[0] / base[0] < np.mean(focal) / 2


def test_better_rated_products_gain_share_over_time():
    """Late orders lean towards the products rated above the mean, more with ratings in utility."""
    def late_share_of_top(model):
        top = model.reviews.rating() > np.median(model.reviews.rating())
        led = model.ledger.to_frame()
        late = led[led.day > 40]
        return top[late["product"].to_numpy()].mean(), top

    gains = []
    for seed in range(3):  # one seed's gain ranges 0.01-0.05 at this size
        with_ratings, _ = late_share_of_top(run(seed, days=80))
        without, _ = late_share_of_top(run(seed, days=80, reviews={"high_rating_weight": 0.0,
                                                                   "low_rating_weight": 0.0}))
        gains.append(with_ratings - without)
    assert min(gains) > 0
    assert np.mean(gains) > 0.02


# =========================================================================== crisis response, fakes, KOC
INCIDENT = {"products": [0, 1, 2, 3], "start_day": 20, "end_day": 34, "response_delay": 2}


def merchant_rating(model, merchant=0):
    frame = model.merchant_days.frame()
    return frame[frame.merchant == merchant].set_index("day").rating


def test_an_apology_with_compensation_recovers_the_rating_faster_than_silence_at_its_cost():
    silence = run(0, size=6000, campaign={"quality_incident": INCIDENT})
    apology = run(0, size=6000, campaign={"quality_incident": {**INCIDENT, "response": "apology"}})
    before = merchant_rating(silence).loc[19]
    assert merchant_rating(apology).loc[19] == before  # the same market until the incident
    loss = before - merchant_rating(silence).loc[35:45].mean()
    assert loss > 0.3
    assert merchant_rating(apology).loc[35:45].mean() > merchant_rating(silence).loc[35:45].mean() + 0.02
    s = apology.summary()
    assert s["incident_compensated"] > 0 and s["incident_response_cost"] == s["incident_compensated"] * 20.0
    assert 0.3 < s["incident_recovered"] / s["incident_compensated"] < 0.7  # recovery_share 0.5
    assert silence.summary()["incident_response_cost"] == 0.0
    pay = apology.payments.to_frame()
    assert (pay.kind == "compensation").all() and pay.day.min() == 22  # from the response day
    assert pay.amount_cents.sum() == s["incident_response_cost"] * 100


def test_a_recall_ends_the_drop_and_refunds_every_affected_order():
    recall = run(0, size=6000, campaign={"quality_incident": {**INCIDENT, "response": "recall"}})
    silence = run(0, size=6000, campaign={"quality_incident": INCIDENT})
    led = recall.ledger.to_frame()
    affected = led[(led["product"] < 4) & (led.day >= 20) & (led.day <= 22)]  # sold before the recall on day 22
    paid = (affected.value_cents - affected.discount_cents).sum()
    journal = recall.ledger.refunds()
    assert len(np.unique(journal["row"])) == len(journal["row"])  # each order refunded once
    assert np.isin(affected.index.to_numpy(), journal["row"]).all()  # every affected order is refunded
    s = recall.summary()
    recalled = journal["refund_cents"][(journal["day"] >= 22) & np.isin(journal["row"], affected.index.to_numpy())]
    assert 0 < s["incident_refunds"] * 100 <= recalled.sum() <= paid  # with the ordinary returns of days 22+
    assert s["incident_response_cost"] == s["incident_refunds"]
    assert recall.payments.to_frame().empty  # refunds go through the ledger, not as campaign cash
    assert merchant_rating(recall).loc[40] > merchant_rating(silence).loc[40] + 0.2


def test_fake_reviews_raise_sales_until_detected_then_lose_them():
    def gmv(model):
        frame = model.merchant_days.frame()
        return frame[frame.merchant == 0].set_index("day").gmv
    fake = {"products": [0, 1, 2, 3], "reviews_per_day": 20, "detection_prob": 0.0, "audit_day": 40, "start_day": 5}
    base, faked = run(0, days=70), run(0, days=70, campaign={"fake_reviews": fake})
    assert gmv(faked).loc[5:39].sum() > 1.02 * gmv(base).loc[5:39].sum()
    assert gmv(faked).loc[41:69].sum() < 0.8 * gmv(base).loc[41:69].sum()  # taken down and demoted 30 days
    s = faked.summary()
    assert s["fake_reviews_detected_day"] == 40 and s["fake_reviews_bought"] == 35 * 20
    assert s["fake_reviews_removed"] == s["fake_reviews_bought"] and faked.reviews.fake_count.sum() == 0
    assert s["fake_reviews_cost"] == 35 * 20 * 8.0
    never = run(0, days=70, campaign={"fake_reviews": {**fake, "audit_day": None}})
    assert never.summary()["fake_reviews_detected_day"] is None and never.reviews.fake_count.sum() > 0


def test_koc_rewards_add_reviews_of_the_products_bought():
    base = run(0, days=40, size=3000)
    koc = run(0, days=40, size=3000, campaign={"koc_reviews": {}})
    rewarded = koc.summary()["koc_reviews_rewarded"]
    extra = int(koc.metrics.frame().reviews.sum()) - int(base.metrics.frame().reviews.sum())
    assert rewarded > 0 and 0 < extra <= rewarded  # some rewarded buyers had rated anyway


def test_a_returned_order_is_rated_as_a_disappointment():
    gap = np.array([0.3, 0.05, -0.05, -0.3])
    kept = reviewing.rated_gap(gap, np.array([True, True, False, False]))
    np.testing.assert_array_equal(kept, gap)
    returned = reviewing.rated_gap(gap, np.array([False, False, False, False]))  # all sent back
    assert reviewing.stars(returned, 0.2).tolist() == [2, 2, 2, 1]
    # goods exactly at the threshold (g = 0, satisfied by them) sent back: rated just below it, 2 stars
    at_threshold = reviewing.rated_gap(np.array([0.0, 0.0]), np.array([False, True]))
    np.testing.assert_array_equal(at_threshold, [-1e-9, 0.0])
    assert reviewing.stars(at_threshold, 0.2).tolist() == [2, 4]
    np.testing.assert_allclose(reviewing.review_probability(returned, 0.15, 1.0), [0.15, 0.15, 0.2, 0.45])
