"""The order and payment ledgers (``sim/ledger.py``) on hand-made orders, to the fen."""

import numpy as np
import pandas as pd
import pytest

from sim.ledger import COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS, OrderLedger, PaymentLedger


def two_days() -> OrderLedger:
    led = OrderLedger()
    led.record(3, consumer=np.array([7, 8, 9]), product=np.array([0, 1, 1]), merchant=np.array([0, 1, 1]),
               value_cents=np.array([1000, 1030, 1050]), discount_cents=np.array([0, 0, 1050]), commission_rate=0.05,
               cost_cents=np.array([600, 700, 800]))
    led.record(4, consumer=np.array([2]), product=np.array([5]), merchant=np.array([2]),
               value_cents=np.array([3000]), discount_cents=np.array([990]), commission_rate=0.1,
               cost_cents=np.array([1500]), quantity=np.array([3]), channel=2)
    return led


def test_record_returns_the_days_totals_and_each_orders_commission():
    led = OrderLedger()
    totals, commission = led.record(
        5, consumer=np.array([1, 2, 3, 4]), product=np.array([0, 0, 1, 2]), merchant=np.array([0, 0, 1, 1]),
        value_cents=np.array([1010, 1030, 1050, 2000]), discount_cents=np.array([0, 0, 0, 2000]),
        commission_rate=0.05, cost_cents=np.array([500, 500, 600, 1000]))
    # commission = round(rate x paid), half to even: 50.5 -> 50, 51.5 -> 52, 52.5 -> 52; a free order pays none
    np.testing.assert_array_equal(commission, [50, 52, 52, 0])
    assert commission.dtype == np.int64
    assert totals == {"orders": 4, "gmv_cents": 5090, "discount_cents": 2000, "commission_cents": 154,
                      "cost_cents": 2600}


def test_running_totals_and_merchant_revenue_add_up_over_days():
    led = two_days()
    assert led.n_orders == 4
    assert led.gmv_cents == 1000 + 1030 + 1050 + 3000
    assert led.discount_cents == 1050 + 990
    assert led.commission_cents == 50 + 52 + 0 + 201
    assert led.cost_cents == 600 + 700 + 800 + 1500
    assert led.merchant_revenue_cents == 6080 - 2040 - 303


def test_orders_frame_one_row_per_order_with_typed_columns():
    frame = two_days().to_frame()
    assert list(frame.columns) == list(COLUMNS) + ["merchant_revenue_cents", "refund_cents", "refund_day"]
    assert frame["day"].tolist() == [3, 3, 3, 4]
    assert frame["consumer"].tolist() == [7, 8, 9, 2]
    assert frame["product"].tolist() == [0, 1, 1, 5]
    assert frame["merchant"].tolist() == [0, 1, 1, 2]
    assert frame["quantity"].tolist() == [1, 1, 1, 3]
    assert frame["channel"].tolist() == [0, 0, 0, 2]
    assert frame["sales_channel"].tolist() == [0, 0, 0, 0]  # sold through channel 0 unless told
    assert frame["value_cents"].tolist() == [1000, 1030, 1050, 3000]
    assert frame["discount_cents"].tolist() == [0, 0, 1050, 990]
    assert frame["commission_cents"].tolist() == [50, 52, 0, 201]
    assert frame["merchant_revenue_cents"].tolist() == [950, 978, 0, 1809]
    assert {c: str(frame[c].dtype) for c in COLUMNS} == {
        "day": "int16", "consumer": "int32", "product": "int32", "merchant": "int32", "quantity": "int16",
        "channel": "int16", "sales_channel": "int8", "value_cents": "int32", "discount_cents": "int32",
        "commission_cents": "int32"}
    assert frame["merchant_revenue_cents"].dtype == np.int64


def test_an_empty_ledger_has_typed_empty_columns():
    led = OrderLedger()
    assert led.column("value_cents").dtype == np.int32 and led.column("day").dtype == np.int16
    assert len(led.column("consumer")) == 0
    frame = led.to_frame()
    assert frame.empty and list(frame.columns) == list(COLUMNS) + ["merchant_revenue_cents", "refund_cents", "refund_day"]
    assert (led.n_orders, led.gmv_cents, led.discount_cents, led.commission_cents, led.cost_cents) == (0, 0, 0, 0, 0)
    assert led.merchant_revenue_cents == 0


