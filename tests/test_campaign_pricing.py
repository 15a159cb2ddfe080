"""The pricing family (scenarios/pricing.py): discount, threshold_discount, coupon,
flash_sale, new_user_subsidy. Zero intensity, directions, stock, expiry, budgets,
money to the fen, validation and the Hydra path."""

import numpy as np
import pandas as pd
import pytest

from conftest import base_frame, small_config
from sim.errors import ConfigError
from sim.model import MarketModel

OPTIONS = ("discount", "threshold_discount", "coupon", "flash_sale", "new_user_subsidy")
PRICING_COLUMNS = ("pricing_discounts", "pricing_coupons_issued", "pricing_coupons_redeemed",
                   "pricing_stockouts", "pricing_flash_units_sold", "pricing_subsidies")


def run(campaign=None, **overrides) -> MarketModel:
    return MarketModel(small_config(campaign=campaign or {}, **overrides)).run()


@pytest.fixture(scope="module")
def baseline():
    return run()


# ------------------------------------------------------------------ zero intensity
ZERO = {
    "discount": {"rate": 0.0, "announce_visit_prob": 0.5, "products": [0, 1]},
    "threshold_discount": {"off": 0.0, "threshold": 50.0},
    "coupon": {"value": 0.0, "issue_prob": 0.5, "reminder_visit_prob": 1.0},
    "flash_sale": {"rate": 0.0, "stock": 1, "visit_boost_prob": 0.5, "start_day": 5, "end_day": 40},
    "new_user_subsidy": {"value": 0.0},
}


@pytest.mark.parametrize("option", OPTIONS)
def test_zero_intensity_reproduces_the_baseline_exactly(option, baseline):
    model = run({option: ZERO[option]})
    pd.testing.assert_frame_equal(base_frame(model), base_frame(baseline), check_exact=True)
    pd.testing.assert_frame_equal(model.ledger.to_frame(), baseline.ledger.to_frame(), check_exact=True)
    frame = model.metrics.frame()
    assert (frame[list(PRICING_COLUMNS)] == 0).all().all()
    assert model.mechanisms[0].spent_cents == 0


def test_every_run_has_the_pricing_columns(baseline):
    frame = baseline.metrics.frame()
    assert set(PRICING_COLUMNS) <= set(frame.columns)
    assert (frame[list(PRICING_COLUMNS)] == 0).all().all()


# ------------------------------------------------------------------ discount
def test_a_deeper_discount_brings_more_orders(baseline):
    orders = [baseline.ledger.n_orders] + [run({"discount": {"rate": r}}).ledger.n_orders for r in (0.1, 0.3, 0.6)]
    assert orders == sorted(orders) and len(set(orders)) == 4


def test_limited_time_discount_only_in_its_window_and_only_on_its_products(baseline):
    model = run({"discount": {"rate": 0.2, "start_day": 20, "end_day": 30, "products": [0, 1, 2, 3, 4]}})
    orders = model.ledger.to_frame()
    discounted = orders[orders["discount_cents"] > 0]
    assert len(discounted) > 0
    assert discounted["day"].between(20, 30).all() and discounted["product"].isin([0, 1, 2, 3, 4]).all()
    expected = np.rint(discounted["value_cents"].to_numpy() * 0.2).astype(np.int64)
    assert (discounted["discount_cents"].to_numpy() == expected).all()
    # common random numbers: the days before the window are the baseline's
    pd.testing.assert_frame_equal(base_frame(model).iloc[:19], base_frame(baseline).iloc[:19], check_exact=True)


def test_announcement_brings_visits_on_the_first_day_to_the_discounted_products(baseline):
    model = run({"discount": {"rate": 0.2, "start_day": 20, "end_day": 25, "products": [3],
                              "announce_visit_prob": 0.5}})
    a, b = model.metrics.frame(), baseline.metrics.frame()
    assert a.loc[a.day == 20, "active_users"].item() > 1.5 * b.loc[b.day == 20, "active_users"].item()
    orders = model.ledger.to_frame()
    base_orders = baseline.ledger.to_frame()
    assert ((orders.day == 20) & (orders["product"] == 3)).sum() > 3 * ((base_orders.day == 20)
                                                                         & (base_orders["product"] == 3)).sum()


