"""Returns and refunds (退换货): the rule, the ledger's refunds to the fen, zero intensity,
directions, the livestream's net ROI, orders.parquet and the one-line errors."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import PYTHON, REPO, small_config

from agents.returning import return_probability, returned
from sim.build import build_config
from sim.config import RETURN_CHANNELS
from sim.errors import ConfigError
from sim.evaluation import evaluate
from sim.ledger import OrderLedger
from sim.model import MarketModel
from sim.outputs import write_run

NONE = {c: {"satisfied": 0.0, "dissatisfied": 0.0} for c in RETURN_CHANNELS}
#: every channel of sales at once: a team price, a flash sale, a livestream, a community deal
CHANNELS = {"team_purchase": {}, "flash_sale": {"start_day": 5, "end_day": 25, "stock": 50},
            "livestream": {"every_days": 1, "n_kols": 5}, "community_groupbuy": {}}


def rates(satisfied: float, dissatisfied: float, **per_channel) -> dict:
    out = {c: {"satisfied": satisfied, "dissatisfied": dissatisfied} for c in RETURN_CHANNELS}
    out.update(per_channel)
    return out


# --------------------------------------------------------------------------- the rule
def test_the_return_probability_is_the_channels_rate_by_satisfaction_times_the_platforms():
    channel = np.array([0, 0, 1, 2, 3, 3])
    satisfied = np.array([True, False, True, False, True, False])
    sat, dis = (0.02, 0.04, 0.05, 0.3), (0.6, 0.65, 0.7, 0.8)
    np.testing.assert_allclose(return_probability(channel, satisfied, sat, dis, 1.0),
                               [0.02, 0.6, 0.04, 0.7, 0.3, 0.8])
    np.testing.assert_allclose(return_probability(channel, satisfied, sat, dis, 1.5),
                               [0.03, 0.9, 0.06, 1.0, 0.45, 1.0])  # capped at 1
    np.testing.assert_array_equal(returned(np.array([0.1, 0.5, 0.5]), np.array([0.2, 0.5, 0.6])),
                                  [True, False, True])


# --------------------------------------------------------------------------- the ledger
def test_a_refund_reverses_the_order_to_the_fen_and_keeps_its_discount_spent():
    led = OrderLedger()
    led.record(3, np.array([7, 8, 9]), np.array([0, 1, 1]), np.array([0, 1, 1]), np.array([1000, 1030, 1050]),
               np.array([0, 0, 150]), 0.05, np.array([600, 700, 700]), sales_channel=np.array([0, 3, 3]))
    led.record(4, np.array([2]), np.array([2]), np.array([2]), np.array([3000]), np.array([990]), 0.1,
               np.array([1500]), quantity=np.array([3]), channel=2, sales_channel=1)
    unit_cost = np.array([600, 700, 500])
    totals, entry = led.refund(6, np.array([3, 2]), unit_cost)
    # row 3: paid 3000 - 990 = 2010, commission 201; row 2: paid 900, commission round(45.0) = 45
    assert totals == {"returns": 2, "refund_cents": 2010 + 900, "value_cents": 4050, "discount_cents": 1140,
                      "commission_cents": 246, "cost_cents": 1500 + 700}
    np.testing.assert_array_equal(entry["refund_cents"], entry["value_cents"] - entry["discount_cents"])
    assert led.net_gmv_cents == led.gmv_cents - 4050
    assert led.net_commission_cents == led.commission_cents - 246
    assert led.net_merchant_revenue_cents == led.merchant_revenue_cents - (2910 - 246)
    assert led.net_cost_cents == 600 + 700 == led.cost_cents - 2200
    frame = led.to_frame()
    assert frame["refund_cents"].tolist() == [0, 0, 900, 2010]
    assert frame["refund_day"].tolist() == [-1, -1, 6, 6]
    assert frame["sales_channel"].tolist() == [0, 3, 3, 1]
    # refund = merchant revenue reversed + commission reversed; refunded value = refund + discount
    back = frame[frame["refund_day"] >= 0]
    assert (back["refund_cents"] == back["merchant_revenue_cents"] + back["commission_cents"]).all()
    assert (back["value_cents"] == back["refund_cents"] + back["discount_cents"]).all()
    with pytest.raises(ValueError, match="at most once"):
        led.refund(7, np.array([0, 0]), unit_cost)
    with pytest.raises(IndexError):
        led.refund(7, np.array([4]), unit_cost)


@pytest.fixture(scope="module")
def with_returns():
    """Every sales channel, returns refunded three days after the order."""
    cfg = small_config(days=40, market={"returns": {"lag_days": 3}}, campaign=CHANNELS)
    return MarketModel(cfg).run()


def test_refunds_balance_to_the_fen(with_returns):
    model = with_returns
    led = model.ledger
    orders = led.to_frame()
    assert led.n_returns > 0
    back = orders[orders["refund_day"] >= 0]
    assert len(back) == led.n_returns
    # each refunded order: the buyer gets back what it paid, from the merchant and the platform
    assert (back["refund_cents"] == back["value_cents"] - back["discount_cents"]).all()
    assert (back["refund_cents"] == back["merchant_revenue_cents"] + back["commission_cents"]).all()
    assert (back["refund_day"] == back["day"] + 3).all()  # booked on the day it happens
    assert int(back["refund_cents"].sum()) == led.refunded["refund_cents"]
    # net GMV = GMV - refunded value = net merchant revenue + net commission + discounts kept + discounts lost
    kept = orders[orders["refund_day"] < 0]
    assert led.net_gmv_cents == int(kept["value_cents"].sum())
    assert led.net_gmv_cents == (led.net_merchant_revenue_cents + led.net_commission_cents
                                 + led.discount_cents - led.refunded["discount_cents"])
    # the agents' books are the ledger's, after refunds
    assert sum(m.revenue_cents for m in model.merchants) == led.net_merchant_revenue_cents
    assert sum(m.cost_cents for m in model.merchants) == led.net_cost_cents
    assert sum(m.returns for m in model.merchants) == led.n_returns
    assert model.platform.commission_cents == led.net_commission_cents
    # the daily metrics add up to the totals, to the fen
    daily = model.metrics.frame()
    assert round(daily["net_gmv"].sum() * 100) == led.net_gmv_cents
    assert round(daily["refunds"].sum() * 100) == led.refunded["refund_cents"]
    assert daily["returns"].sum() == led.n_returns
    assert (daily["returns"].iloc[:3] == 0).all()  # nothing is due before day 4
    # the summary
    s = model.summary()
    assert s["net_gmv"] == led.net_gmv_cents / 100 and s["returns"] == led.n_returns
    assert s["refund_rate"] == pytest.approx(s["refunds"] / s["gmv"])
    pending = sum(len(r) for due in model._refunds_due.values() for r in due)
    assert s["returns_pending"] == pending and all(day > 40 for day in model._refunds_due)
    assert sum(v["returns"] for v in s["returns_by_channel"].values()) == led.n_returns
    assert sum(v["orders"] for v in s["returns_by_channel"].values()) == led.n_orders


def test_every_sales_channel_is_seen_and_livestream_returns_most(with_returns):
    by = with_returns.summary()["returns_by_channel"]
    assert all(by[c]["orders"] > 0 for c in RETURN_CHANNELS), by
    assert by["livestream"]["return_rate"] > by["flash_sale"]["return_rate"] > by["solo"]["return_rate"]
    assert 0.25 <= by["livestream"]["return_rate"] <= 0.60  # a few dozen livestream orders at this size
    for channel in ("solo", "team"):
        assert 0.07 <= by[channel]["return_rate"] <= 0.16


def test_a_returned_order_counts_as_a_disappointment():
    """Every order comes back: nobody promotes, and every customer carries the churn of a
    disappointment."""
    model = MarketModel(small_config(days=20, market={"returns": rates(1.0, 1.0)}))
    model.run()
    s = model.summary()
    assert s["returns"] == s["orders"] > 0 and s["net_gmv"] == 0 and s["refund_rate"] == pytest.approx(
        1 - model.ledger.discount_cents / model.ledger.gmv_cents)
    assert model.metrics.frame()["promoters"].sum() == 0
    bought = model.consumers.first_purchase_day >= 0
    assert (model.consumers.satisfied_last[bought] == 0).all()


# --------------------------------------------------------------------------- zero intensity
def _outputs(model):
    return model.summary(), model.metrics.frame(), model.ledger.to_frame(), model.payments.to_frame()


@pytest.mark.parametrize("zero", [{"market": {"returns": NONE}}, {"platform": {"return_multiplier": 0.0}}],
                         ids=["rates 0", "multiplier 0"])
def test_zero_returns_reproduce_the_market_without_the_returns_phase(zero, monkeypatch):
    """With no return probability, the outputs are those of the model with the returns phase
    removed (bit for bit, campaigns included), and the returns stream is never drawn."""
    cfg = small_config(days=30, campaign=CHANNELS, **zero)
    zeroed = MarketModel(cfg).run()
    assert "returns" not in zeroed.streams._generators
    monkeypatch.setattr(MarketModel, "_phase_returns", lambda self: None)
    without = MarketModel(cfg).run()
    for a, b in zip(_outputs(zeroed), _outputs(without)):
        if isinstance(a, dict):
            assert a == b
        else:
            pd.testing.assert_frame_equal(a, b)
    s = zeroed.summary()
    assert (s["returns"], s["refunds"], s["refund_rate"], s["net_gmv"]) == (0, 0.0, 0.0, s["gmv"])
    assert (s["net_margin"], s["net_merchant_margin"]) == (s["gross_margin"], s["merchant_margin"])


def test_the_returns_stream_leaves_the_other_streams_alone():
    """Returns change outcomes only through the consumers' state: every day's draws of every
    other stream are the same with and without returns, and so are day 1's orders."""
    on, off = MarketModel(small_config(days=10)), MarketModel(small_config(days=10, market={"returns": NONE}))
    for day in range(1, 11):
        on.step()
        off.step()
        if day == 1:
            pd.testing.assert_frame_equal(on.ledger.to_frame(), off.ledger.to_frame())
        assert set(on._uniforms) == set(off._uniforms)
        for name in off._uniforms:
            np.testing.assert_array_equal(on._uniforms[name], off._uniforms[name])
    assert on.metrics.frame()["returns"].sum() > 0 == off.metrics.frame()["returns"].sum()


