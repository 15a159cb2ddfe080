"""Observed acquisition (``population.arrivals``): consumers enter on their observed
first-purchase day and buy then; nobody else is ever acquired."""


import numpy as np
import pandas as pd
import pytest

from conftest import small_config
from sim.arrivals import load_arrivals, write_arrivals
from sim.errors import ConfigError
from sim.model import MarketModel

N, DAYS = 800, 40


def _days(tmp_path, days, name="arrivals.parquet"):
    return str(write_arrivals(tmp_path / name, days))


def _observed_run(tmp_path, days, population=None, **overrides):
    population = {"size": N, "arrivals": _days(tmp_path, days), **(population or {})}
    return MarketModel(small_config(days=DAYS, population=population, **overrides)).run()


def test_arrivals_buy_on_exactly_their_day_and_nobody_else_is_acquired(tmp_path):
    rng = np.random.default_rng(3)
    days = rng.integers(1, DAYS + 1, N)
    days[:50] = DAYS + 30  # arrive after the run: never in it
    # every other channel of awareness at full strength: ads, word of mouth, reshares, KOLs
    model = _observed_run(tmp_path, days, diffusion={"innovation": 0.5, "reshare": 0.5},
                          population={"kols": {"count": 20, "posts_per_week": 7.0}})
    c = model.consumers
    assert np.array_equal(c.first_purchase_day[50:], days[50:])
    assert np.array_equal(c.aware_day[50:], days[50:])
    assert not c.aware[:50].any() and (c.first_purchase_day[:50] < 0).all() and (c.n_orders[:50] == 0).all()
    assert model.n_aware == model.n_adopters == N - 50
    daily = model.metrics.frame()
    assert daily["new_customers"].tolist() == np.bincount(days[50:], minlength=DAYS + 1)[1:].tolist()
    assert daily["kol_posts"].sum() > 0 and model.summary()["orders"] > N - 50  # KOLs post; customers buy again


def test_a_campaign_cannot_make_anyone_aware_beside_the_arrivals(tmp_path):
    days = np.full(N, DAYS + 1)
    days[:10] = 5
    model = MarketModel(small_config(days=DAYS, population={"size": N, "arrivals": _days(tmp_path, days)}))
    model.run()
    assert model.make_aware(np.arange(N), 0).size == 0
    assert model.consumers.aware.sum() == 10


def test_the_money_and_ledger_agree_with_arrivals(tmp_path):
    days = np.random.default_rng(1).integers(1, 20, N)
    model = _observed_run(tmp_path, days)
    led, frame = model.ledger, model.ledger.to_frame()
    assert int(frame["merchant_revenue_cents"].sum() + frame["commission_cents"].sum()
               + frame["discount_cents"].sum()) == led.gmv_cents
    assert sum(m.revenue_cents for m in model.merchants) == led.net_merchant_revenue_cents
    assert model.metrics.frame()["orders"].sum() == led.n_orders
    first = frame.groupby("consumer")["day"].min()  # each customer's first order in the ledger
    assert len(first) == N and np.array_equal(first.to_numpy(), days[first.index.to_numpy()])


@pytest.mark.parametrize("content, message", [
    ([1, 2], "holds 2 days; needs one per consumer (population.size=3)"),
    ([1, 0, 2], "row 2: 0 is not a day >= 1"),
    ([1, 2.5, 2], "row 2: 2.5 is not a day >= 1"),
    ([1, None, 2], "row 2: nan is not a day >= 1"),
])
def test_bad_arrival_files_are_refused_in_one_line_naming_the_key(tmp_path, content, message):
    path = tmp_path / "days.csv"
    pd.DataFrame({"day": content}).to_csv(path, index=False)
    with pytest.raises(ConfigError) as err:
        load_arrivals(path, 3)
    assert str(err.value).startswith("population.arrivals=") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_arrival_file_errors_name_the_key(tmp_path):
    two = tmp_path / "two.csv"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(two, index=False)
    with pytest.raises(ConfigError, match=r"^population\.arrivals=.*must hold one column"):
        load_arrivals(two, 1)
    with pytest.raises(ConfigError, match=r"^population\.arrivals=.*no such file"):
        MarketModel(small_config(population={"size": 50, "arrivals": str(tmp_path / "none.csv")}))
    with pytest.raises(ConfigError, match=r"^population\.arrivals=.*scenario\.law=market"):
        small_config(population={"size": 50, "arrivals": str(two)}, scenario={"law": "bass"})
    with pytest.raises(ConfigError, match=r"^population\.arrivals="):
        small_config(population={"size": 50, "arrivals": " "})
    assert np.array_equal(load_arrivals(_days(tmp_path, [3, 1], "ok.csv"), 2), [3, 1])


def test_an_arrivals_first_order_is_a_product_it_can_afford(tmp_path):
    """Bought for sure, but as a purchase would be: the product shown given that it buys,
    P(k | buys) ∝ P(shown k) · π_k, so never one above the budget while one fits it."""
    days = np.random.default_rng(2).integers(1, 10, N)
    model = _observed_run(tmp_path, days, population={"budget": {"median": 60.0}})  # list prices: median ¥80
    frame = model.ledger.to_frame().sort_values(["consumer", "day"])
    first = frame.groupby("consumer").head(1)
    price = model.catalogue.list_price[first["product"].to_numpy()]
    budget = model.consumers.budget[first["consumer"].to_numpy()]
    affordable = budget >= model.catalogue.list_price.min()
    assert affordable.sum() > 0.7 * len(first) and (~affordable).sum() > 0
    assert np.all(price[affordable] <= budget[affordable])  # shown-only: 55 % of these above budget


def test_the_product_given_a_purchase_weighs_what_is_shown_by_what_would_be_bought():
    from agents.buying import product_bought

    shown = np.array([[0.5, 0.25, 0.25]] * 3)
    prob = np.array([[0.2, 0.4, 0.0], [0.2, 0.4, 0.0], [0.0, 0.0, 0.0]])
    # P(k | buys) = (0.1, 0.1, 0) / 0.2: half and half; nothing affordable: the shown shares
    assert product_bought(shown, prob, np.array([0.49, 0.51, 0.8])).tolist() == [0, 1, 2]
    u = np.random.default_rng(0).random(20_000)
    k = product_bought(np.tile(shown[0], (len(u), 1)), np.tile(prob[0], (len(u), 1)), u)
    assert np.bincount(k, minlength=3) / len(u) == pytest.approx([0.5, 0.5, 0.0], abs=0.01)