# ------------------------------------------------------------------ coupon
def test_coupon_redemption_is_a_rate_and_follows_from_behaviour():
    model = run({"coupon": {}})
    s = model.summary()
    assert 0 < s["coupons_redeemed"] <= s["coupons_issued"]
    assert 0 < s["coupon_redemption_rate"] < 1
    assert s["coupon_redemption_rate"] == pytest.approx(s["coupons_redeemed"] / s["coupons_issued"])
    mech = model.mechanisms[0]
    assert mech.spent_cents == s["coupons_redeemed"] * 1000  # every redeemed coupon is worth its value
    frame = model.metrics.frame()
    assert frame["pricing_coupons_issued"].sum() == s["coupons_issued"]
    assert frame["pricing_coupons_redeemed"].sum() == s["coupons_redeemed"]
    # a coupon applies only to orders reaching its threshold (¥50) before it
    orders = model.ledger.to_frame()
    with_coupon = orders[orders["discount_cents"] > 0]
    assert len(with_coupon) == s["coupons_redeemed"]
    assert (with_coupon["value_cents"] >= 5000).all() and (with_coupon["discount_cents"] == 1000).all()


def test_coupons_are_never_redeemed_after_expiry():
    model = run({"coupon": {"end_day": 20, "validity_days": 5, "issue_prob": 0.05}})
    log = model.mechanisms[0].redemptions()
    day, issued, last = log[:, 0], log[:, 2], log[:, 3]
    assert len(log) > 0
    assert (day >= issued).all() and (day <= last).all() and (last - issued == 4).all()
    redeemed = model.metrics.frame().set_index("day")["pricing_coupons_redeemed"]
    assert redeemed.loc[21:24].sum() > 0  # coupons outlive the issuing window by their validity
    assert redeemed.loc[25:].sum() == 0  # the last ones expire on day 24


def test_a_one_day_coupon_is_redeemed_on_its_issue_day_only():
    model = run({"coupon": {"validity_days": 1, "issue_prob": 0.05}})
    log = model.mechanisms[0].redemptions()
    assert len(log) > 0 and (log[:, 0] == log[:, 2]).all()


def test_coupons_to_price_sensitive_consumers_redeem_better_than_to_the_others():
    segments = {"sensitive": {"segment_min_quantile": 0.5}, "insensitive": {"segment_max_quantile": 0.5}}
    issued = dict.fromkeys(segments, 0)
    redeemed = dict.fromkeys(segments, 0)
    for seed in (1, 2, 3):
        for name, quantiles in segments.items():
            s = run({"coupon": {"value": 30.0, "threshold": 30.0, "target": "segment",
                                "segment_trait": "price_sensitivity", **quantiles}}, seed=seed).summary()
            issued[name] += s["coupons_issued"]
            redeemed[name] += s["coupons_redeemed"]
    rate = {k: redeemed[k] / issued[k] for k in segments}
    assert rate["sensitive"] > rate["insensitive"] + 0.03


def test_coupons_to_customers_redeem_better_than_blanket_coupons():
    totals = {"blanket": [0, 0], "customers": [0, 0]}
    for seed in (1, 2, 3):
        for name, extra in (("blanket", {}), ("customers", {"target": "customers"})):
            s = run({"coupon": extra}, seed=seed).summary()
            totals[name][0] += s["coupons_issued"]
            totals[name][1] += s["coupons_redeemed"]
    rate = {k: r / i for k, (i, r) in totals.items()}
    assert rate["customers"] > rate["blanket"]


def test_lapsed_coupons_go_only_to_lapsed_customers():
    model = MarketModel(small_config(campaign={"coupon": {"lapsed_days": 10, "issue_prob": 0.2}}))
    for _ in range(40):
        before = model.consumers.last_purchase_day.copy()
        model.step()
        mech = model.mechanisms[0]
        got = np.flatnonzero(mech.issue_day == model.day)
        assert (before[got] >= 0).all() and (model.day - before[got] >= 10).all()
    assert model.summary()["coupons_issued"] > 0


# ------------------------------------------------------------------ flash sale
def test_flash_units_never_exceed_stock_and_stockouts_happen_when_stock_is_small():
    stock, products = 3, [0, 5]
    model = run({"flash_sale": {"stock": stock, "products": products, "start_day": 10, "end_day": 14,
                                "visit_boost_prob": 0.3}})
    orders = model.ledger.to_frame()
    flash = orders[orders["discount_cents"] > 0]
    per_day_product = flash.groupby(["day", "product"]).size()
    assert len(flash) > 0 and per_day_product.max() <= stock
    assert set(flash["product"]) <= set(products) and flash["day"].between(10, 14).all()
    price = model.catalogue.list_price_cents[flash["product"].to_numpy()]
    assert (flash["discount_cents"].to_numpy() == np.rint(price * 0.5)).all()
    s = model.summary()
    assert s["flash_units_sold"] == len(flash) <= stock * len(products) * 5
    assert s["flash_stockouts"] > 0
    # visitors who missed the flash price decided again at the list price; some still bought
    on_sale = orders["day"].between(10, 14) & orders["product"].isin(products)
    assert (on_sale & (orders["discount_cents"] == 0)).sum() > 0


