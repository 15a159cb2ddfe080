"""The daily market model: reproducibility, money balance, invariants, directions."""

import numpy as np
import pandas as pd
import pytest

from conftest import small_config
from sim.metrics import DAILY_COLUMNS
from sim.model import MARKET_PHASES, MarketModel


def test_same_seed_gives_identical_outputs_bit_for_bit(default_run):
    again = MarketModel(small_config()).run()
    pd.testing.assert_frame_equal(default_run.metrics.frame(), again.metrics.frame(), check_exact=True)
    assert default_run.summary() == again.summary()
    pd.testing.assert_frame_equal(default_run.ledger.to_frame(), again.ledger.to_frame(), check_exact=True)
    for name in ("first_purchase_day", "churned", "wom_sign", "price_sensitivity"):
        assert np.array_equal(getattr(default_run.consumers, name), getattr(again.consumers, name))


def test_another_seed_draws_other_days_in_the_same_market():
    """``seed`` draws the days, ``market_seed`` the market: with the market pinned, another
    seed keeps consumers, network and catalogue and changes every phase's draws, and the
    two runs are the same market in distribution; without it, the market changes too."""
    one, two = (MarketModel(small_config(seed=s, market_seed=1, days=30)) for s in (1, 2))
    for name in one.consumers.TRAITS:
        assert np.array_equal(getattr(one.consumers, name), getattr(two.consumers, name)), name
    assert (one.network.adjacency != two.network.adjacency).nnz == 0
    assert np.array_equal(one.catalogue.list_price_cents, two.catalogue.list_price_cents)
    assert np.array_equal(one.catalogue.quality, two.catalogue.quality)
    one.step()
    two.step()
    streams = ("awareness", "reshare", "visits", "choice", "purchase", "churn")
    assert set(one._uniforms) == set(two._uniforms) == set(streams)
    for stream in streams:  # every phase draws anew
        assert not np.array_equal(one._uniforms[stream], two._uniforms[stream]), stream
    everyone = np.arange(one.n)
    for stream in ("satisfaction", "returns", "review", "wom"):  # the buyers' phases: counter-based
        assert not np.array_equal(one.uniforms_of(stream, everyone), two.uniforms_of(stream, everyone)), stream
    a, b = one.run().summary(), two.run().summary()
    assert one.metrics.frame()["orders"].tolist() != two.metrics.frame()["orders"].tolist()
    for key in ("aware", "customers", "orders"):
        assert abs(a[key] - b[key]) < 0.15 * a[key], key
    other_market = MarketModel(small_config(seed=2, days=30))
    assert not np.array_equal(other_market.consumers.budget, one.consumers.budget)


def test_money_balances_to_the_cent(default_run):
    led = default_run.ledger
    orders = led.to_frame()
    gmv = int(orders["value_cents"].sum())
    assert gmv == led.gmv_cents > 0
    # merchant revenue + platform commission + discounts = GMV, in integer cents
    assert int(orders["merchant_revenue_cents"].sum()) + int(orders["commission_cents"].sum()) \
        + int(orders["discount_cents"].sum()) == gmv
    # the agents' books agree with the ledger
    assert sum(m.revenue_cents for m in default_run.merchants) == led.net_merchant_revenue_cents
    assert default_run.platform.commission_cents == led.net_commission_cents
    # the daily metrics add up to the same totals (yuan, exact to the cent)
    daily = default_run.metrics.frame()
    assert round(daily["gmv"].sum() * 100) == gmv
    assert round((daily["merchant_revenue"] + daily["commission"] + daily["discounts"]).sum() * 100) == gmv
    # commission is the rounded rate times the paid amount, order by order
    rate = default_run.config.platform.commission_rate
    paid = orders["value_cents"] - orders["discount_cents"]
    assert (orders["commission_cents"] == np.round(paid * rate)).all()
    summary = default_run.summary()
    assert summary["gmv"] == gmv / 100
    assert summary["aov"] == pytest.approx(gmv / 100 / summary["orders"])


def test_daily_metrics_shape_and_invariants(default_run):
    daily = default_run.metrics.frame()
    assert list(daily.columns) == list(DAILY_COLUMNS + default_run.metrics.campaign_columns)
    assert (daily[list(default_run.metrics.campaign_columns)] == 0).all().all()
    assert daily["day"].tolist() == list(range(1, 61))
    n = default_run.n
    assert (np.diff(daily["adopters"]) >= 0).all() and (np.diff(daily["aware"]) >= 0).all()
    assert (daily["adopters"] <= daily["aware"]).all() and (daily["aware"] <= n).all()
    assert (daily["buyers"] <= daily["active_users"]).all()
    assert (daily["orders"] == daily["new_customers"] + daily["repeat_buyers"]).all()
    assert daily["new_customers"].cumsum().tolist() == daily["adopters"].tolist()
    assert daily["adopters"].iloc[-1] == default_run.summary()["customers"] == (default_run.consumers.first_purchase_day >= 0).sum()


def test_a_day_runs_its_phases_and_hooks_in_the_schedule_order():
    """The order of a step is the table MARKET_DAY: record what one day actually calls."""
    model = MarketModel(small_config(days=3, campaign={"coupon": {"issue_prob": 0.5}}))
    calls = []
    for name in MARKET_PHASES:
        method = getattr(model, f"_phase_{name}")
        setattr(model, f"_phase_{name}", lambda method=method, name=name: (calls.append(name), method())[1])
    hook = model.hook
    model.hook = lambda name, *args: (calls.append(f"hook:{name}"), hook(name, *args))[1]
    model.step()
    assert [c for c in calls if c != "hook:on_orders"] == [
        "reputation", "hook:start_day", "kol_posts", "hook:post_content", "awareness", "hook:outreach", "visits",
        "purchases", "hook:adjust_offer", "satisfaction", "returns", "reviews", "word_of_mouth", "churn",
        "hook:end_day", "platform"]
    assert calls.index("hook:on_orders") > calls.index("purchases")  # orders booked while buying reach them