@pytest.mark.parametrize("discount", [[-1, 0], [0, 1001]])
def test_a_discount_outside_zero_to_the_value_is_refused(discount):
    led = OrderLedger()
    with pytest.raises(ValueError, match=r"^a discount must lie between 0 and the order value$"):
        led.record(1, np.array([0, 1]), np.array([0, 0]), np.array([0, 0]), np.array([500, 1000]),
                   np.array(discount), 0.05, np.array([0, 0]))
    assert led.n_orders == 0 and led.to_frame().empty
    led.record(1, np.array([0, 1]), np.array([0, 0]), np.array([0, 0]), np.array([500, 1000]),
               np.array([0, 1000]), 0.05, np.array([0, 0]))  # 0 and the whole value are allowed
    assert led.discount_cents == 1000


def test_gather_reads_any_orders_of_any_days_in_the_order_given():
    led = two_days()
    assert led.n_rows == 4
    got = led.gather("quantity", np.array([3, 0, 2, 3], dtype=np.int32))  # row 3 opens day 4's chunk
    np.testing.assert_array_equal(got, [3, 1, 1, 3])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(led.gather("value_cents", [1, 3, 0]), [1030, 3000, 1000])
    empty = led.gather("value_cents", np.zeros(0, dtype=np.int64))
    assert empty.dtype == np.int64 and len(empty) == 0
    for rows in ([-1], [4], [0, 4], [-1, 3]):
        with pytest.raises(IndexError, match=r"^no such order in the ledger$"):
            led.gather("value_cents", np.array(rows))
    with pytest.raises(IndexError, match=r"^no such order in the ledger$"):
        OrderLedger().gather("day", np.array([0]))


def test_the_refund_journal_books_each_return_on_its_day_to_the_fen():
    led = two_days()
    journal = led.refunds()  # nothing refunded yet: typed empty columns
    assert list(journal) == list(REFUND_COLUMNS)
    assert all(len(v) == 0 and v.dtype == np.int64 for v in journal.values())
    frame = led.to_frame()
    assert frame["refund_cents"].tolist() == [0] * 4 and frame["refund_day"].tolist() == [-1] * 4
    assert frame["refund_cents"].dtype == np.int64 and frame["refund_day"].dtype == np.int16
    totals, _ = led.refund(4, np.zeros(0, dtype=np.int64), np.zeros(6, dtype=np.int64))  # refunding nothing
    assert totals == {"returns": 0, "refund_cents": 0, "value_cents": 0, "discount_cents": 0,
                      "commission_cents": 0, "cost_cents": 0}
    assert led.n_returns == 0 and led.net_gmv_cents == led.gmv_cents == 6080

    unit_cost = np.array([600, 800, 0, 0, 0, 500])  # products 0, 1 and 5
    # day 5: row 2 (1050 fen, all of it discounted: nothing paid back, goods back) and row 0
    totals, entry = led.refund(5, np.array([2, 0], dtype=np.int32), unit_cost)
    assert totals == {"returns": 2, "refund_cents": 0 + 1000, "value_cents": 1050 + 1000, "discount_cents": 1050,
                      "commission_cents": 0 + 50, "cost_cents": 800 + 600}
    assert entry["row"].tolist() == [2, 0] and entry["day"].tolist() == [5, 5]
    assert list(entry) == list(REFUND_COLUMNS) and all(v.dtype == np.int64 for v in entry.values())  # int32 rows too
    # day 7: row 3, three units of product 5, paid 3000 - 990
    totals, _ = led.refund(7, np.array([3]), unit_cost)
    assert totals == {"returns": 1, "refund_cents": 2010, "value_cents": 3000, "discount_cents": 990,
                      "commission_cents": 201, "cost_cents": 3 * 500}
    journal = led.refunds()
    assert {k: v.tolist() for k, v in journal.items()} == {
        "row": [2, 0, 3], "day": [5, 5, 7], "refund_cents": [0, 1000, 2010], "value_cents": [1050, 1000, 3000],
        "discount_cents": [1050, 0, 990], "commission_cents": [0, 50, 201], "cost_cents": [800, 600, 1500]}
    assert all(v.dtype == np.int64 for v in journal.values())
    assert led.n_returns == 3
    assert led.refunded == {"refund_cents": 3010, "value_cents": 5050, "discount_cents": 2040,
                            "commission_cents": 251, "cost_cents": 2900}
    # what is left is order 1's: 1030 GMV, 52 commission, 978 merchant revenue; gross totals unchanged
    assert (led.net_gmv_cents, led.net_commission_cents, led.net_merchant_revenue_cents) == (1030, 52, 978)
    assert led.net_cost_cents == 3600 - 2900
    assert (led.n_orders, led.gmv_cents, led.commission_cents, led.merchant_revenue_cents) == (4, 6080, 303, 3737)
    frame = led.to_frame()
    assert frame["refund_cents"].tolist() == [1000, 0, 0, 2010]
    assert frame["refund_day"].tolist() == [5, -1, 5, 7]  # order 2 refunded 0 fen, but refunded
    assert frame["refund_cents"].dtype == np.int64 and frame["refund_day"].dtype == np.int16