def test_flash_sale_with_no_stock_sells_nothing_at_the_flash_price():
    model = run({"flash_sale": {"stock": 0}})
    s = model.summary()
    assert s["flash_units_sold"] == 0 and s["flash_stockouts"] > 0 and model.ledger.discount_cents == 0


# ------------------------------------------------------------------ threshold discount
def test_threshold_discount_raises_aov_with_top_ups(baseline):
    threshold, off, max_units = 100.0, 15.0, 3
    model = run({"threshold_discount": {"threshold": threshold, "off": off, "max_units": max_units,
                                        "topup_prob": 1.0}})
    orders = model.ledger.to_frame()
    discounted = orders[orders["discount_cents"] > 0]
    assert (orders["quantity"] > 1).any() and orders["quantity"].max() <= max_units
    assert (discounted["value_cents"] >= threshold * 100).all()  # discount only on orders reaching the threshold
    assert (discounted["discount_cents"] == off * 100).all()
    assert (orders.loc[orders["value_cents"] < threshold * 100, "discount_cents"] == 0).all()
    assert (orders.loc[orders["quantity"] > 1, "discount_cents"] > 0).all()  # top-ups are for the deal
    assert model.summary()["aov"] > 1.2 * baseline.summary()["aov"]
    assert model.summary()["pricing_by_option"]["threshold_discount"]["topup_orders"] == (orders["quantity"] > 1).sum()


# ------------------------------------------------------------------ new-user subsidy
def test_new_user_subsidy_goes_to_first_orders_only(baseline):
    model = run({"new_user_subsidy": {"value": 8.0}})
    orders = model.ledger.to_frame()
    subsidized = orders[orders["discount_cents"] > 0]
    first = orders.groupby("consumer")["day"].transform("min") == orders["day"]
    assert len(subsidized) > 0 and first[subsidized.index].all()
    assert subsidized["consumer"].is_unique and (subsidized["discount_cents"] <= 800).all()
    s = model.summary()
    assert s["subsidies"] == pytest.approx(subsidized["discount_cents"].sum() / 100)
    assert s["discounts_granted"] == 0
    assert model.metrics.frame()["pricing_subsidies"].sum() == pytest.approx(s["subsidies"])
    assert s["customers"] > baseline.summary()["customers"]


# ------------------------------------------------------------------ money
BUDGETS = {
    "discount": {"rate": 0.3, "budget": 500.0},
    "threshold_discount": {"budget": 300.0},
    "coupon": {"issue_prob": 0.1, "budget": 200.0},
    "flash_sale": {"stock": 1000, "start_day": 5, "end_day": 50, "budget": 100.0},
    "new_user_subsidy": {"value": 20.0, "budget": 150.0},
}


@pytest.mark.parametrize("option", OPTIONS)
def test_budget_is_never_exceeded_and_money_balances_to_the_fen(option):
    model = run({option: BUDGETS[option]})
    mech = model.mechanisms[0]
    assert mech.exhausted and 0 < mech.spent_cents <= mech.budget_cents
    led, orders = model.ledger, model.ledger.to_frame()
    assert mech.spent_cents == led.discount_cents == orders["discount_cents"].sum()
    assert (orders["value_cents"] == orders["merchant_revenue_cents"] + orders["commission_cents"]
            + orders["discount_cents"]).all()
    assert led.gmv_cents == led.merchant_revenue_cents + led.commission_cents + led.discount_cents
    frame = model.metrics.frame()
    assert frame["campaign_cost"].sum() == pytest.approx(mech.spent_cents / 100)
    assert (frame["pricing_discounts"] + frame["pricing_subsidies"]).sum() == pytest.approx(mech.spent_cents / 100)
    s = model.summary()
    assert s["campaign_cost"] == {"pricing": mech.spent_cents / 100}
    assert s["pricing_orders"] == (orders["discount_cents"] > 0).sum()
    carrying = orders[orders["discount_cents"] > 0]
    cost = model.catalogue.unit_cost_cents[carrying["product"].to_numpy()] * carrying["quantity"].to_numpy()
    assert s["pricing_margin"] == pytest.approx((carrying["merchant_revenue_cents"].sum() - cost.sum()) / 100)