# --------------------------------------------------------------------------- directions
def test_more_returns_mean_less_net_gmv_more_warnings_and_more_churn():
    low = MarketModel(small_config(market={"returns": rates(0.01, 0.2)})).run().summary()
    high = MarketModel(small_config(market={"returns": rates(0.2, 0.9)})).run().summary()
    assert high["return_rate"] > 2 * low["return_rate"]
    assert high["net_gmv"] / high["gmv"] < low["net_gmv"] / low["gmv"]
    assert high["churned"] / high["customers"] > low["churned"] / low["customers"]
    assert high["net_margin"] < low["net_margin"]


def test_a_platform_with_a_stricter_return_policy_sees_fewer_returns():
    loose = MarketModel(small_config(platform={"return_multiplier": 1.5})).run().summary()
    strict = MarketModel(small_config(platform={"return_multiplier": 0.5})).run().summary()
    assert strict["return_rate"] < loose["return_rate"]


# --------------------------------------------------------------------------- livestream ROI
def test_a_livestreams_net_roi_is_below_its_gross_roi_by_about_its_return_rate():
    """The campaign's cost is the same after returns, so (1 + net ROI) / (1 + ROI) is the share of
    the incremental margin kept: about 1 - the livestream's return rate, a little more since the
    sessions also bring solo orders (returned less often) and reviews and word of mouth move
    the rest of the market: between 1 - the livestream's rate and 1 - the solo rate."""
    from experiments.batch import compose

    kept, rate, solo = [], [], []
    for seed in (0, 1):
        s = evaluate(compose(["scenario=livestream_returns", f"seed={seed}"]).config).summary()
        assert s["roi_net"] < s["roi"]
        assert s["incremental_net_margin"] < s["incremental_margin"]
        kept.append((1 + s["roi_net"]) / (1 + s["roi"]))
        rate.append(s["returns_by_channel"]["livestream"]["return_rate"])
        solo.append(s["returns_by_channel"]["solo"]["return_rate"])
        assert 0.30 <= rate[-1] <= 0.50  # the domain brief's 30-50 %
    assert 1 - np.mean(rate) - 0.05 <= np.mean(kept) <= min(1 - np.mean(solo), 1 - np.mean(rate) + 0.2)