def test_a_refund_of_an_order_twice_or_of_no_order_is_refused_and_books_nothing():
    led = two_days()
    unit_cost = np.zeros(6, dtype=np.int64)
    with pytest.raises(ValueError, match=r"^an order is refunded at most once$"):
        led.refund(5, np.array([1, 0, 1]), unit_cost)
    for rows in ([4], [-1]):
        with pytest.raises(IndexError, match=r"^no such order in the ledger$"):
            led.refund(5, np.array(rows), unit_cost)
    assert led.n_returns == 0 and set(led.refunded.values()) == {0} and len(led.refunds()["row"]) == 0


def test_payments_are_recorded_by_mechanism_family_and_kind():
    pay = PaymentLedger()
    # the model hands int32 consumer ids and amounts of any integer type: stored as int64
    pay.record(2, "referral", "referral", "inviter_reward", np.array([4, 5], dtype=np.int32),
               np.array([1000, 500], dtype=np.int32))
    pay.record(3, "kol_seeding", "content", "kol_fee", np.array([1]), np.array([2500]))
    pay.record(3, "referral", "referral", "fraud", np.array([-1]), np.array([0]))
    pay.record(4, "livestream", "content", "kol_fee", np.array([0, 2]), np.array([100, 200]))
    assert pay.total_cents == 4300
    assert pay.by_family == {"referral": 1500, "content": 2800}
    frame = pay.to_frame()
    assert list(frame.columns) == list(PAYMENT_COLUMNS)
    assert frame["day"].tolist() == [2, 2, 3, 3, 4, 4]
    assert frame["mechanism"].tolist() == ["referral"] * 2 + ["kol_seeding", "referral"] + ["livestream"] * 2
    assert frame["family"].tolist() == ["referral"] * 2 + ["content", "referral"] + ["content"] * 2
    assert frame["kind"].tolist() == ["inviter_reward"] * 2 + ["kol_fee", "fraud"] + ["kol_fee"] * 2
    assert frame["recipient"].tolist() == [4, 5, 1, -1, 0, 2]
    assert frame["amount_cents"].tolist() == [1000, 500, 2500, 0, 100, 200]
    assert frame["day"].dtype == np.int16 and frame["recipient"].dtype == np.int64
    assert frame["amount_cents"].dtype == np.int64
    assert frame.index.tolist() == list(range(6))  # one row per payment, numbered 0..n-1


def test_payments_are_stored_as_int64_whatever_integers_they_come_in():
    pay = PaymentLedger()
    pay.record(1, "referral", "referral", "invitee_reward", np.array([3, 9], dtype=np.int32),
               np.array([700, 300], dtype=np.int16))
    frame = pay.to_frame()
    assert frame["recipient"].dtype == np.int64 and frame["amount_cents"].dtype == np.int64
    assert frame["amount_cents"].tolist() == [700, 300] and pay.total_cents == 1000


def test_a_negative_payment_is_refused():
    pay = PaymentLedger()
    with pytest.raises(ValueError, match=r"^payments are >= 0$"):
        pay.record(1, "coupon", "pricing", "subsidy", np.array([1, 2]), np.array([100, -1]))
    assert pay.total_cents == 0 and pay.by_family == {} and pay.to_frame().empty


def test_an_empty_payment_ledger_has_typed_empty_columns():
    frame = PaymentLedger().to_frame()
    assert list(frame.columns) == list(PAYMENT_COLUMNS) and frame.empty
    assert {c: str(frame[c].dtype) for c in PAYMENT_COLUMNS} == {
        "day": "int64", "mechanism": "object", "family": "object", "kind": "object", "recipient": "int64",
        "amount_cents": "int64"}
    pd.testing.assert_frame_equal(frame, PaymentLedger().to_frame())