def test_hooks_act_outside_the_window_only_where_a_mechanism_says_so():
    """Coupons outlive their campaign: a coupon still rations its spend after its window,
    a discount adds no more offers."""
    model = MarketModel(small_config(days=10, campaign={"coupon": {"end_day": 2}, "discount": {"end_day": 2}}))
    for _ in range(4):
        model.step()
    coupon, discount = model.mechanism["coupon"], model.mechanism["discount"]
    assert not coupon.running(model.day) and not discount.running(model.day)
    assert model.mechanisms_for("ration") == [coupon] and model.mechanisms_for("on_orders") == [coupon, discount]
    assert model.mechanisms_for("adjust_offer") == [] and model.mechanisms_for("start_day") == []


def test_retention_matches_the_cohort_definition():
    """D-N retention recomputed from the raw records, not the cohort table: first purchase
    days from the order ledger, and who visited each day, recorded as the run goes."""
    model = MarketModel(small_config(days=40))
    active = np.zeros((model.config.days + 1, model.n), dtype=bool)
    for _ in range(model.config.days):
        model.step()
        active[model.day] = model.consumers.active
    orders = model.ledger.to_frame()
    first = orders.groupby("consumer")["day"].min()
    who, day = first.index.to_numpy(), first.to_numpy()
    assert len(who) == model.summary()["customers"]
    assert active[day, who].all()  # everyone is active on the day of its first purchase
    for n in (1, 7, 30):
        old_enough = day + n <= model.config.days
        expected = active[day[old_enough] + n, who[old_enough]].sum() / old_enough.sum()
        assert model.summary()[f"retention_d{n}"] == pytest.approx(expected, rel=1e-12)
        assert 0 < expected < 1


def test_retention_on_a_hand_built_table():
    from sim.metrics import CohortTable

    table = CohortTable(days=5)
    table.add_new_customers(1, 10)
    table.add_new_customers(2, 10)
    table.add_active(2, np.array([1, 1, 1, 1, 2, 2]))  # day 2: 4 from cohort 1 (D1), 2 from cohort 2 (D0)
    table.add_active(3, np.array([2, 2, 2]))  # day 3: 3 from cohort 2 (D1)
    assert table.activity[1, 1] == 4 and table.activity[2, 1] == 3
    assert table.retention(1) == pytest.approx((4 + 3) / 20)
    assert table.retention(5) is None  # no cohort is 5 days old within a 5-day run


def test_word_of_mouth_through_more_ties_spreads_faster():
    low = MarketModel(small_config(diffusion={"strong_tie": 0.01, "weak_tie": 0.01})).run().summary()
    high = MarketModel(small_config(diffusion={"strong_tie": 0.1, "weak_tie": 0.08})).run().summary()
    assert high["customers"] > low["customers"] * 1.1
    assert high["gmv"] > low["gmv"]


def test_bad_quality_brings_negative_word_of_mouth_and_less_repeat_buying():
    # without returns, whose disappointments (a satisfied buyer's return too) do not depend on quality
    no_returns = {c: {"satisfied": 0.0, "dissatisfied": 0.0} for c in ("solo", "team", "flash_sale", "livestream")}
    good = MarketModel(small_config(market={"quality": {"dist": "constant", "value": 0.9}, "returns": no_returns})).run()
    bad = MarketModel(small_config(market={"quality": {"dist": "constant", "value": 0.3}, "returns": no_returns})).run()
    g, b = good.metrics.frame(), bad.metrics.frame()
    assert b["detractors"].sum() > 3 * g["detractors"].sum()
    assert b["promoters"].sum() < g["promoters"].sum()
    repeat_share = lambda d: d["repeat_buyers"].sum() / max(d["orders"].sum(), 1)  # noqa: E731
    assert repeat_share(b) < repeat_share(g)
    assert bad.summary()["churned"] / bad.summary()["customers"] > good.summary()["churned"] / good.summary()["customers"]


def test_higher_prices_sell_fewer_orders():
    cheap = MarketModel(small_config(market={"list_price": {"dist": "constant", "value": 40}})).run().summary()
    dear = MarketModel(small_config(market={"list_price": {"dist": "constant", "value": 400}})).run().summary()
    assert dear["orders"] < cheap["orders"]


def test_kol_posts_make_followers_aware():
    none = MarketModel(small_config(population={"kols": {"count": 0}}, diffusion={"innovation": 0.0005})).run()
    many = MarketModel(small_config(population={"kols": {"count": 40, "posts_per_week": 7}},
                                    diffusion={"innovation": 0.0005})).run()
    assert none.metrics.frame()["kol_reach"].sum() == 0
    assert many.metrics.frame()["kol_engagements"].sum() > 0
    assert (many.consumers.aware_source == 3).sum() > 0
    assert many.metrics.frame()["aware"].iloc[9] > none.metrics.frame()["aware"].iloc[9]


def test_step_beyond_the_horizon_is_refused(default_run):
    with pytest.raises(RuntimeError, match="days=60"):
        default_run.step()


@pytest.mark.parametrize("kind", ["watts_strogatz", "erdos_renyi", "sbm", "complete"])
def test_the_market_runs_on_every_generated_network(kind):
    model = MarketModel(small_config(days=20, network={"kind": kind})).run()
    assert model.summary()["orders"] > 0
    assert model.network.kind == kind