def test_two_pricing_options_together_each_pays_its_own():
    rate, value = 0.1, 10.0
    model = run({"discount": {"rate": rate}, "coupon": {"value": value, "issue_prob": 0.05}})
    discount, coupon = model.mechanism["discount"], model.mechanism["coupon"]
    orders = model.ledger.to_frame()
    own_discounts = np.rint(orders["value_cents"].to_numpy() * rate).astype(np.int64).sum()
    s = model.summary()
    assert discount.spent_cents == own_discounts  # every order carries the 10 % discount
    assert coupon.spent_cents == s["coupons_redeemed"] * value * 100 > 0
    assert discount.spent_cents + coupon.spent_cents == model.ledger.discount_cents
    assert s["discounts_granted"] == pytest.approx(model.ledger.discount_cents / 100)
    assert set(s["pricing_by_option"]) == {"discount", "coupon"}
    assert s["pricing_by_option"]["coupon"]["cost"] == coupon.spent_cents / 100
    assert s["campaign_cost"] == {"pricing": model.ledger.discount_cents / 100}


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("campaign, key", [
    ({"discount": {"rate": 1.0}}, "campaign.discount.rate"),
    ({"discount": {"rate": -0.1}}, "campaign.discount.rate"),
    ({"discount": {"products": [-1]}}, "campaign.discount.products"),
    ({"discount": {"announce_visit_prob": 1.5}}, "campaign.discount.announce_visit_prob"),
    ({"discount": {"start_day": 20, "end_day": 10}}, "campaign.discount.end_day"),
    ({"threshold_discount": {"threshold": 10.0, "off": 20.0}}, "campaign.threshold_discount.threshold"),
    ({"threshold_discount": {"off": -5.0}}, "campaign.threshold_discount.off"),
    ({"threshold_discount": {"max_units": 0}}, "campaign.threshold_discount.max_units"),
    ({"coupon": {"validity_days": 0}}, "campaign.coupon.validity_days"),
    ({"coupon": {"value": -1.0}}, "campaign.coupon.value"),
    ({"coupon": {"threshold": -1.0}}, "campaign.coupon.threshold"),
    ({"coupon": {"issue_prob": 2.0}}, "campaign.coupon.issue_prob"),
    ({"coupon": {"lapsed_days": 0}}, "campaign.coupon.lapsed_days"),
    ({"coupon": {"lapsed_days": 10, "target": "new_users"}}, "campaign.coupon.lapsed_days"),
    ({"coupon": {"reminder_visit_prob": 1.1}}, "campaign.coupon.reminder_visit_prob"),
    ({"threshold_discount": {"topup_prob": -0.5}}, "campaign.threshold_discount.topup_prob"),
    ({"coupon": {"budget": -3}}, "campaign.coupon.budget"),
    ({"flash_sale": {"stock": -1}}, "campaign.flash_sale.stock"),
    ({"flash_sale": {"rate": 1.5}}, "campaign.flash_sale.rate"),
    ({"flash_sale": {"visit_boost_prob": -0.1}}, "campaign.flash_sale.visit_boost_prob"),
    ({"new_user_subsidy": {"value": -2.0}}, "campaign.new_user_subsidy.value"),
    ({"new_user_subsidy": {"target": "customers"}}, "campaign.new_user_subsidy.target"),
])
def test_bad_parameters_are_refused_by_name(campaign, key):
    with pytest.raises(ConfigError) as info:
        small_config(campaign=campaign)
    assert info.value.key == key and "\n" not in str(info.value)


def test_products_outside_the_catalogue_are_refused_by_name():
    with pytest.raises(ConfigError) as info:
        MarketModel(small_config(campaign={"flash_sale": {"products": [0, 99]}}))
    assert info.value.key == "campaign.flash_sale.products"


# ------------------------------------------------------------------ Hydra
@pytest.mark.parametrize("option", OPTIONS)
def test_hydra_path_builds_the_option_with_its_defaults(option):
    from experiments.batch import compose
    from scenarios.registry import MECHANISMS

    config = compose([f"campaign={option}", "days=40", "population.size=1000"]).config
    settings_cls = MECHANISMS[option].settings
    assert config.campaign.mechanisms == ((option, settings_cls()),)  # the YAML holds the dataclass defaults
    summary = MarketModel(config).run().summary()
    assert summary["campaigns"] == [option] and "pricing_by_option" in summary


def test_hydra_path_two_options_and_an_override():
    from experiments.batch import compose

    config = compose(["campaign=[discount,threshold_discount]", "campaign.threshold_discount.off=20",
                      "campaign.discount.rate=0.25"]).config
    assert config.campaign.keys == ("discount", "threshold_discount")
    settings = dict(config.campaign.mechanisms)
    assert settings["threshold_discount"].off == 20.0 and settings["discount"].rate == 0.25