# --------------------------------------------------------------------------- outputs and errors
def test_orders_parquet_carries_each_orders_refund_in_yuan(with_returns, tmp_path):
    paths = write_run(with_returns, tmp_path / "run")
    orders = pd.read_parquet(paths["orders"])
    led = with_returns.ledger.to_frame()
    assert len(orders) == with_returns.ledger.n_orders
    assert list(orders.columns) == ["customer_id", "date", "amount", "product_id", "channel", "campaign",
                                    "referrer_id", "refund", "day", "merchant", "quantity", "value", "discount",
                                    "commission", "refund_day"]
    assert round(orders["refund"].sum() * 100) == with_returns.ledger.refunded["refund_cents"]
    np.testing.assert_array_equal(np.round(orders["refund"] * 100).astype(np.int64), led["refund_cents"])
    assert set(orders["channel"].astype(str)) == set(RETURN_CHANNELS)
    assert "orders" not in write_run(with_returns, tmp_path / "none", orders=False)
    assert not (tmp_path / "none" / "orders.parquet").exists()


@pytest.mark.parametrize("key, value, allowed", [
    ("market.returns.livestream.dissatisfied", 1.5, "must be a probability in [0, 1]"),
    ("market.returns.solo.satisfied", -0.1, "must be a probability in [0, 1]"),
    ("market.returns.lag_days", -1, "must be an integer >= 0"),
    ("platform.return_multiplier", -1.0, "must be >= 0"),
])
def test_bad_return_values_are_refused_in_one_line(key, value, allowed):
    group, *rest = key.split(".")
    data: dict = {}
    node = data.setdefault(group, {})
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value
    with pytest.raises(ConfigError) as info:
        build_config(data)
    assert info.value.key == key and str(info.value) == f"{key}={value!r}: {allowed}"


def test_the_command_line_refuses_a_bad_return_rate_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([PYTHON, "-m", "experiments.run", "market.returns.team.satisfied=2", f"out={out}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: market.returns.team.satisfied=2.0: must be a probability in [0, 1]"
    assert not out.exists()
