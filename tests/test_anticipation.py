"""Issue 11, timing: anticipation of an announced festival (agents/anticipating.py,
scenarios/festival.py), pre-sale deposits (scenarios/presale.py) and the calendar
(sim/calendar.py). Zero intensity is the baseline exactly; directions on common seeds;
money to the fen; one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import PYTHON, REPO, base_frame, small_config

from agents.anticipating import defer_probability, still_waiting
from sim.build import build_config
from sim.errors import ConfigError
from sim.evaluation import evaluate
from sim.model import MarketModel


def _same_run(a: MarketModel, b: MarketModel) -> None:
    assert base_frame(a).equals(base_frame(b))
    assert a.ledger.to_frame().equals(b.ledger.to_frame())
    sa, sb = a.summary(), b.summary()
    same = [k for k in sa if k in sb and not k.startswith(("campaign", "festival_deferred", "festival_prepeak"))]
    assert [sa[k] for k in same] == [sb[k] for k in same]


def _festival(discount: float, announce: int | None = 16, days: int = 45, size: int = 3000, **festival):
    """A festival on day 30 with ``discount`` off that day, announced on ``announce``."""
    return small_config(days=days, population={"size": size}, campaign={
        "discount": {"rate": discount, "start_day": 30, "end_day": 30},
        "festival": {"announce_day": announce, "announced_discount": discount, **festival}})


# --------------------------------------------------------------------------- the rule
def test_defer_probability_rises_with_the_saving_and_falls_with_urgency_and_budget():
    p = lambda d=0.3, beta=2.0, tau=7, budget=150.0: defer_probability(  # noqa: E731
        d, np.array([beta]), np.array([80.0]), 80.0, tau, 7.0, np.array([budget]), 150.0, 0.5, 1.0, 0.8)[0]
    assert p() == pytest.approx(0.3)  # 2 x 0.3 / (1 + 7/7)
    assert p(d=0.0) == 0.0 and p(d=0.1) < p(d=0.3) < p(d=0.5)
    assert p(beta=1.0) < p(beta=3.0)
    assert p(tau=14) < p(tau=7) < p(tau=1)
    assert p(budget=600.0) < p(budget=150.0) < p(budget=50.0)
    assert p(d=0.9, beta=10.0, tau=1) == 0.8  # the cap
    waiting = np.array([True, True, False])
    assert still_waiting(waiting, np.array([0.01, 0.5, 0.0]), 0.05).tolist() == [False, True, False]
    # gives up when its uniform falls below the decay: at u = decay it still waits
    assert still_waiting(np.array([True, True]), np.array([0.05, 0.0499]), 0.05).tolist() == [True, False]


# --------------------------------------------------------------------------- zero intensity
@pytest.mark.parametrize("settings", [
    {"announced_discount": 0.0}, {"defer_weight": 0.0}, {"announce_day": None},
])
def test_a_festival_not_announced_or_at_zero_intensity_is_the_festival_without_anticipation(settings):
    plain = MarketModel(small_config(days=40, campaign={"festival": {}})).run()
    zero = MarketModel(small_config(days=40, campaign={"festival": {
        "announce_day": 20, "announced_discount": 0.3, **settings}})).run()
    _same_run(plain, zero)
    assert zero.metrics.frame()["festival_deferred"].sum() == 0


def test_a_presale_at_zero_intensity_is_the_baseline():
    base = MarketModel(small_config(days=40)).run()
    zero = MarketModel(small_config(days=40, campaign={"presale": {"rate": 0.0, "deposit_multiplier": 1.0}})).run()
    _same_run(base, zero)
    assert zero.summary()["presale_deposits"] == 0


def test_a_calendar_without_weekday_effects_changes_nothing():
    plain = MarketModel(small_config(days=40, campaign={"festival": {"start_day": 30, "end_day": 30}})).run()
    dated = MarketModel(small_config(days=40, start_date="2025-10-13", campaign={
        "festival": {"start_day": "double11", "end_day": "2025-11-11"}})).run()
    assert dated.config.campaign.mechanisms == plain.config.campaign.mechanisms
    _same_run(plain, dated)


# --------------------------------------------------------------------------- directions
@pytest.fixture(scope="module")
def by_discount():
    """Festival runs (with their baselines) by announced discount, and one not announced."""
    runs = {d: evaluate(_festival(d)).summary() for d in (0.1, 0.3, 0.5)}
    runs["unannounced"] = evaluate(_festival(0.3, announce=None)).summary()
    return runs


def test_announcing_a_festival_creates_a_pre_peak_dip_that_grows_with_the_discount(by_discount):
    assert by_discount["unannounced"]["festival_prepeak_gmv_ratio"] == 1.0  # measured before: x1.000
    dips = [by_discount[d]["festival_prepeak_gmv_ratio"] for d in (0.1, 0.3, 0.5)]
    assert 0 < dips[2] < dips[1] < dips[0] < 1
    deferred = [by_discount[d]["festival_deferred"] for d in (0.1, 0.3, 0.5)]
    assert 0 < deferred[0] < deferred[1] < deferred[2]
    for d in (0.1, 0.3, 0.5):
        s = by_discount[d]
        assert s["festival_deferred_returned"] + s["festival_deferred_decayed"] <= s["festival_deferred_consumers"]
        assert 0 < s["festival_deferred_bought"] <= s["festival_peak_orders"]


def test_the_festivals_incremental_gmv_is_lower_with_anticipation(by_discount):
    with_, without = by_discount[0.3], by_discount["unannounced"]
    assert with_["festival_net_gmv"] < without["festival_net_gmv"]
    assert with_["incremental_gmv"] < without["incremental_gmv"]
    assert with_["festival_peak_gmv_ratio"] > without["festival_peak_gmv_ratio"]  # the deferred come back
    assert with_["festival_prepeak_loss"] > 0 == without["festival_prepeak_loss"]


def test_deferred_demand_decays_with_its_key():
    kept = MarketModel(_festival(0.3, defer_decay=0.0)).run().summary()
    lost = MarketModel(_festival(0.3, defer_decay=1.0)).run().summary()
    assert kept["festival_deferred_decayed"] == 0 < lost["festival_deferred_decayed"]
    assert lost["festival_deferred_returned"] == 0 < kept["festival_deferred_returned"]
    assert lost["festival_peak_gmv"] < kept["festival_peak_gmv"]


def test_the_hangover_is_emergent_and_the_optional_extra_deepens_it():
    plain = evaluate(_festival(0.3)).summary()
    extra = evaluate(_festival(0.3, hangover_utility=2.0)).summary()
    assert plain["festival_hangover_visitors"] == 0  # no penalty at the default 0
    assert extra["festival_hangover_gmv_ratio"] < plain["festival_hangover_gmv_ratio"]


# --------------------------------------------------------------------------- pre-sale
PRESALE = {"presale": {"deposit": 20.0, "deposit_multiplier": 2.0, "balance_default": 0.2, "budget": 2500.0},
           "coupon": {}, "festival": {"announce_day": 20, "announced_discount": 0.3}}


@pytest.fixture(scope="module")
def presale_run():
    return MarketModel(small_config(days=40, population={"size": 3000}, campaign=PRESALE)).run()


def test_presale_money_balances_to_the_fen(presale_run):
    m = presale_run
    p = m.mechanism["presale"]
    deposits = p.deposits_frame()
    assert set(deposits["status"]) == {"paid", "forfeited"}
    paid = deposits[deposits["status"] == "paid"]
    orders = m.ledger.to_frame()
    orders = orders[orders["channel"] == p.index + 1]
    assert len(orders) == len(paid) == m.summary()["presale_orders"]
    assert (orders["day"] == 30).all()
    # what the buyers paid = deposits + balances; every deposit is credited or forfeited
    assert int((orders["value_cents"] - orders["discount_cents"]).sum()) == int(paid["deposit_cents"].sum()) + p.balance_cents
    assert int(deposits["deposit_cents"].sum()) == int(paid["deposit_cents"].sum()) + p.forfeited_cents
    assert (paid["value_cents"] - paid["discount_cents"] >= paid["deposit_cents"]).all()  # balance >= 0
    # the discounts (event price and 膨胀) are the campaign's cost, within its budget
    assert int(orders["discount_cents"].sum()) == p.discount_cents == p.spent_cents <= p.budget_cents
    s = m.summary()
    assert s["presale_forfeited"] * 100 == p.forfeited_cents
    assert round(s["campaign_cost_total"] * 100) == m.ledger.discount_cents + m.payments.total_cents


def test_presale_defaults_follow_their_key():
    runs = {b: MarketModel(small_config(days=40, campaign={"presale": {"balance_default": b}})).run().summary()
            for b in (0.0, 1.0)}
    assert runs[1.0]["presale_orders"] == 0 and runs[1.0]["presale_forfeited"] == runs[1.0]["presale_deposit_total"]
    assert runs[0.0]["presale_orders"] > 0
    assert runs[0.0]["presale_forfeited"] <= 0.1 * runs[0.0]["presale_deposit_total"]  # only the churned


# --------------------------------------------------------------------------- calendar
def test_weekday_visits_move_visits_to_their_days():
    week = (1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0)
    plain = MarketModel(small_config(days=28, start_date="2025-10-13")).run().metrics.frame()
    weekend = MarketModel(small_config(days=28, start_date="2025-10-13", market={"weekday_visits": week})
                          ).run().metrics.frame()
    sat_sun = plain["day"].isin([6, 7, 13, 14, 20, 21, 27, 28])  # 2025-10-13 is a Monday
    ratio = weekend["active_users"] / plain["active_users"]
    assert ratio[sat_sun].mean() > 1.3 and ratio[~sat_sun].mean() < ratio[sat_sun].mean()


def test_named_dates_resolve_by_the_start_date():
    cfg = build_config(days=400, start_date="2025-01-01", campaign={
        "festival": {"start_day": "double11", "end_day": "double11", "announce_day": "2025-10-24"},
        "discount": {"start_day": "618", "end_day": "618"},
        "quality_incident": {"start_day": "spring_festival", "end_day": "spring_festival"}})
    c = dict(cfg.campaign.mechanisms)
    assert (c["festival"].start_day, c["festival"].announce_day) == (315, 297)
    assert c["discount"].start_day == 169
    assert c["quality_incident"].start_day == 29  # 2025-01-29
    assert build_config(days=400, start_date="2025-02-01", campaign={
        "quality_incident": {"start_day": "spring_festival", "end_day": None}}).campaign.mechanisms[0][1].start_day == 382


def test_metrics_carry_the_date_when_there_is_a_calendar(tmp_path):
    from sim.outputs import write_run

    write_run(MarketModel(small_config(days=5, start_date="2025-11-09")).run(), tmp_path)
    frame = pd.read_parquet(tmp_path / "metrics.parquet")
    assert [str(d.date()) for d in frame["date"]] == ["2025-11-09", "2025-11-10", "2025-11-11", "2025-11-12",
                                                      "2025-11-13"]


# --------------------------------------------------------------------------- bad values
@pytest.mark.parametrize("data, key", [
    ({"campaign": {"festival": {"announce_day": 31}}}, "campaign.festival.announce_day"),
    ({"campaign": {"festival": {"announced_discount": 1.0}}}, "campaign.festival.announced_discount"),
    ({"campaign": {"festival": {"patience_days": 0.0}}}, "campaign.festival.patience_days"),
    ({"campaign": {"festival": {"defer_decay": 1.5}}}, "campaign.festival.defer_decay"),
    ({"campaign": {"festival": {"max_defer_prob": -0.1}}}, "campaign.festival.max_defer_prob"),
    ({"campaign": {"presale": {"event_day": 29}}}, "campaign.presale.event_day"),
    ({"campaign": {"presale": {"deposit_multiplier": 0.5}}}, "campaign.presale.deposit_multiplier"),
    ({"campaign": {"presale": {"balance_default": 1.5}}}, "campaign.presale.balance_default"),
    ({"campaign": {"presale": {"deposit": -1.0}}}, "campaign.presale.deposit"),
    ({"start_date": "2025-13-01"}, "start_date"),
    ({"market": {"weekday_visits": [1.0, 1.0]}}, "market.weekday_visits"),
    ({"market": {"weekday_visits": [1.0] * 6 + [2.0]}}, "market.weekday_visits"),  # no start_date
    ({"campaign": {"festival": {"start_day": "double11"}}}, "campaign.festival.start_day"),  # no start_date
    ({"start_date": "2025-01-01", "campaign": {"festival": {"start_day": "double11"}}},
     "campaign.festival.start_day"),  # outside the run
    ({"start_date": "2025-01-01", "campaign": {"festival": {"start_day": "christmas"}}},
     "campaign.festival.start_day"),
])
def test_bad_values_are_refused_in_one_line_by_key(data, key):
    with pytest.raises(ConfigError) as info:
        build_config({"days": 60, **data})
    assert info.value.key == key
    assert "\n" not in str(info.value)


def test_a_presale_whose_balance_day_is_after_the_run_is_refused():
    with pytest.raises(ConfigError) as info:
        MarketModel(small_config(days=25, campaign={"presale": {"start_day": 5, "end_day": 10, "event_day": 30}}))
    assert info.value.key == "campaign.presale.event_day"


def test_the_cli_refuses_a_bad_date_with_exit_2_and_writes_nothing(tmp_path):
    import os
    import subprocess

    out = tmp_path / "bad"
    proc = subprocess.run([PYTHON, "-m", "experiments.run", "progress=false", "campaign=festival",
                           "campaign.festival.start_day=double11", f"hydra.run.dir={out}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"})
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: campaign.festival.start_day="), proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_the_demo_counts_deferred_purchases_deposits_and_the_pre_peak_dip():
    from experiments.demo.glue import DemoModel
    from experiments.demo.views import counters_html

    model = DemoModel(size=1500, preset="double11_presale")
    for _ in range(31):
        model.step()
    c = model.counters()
    assert c["festival_deferred"] > 0 and c["presale_deposits"] > 0
    assert 0 < c["prepeak_gmv_ratio"] < 1
    html = counters_html(model)
    assert 'id="ctr-deferred"' in html and 'id="ctr-deposits"' in html and 'id="ctr-prepeak"' in html
    assert "festival_deferred" not in DemoModel(size=1500).counters()


# --------------------------------------------------------------------------- a flash sale announced ahead
def flash_run(seed=0, **flash):
    cfg = build_config(population={"size": 6000}, days=36, seed=seed,
                       campaign={"flash_sale": {"start_day": 30, "end_day": 32, **flash}})
    return evaluate(cfg)


def product_gmv(model, first, last, product=0):
    led = model.ledger.to_frame()
    sel = (led.day >= first) & (led.day <= last) & (led["product"] == product)
    return int(led.loc[sel, "value_cents"].sum())


def test_an_announced_flash_sale_that_nobody_hears_of_is_the_flash_sale_unannounced():
    """The run-up's hooks do nothing to whoever does not know: no stock, no announcement, no
    discount before the sale (known_share 0), the same orders to the fen."""
    plain = flash_run().model
    unheard = flash_run(announce_day=20, known_share=0.0).model
    pd.testing.assert_frame_equal(plain.ledger.to_frame(), unheard.ledger.to_frame())
    assert unheard.summary()["flash_deferred"] == 0


def test_an_announced_flash_sale_empties_the_run_up_more_the_deeper_it_is():
    dips = []
    for rate in (0.5, 0.8):
        result = flash_run(announce_day=20, rate=rate)
        plain = flash_run(rate=rate).model
        dips.append(product_gmv(result.model, 20, 29) / product_gmv(plain, 20, 29))
        s = result.model.summary()
        assert s["flash_deferred"] > 0 and 0 < s["flash_deferred_returned"] <= s["flash_deferred_consumers"]
        assert s["flash_deferred_bought"] > 0  # the waiting came back and bought on the sale days
        assert result.model.metrics.frame()["flash_deferred"].iloc[19:29].sum() == s["flash_deferred"]
    assert dips[0] < 0.85 and dips[1] < dips[0]


def test_a_flash_sale_announced_after_it_starts_is_refused():
    with pytest.raises(ConfigError, match=r"^campaign\.flash_sale\.announce_day"):
        build_config(campaign={"flash_sale": {"start_day": 30, "announce_day": 31}})
