"""Order logs (experiments/calibration): reading, every refusal, and the targets on small
hand-made logs whose answers are counted by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.calibration.orderlog import read_order_log
from experiments.calibration.targets import active_customers, daily, targets
from sim.errors import ConfigError

# customer a: days 0, 2, 2 (two orders on day 2), 9; b: days 1, 3; c: day 3; d: day 5
LOG = pd.DataFrame({
    "customer_id": ["a", "b", "a", "a", "b", "c", "d", "a"],
    "date": ["2025-01-01", "2025-01-02 10:00", "2025-01-03", "2025-01-03", "2025-01-04", "2025-01-04",
             "2025-01-06", "2025-01-10"],
    "amount": [10.0, 20.0, 30.0, 5.0, 15.0, 25.0, 40.0, 50.0],
})


def test_daily_series_counted_by_hand():
    log = read_order_log(LOG)
    d = daily(log.orders, "2025-01-01", "2025-01-11")
    assert d["new_customers"].tolist() == [1, 1, 0, 1, 0, 1, 0, 0, 0, 0]
    assert d["orders"].tolist() == [1, 1, 2, 2, 0, 1, 0, 0, 0, 1]
    assert d["repeat_orders"].tolist() == [0, 0, 2, 1, 0, 0, 0, 0, 0, 1]
    assert d["gmv"].tolist() == [10, 20, 35, 40, 0, 40, 0, 0, 0, 50]
    assert d["aov"].iloc[2] == 17.5 and np.isnan(d["aov"].iloc[4])
    assert (d["new_customers"] + d["repeat_orders"] <= d["orders"]).all()


def test_active_customers_counts_a_window_once_per_customer():
    # customer 0 buys on days 0 and 2, customer 1 on day 1; window 3 days
    got = active_customers(np.array([0, 2, 1]), np.array([0, 0, 1]), 7, window=3)
    assert got.tolist() == [1, 2, 2, 2, 1, 0, 0]


def test_targets_retention_purchases_and_gaps_counted_by_hand():
    t = targets(read_order_log(LOG).orders, "2025-01-01", "2025-01-11")
    ret = t[t["target"] == "retention"].set_index("x")
    # cohorts: a day 0, b day 1, c day 3, d day 5 (10 days: eligible for N if first + N <= 9)
    # a buys again on N = 2 and 9; b on N = 2
    assert ret.loc[2.0, "value"] == pytest.approx(2 / 4) and ret.loc[2.0, "n"] == 4
    assert ret.loc[9.0, "value"] == 1.0 and ret.loc[9.0, "n"] == 1
    assert ret.loc[1.0, "value"] == 0.0
    buys = t[t["target"] == "purchases"].set_index("x")["value"]
    assert buys[1.0] == pytest.approx(2 / 4) and buys[2.0] == pytest.approx(1 / 4) and buys[3.0] == pytest.approx(1 / 4)
    assert buys.sum() == pytest.approx(1.0)
    gaps = t[t["target"] == "interpurchase"].set_index("x")
    # gaps: a 2, 7; b 2 -> all three in the 1-7 bin
    assert gaps.loc[1.0, "value"] == 1.0 and gaps.loc[1.0, "n"] == 3
    assert set(t["target"]) >= {"daily.new_customers", "daily.gmv", "retention", "purchases", "interpurchase"}


def test_targets_stop_at_the_end_date():
    t = targets(read_order_log(LOG).orders, "2025-01-01", "2025-01-05")
    orders = t[t["target"] == "daily.orders"]
    assert orders["value"].tolist() == [1, 1, 2, 2]
    assert t.loc[t["target"] == "purchases", "n"].iloc[0] == 3  # d's first order is after the end


def test_columns_map_and_refund_lines_are_not_orders():
    frame = LOG.rename(columns={"customer_id": "CustomerID", "amount": "Total"}).assign(refund=0.0)
    frame.loc[len(frame)] = ["a", "2025-01-05", -30.0, 30.0]
    log = read_order_log(frame, columns={"customer_id": "CustomerID", "amount": "Total"})
    assert len(log.orders) == len(LOG) and log.refund_lines["refund"].tolist() == [30.0]
    assert log.customers == 4


def test_reads_csv_and_parquet_alike(tmp_path):
    LOG.to_csv(tmp_path / "o.csv", index=False)
    LOG.to_parquet(tmp_path / "o.parquet")
    a, b = read_order_log(tmp_path / "o.csv"), read_order_log(tmp_path / "o.parquet")
    pd.testing.assert_frame_equal(a.orders, b.orders)


@pytest.mark.parametrize("change, columns, key, words", [
    (lambda f: f.drop(columns="amount"), None, "columns.amount", "no column 'amount'"),
    (lambda f: f, {"customer_id": "CID"}, "columns.customer_id", "no column 'CID'"),
    (lambda f: f.assign(date=["2025-01-01"] * 7 + ["yesterday"]), None, "date", "row 8"),
    (lambda f: f.assign(amount=[1.0, np.nan, 2, 3, 4, 5, 6, 7]), None, "amount", "row 2"),
    (lambda f: f.assign(amount=[1.0, 2, -3, 3, 4, 5, 6, 7]), None, "amount", "row 3"),
    (lambda f: f.iloc[:0], None, "data", "empty"),
    (lambda f: f, {"basket": "x"}, "columns.basket", "unknown column"),
])
def test_bad_logs_are_refused_in_one_line_naming_the_column_or_row(change, columns, key, words):
    with pytest.raises(ConfigError) as err:
        read_order_log(change(LOG.copy()), columns=columns)
    assert err.value.key == key and words in str(err.value) and "\n" not in str(err.value)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read_order_log(tmp_path / "none.csv")


# --------------------------------------------------------------------------- the round trip
@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory):
    from sim.build import build_config
    from sim.model import MarketModel
    from sim.outputs import write_run

    out = tmp_path_factory.mktemp("run")
    model = MarketModel(build_config(seed=3, days=40, start_date="2025-03-01", population={"size": 800})).run()
    write_run(model, out)
    return out


def test_a_simulated_orders_parquet_reads_back_as_an_order_log(simulated_run):
    raw = pd.read_parquet(simulated_run / "orders.parquet")
    assert list(raw.columns[:8]) == ["customer_id", "date", "amount", "product_id", "channel", "campaign",
                                     "referrer_id", "refund"]
    log = read_order_log(simulated_run / "orders.parquet")
    assert log.first_date >= pd.Timestamp("2025-03-01") and log.last_date <= pd.Timestamp("2025-04-09")
    assert len(log.orders) == len(raw) and log.customers == raw["customer_id"].nunique()


def test_round_trip_targets_equal_the_models_own_daily_metrics(simulated_run):
    metrics = pd.read_parquet(simulated_run / "metrics.parquet")
    d = daily(read_order_log(simulated_run / "orders.parquet").orders, "2025-03-01", "2025-04-10")
    assert metrics["orders"].sum() > 100
    np.testing.assert_array_equal(d["orders"], metrics["orders"])
    np.testing.assert_array_equal(d["new_customers"], metrics["new_customers"])
    np.testing.assert_array_equal(d["repeat_orders"], metrics["repeat_buyers"])
    np.testing.assert_allclose(d["gmv"], metrics["gmv"], atol=1e-6)  # no campaign: nothing discounted
    assert d["date"].tolist() == pd.to_datetime(metrics["date"]).tolist()


def test_orders_without_start_date_have_no_dates_and_are_refused_as_a_log(tmp_path):
    from sim.build import build_config
    from sim.model import MarketModel
    from sim.outputs import write_run

    write_run(MarketModel(build_config(seed=1, days=5, population={"size": 200})).run(), tmp_path)
    with pytest.raises(ConfigError, match="row 1 .*not a date"):
        read_order_log(tmp_path / "orders.parquet")


def test_the_models_purchase_based_curve_is_the_logs(simulated_run):
    curve = pd.read_parquet(simulated_run / "retention.parquet")
    t = targets(read_order_log(simulated_run / "orders.parquet").orders, "2025-03-01", "2025-04-10")
    ret = t[t["target"] == "retention"]
    assert {"retention", "purchase_retention", "purchase_cohort_customers"} <= set(curve.columns)
    np.testing.assert_allclose(curve["purchase_retention"].to_numpy()[1:], ret["value"].to_numpy(), equal_nan=True)
    assert curve["purchase_retention"].iat[0] == 1.0  # everyone buys on its first day
    # a purchase is a visit: the purchase-based curve never exceeds the visit-based one
    assert (curve["purchase_retention"].fillna(0) <= curve["retention"].fillna(0) + 1e-12).all()
