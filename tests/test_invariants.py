"""Invariants checked after every day of many random markets (a plain seeded loop).

Each config draws its size, horizon, network, rule keys, traffic allocation and a
random set of campaigns with small budgets (so that budgets bind), and runs day by
day; after each day the same invariants must hold:

* no campaign spends past its budget, and one whose budget is spent is exhausted;
* an exhausted campaign never acts again: none of its hooks but those it declares in
  ``outside_window`` (honouring what it already promised, within the budget) is
  called again, and it is never running again;
* the reserved team budget equals team_size x saving over the open teams, and the
  spend plus the reserve stays within the budget;
* no cohort counts more active customers on a day than its size;
* aware >= customers >= active (not churned) customers, the counters equal the arrays.
"""

import numpy as np
import pytest

from conftest import small_config
from scenarios.team_purchase import TeamPurchase
from sim.model import MarketModel

HOOKS = ("start_day", "post_content", "outreach", "adjust_offer", "ration", "take_deferred", "on_orders",
         "adjust_sharing", "adjust_churn", "end_day")
N_CONFIGS = 48


def random_campaigns(rng: np.random.Generator, days: int, sbm: bool) -> dict:
    def window() -> dict:
        start = int(rng.integers(1, days // 2 + 1))
        end = None if rng.random() < 0.5 else int(rng.integers(start, days + 1))
        return {"start_day": start, "end_day": end}

    def budget() -> float:
        return float(rng.choice([rng.integers(5, 60) * 10.0, round(float(rng.uniform(10, 400)), 2)]))

    options = {
        "referral": lambda: {"inviter_reward": float(rng.choice([5.0, 10.0, 20.0])),
                             "invitee_reward": float(rng.choice([0.0, 10.0])),
                             "reward_form": str(rng.choice(["cash", "coupon"])),
                             "fraud_share": float(rng.choice([0.0, 0.2])), "invite_rate": 0.6},
        "team_purchase": lambda: {"team_size": int(rng.integers(2, 5)), "window_days": float(rng.choice([0.5, 1, 3])),
                                  "team_discount": float(rng.uniform(0.1, 0.4)), "hassle": 0.05},
        "coupon": lambda: {"value": float(rng.choice([5.0, 10.0, 20.0])), "threshold": float(rng.choice([0.0, 50.0])),
                           "issue_prob": 0.1},
        "community_groupbuy": lambda: {"groupbuy_discount": float(rng.uniform(0.05, 0.3)),
                                       "leader_commission": float(rng.choice([0.0, 0.1])),
                                       "leader_share": 0.05, "reach_prob": 0.5},
        "discount": lambda: {"rate": float(rng.uniform(0.05, 0.3))},
        "new_user_subsidy": lambda: {"value": float(rng.choice([5.0, 15.0]))},
        "kol_seeding": lambda: {"n_kols": 3, "posts_per_week": 7.0, "fee_per_post": 30.0},
    }
    keys = [k for k in options if rng.random() < 0.45] or ["team_purchase"]
    out = {}
    for key in keys:
        settings = {**options[key](), **window()}
        if rng.random() < 0.85:
            settings["budget"] = budget()
        out[key] = settings
    return out


def random_config(seed: int):
    rng = np.random.default_rng(seed)
    days = int(rng.integers(15, 31))
    kind = str(rng.choice(["barabasi_albert", "watts_strogatz", "erdos_renyi", "sbm", "complete"]))
    network = {"kind": kind, "community_size": 40} if kind == "sbm" else {"kind": kind}
    return small_config(
        seed=seed, days=days, network=network,
        population={"size": int(rng.integers(200, 700)), "homophily": float(rng.uniform(0.0, 1.0))},
        diffusion={"innovation": float(rng.uniform(0.005, 0.05)), "strong_tie": float(rng.uniform(0.0, 0.2)),
                   "weak_tie": float(rng.uniform(0.0, 0.1)), "reshare": float(rng.uniform(0.0, 0.4))},
        market={"satisfaction_tolerance": float(rng.uniform(0.0, 0.3)),
                "negative_wom_multiplier": float(rng.uniform(0.0, 4.0)),
                "visit_decay_days": float(rng.uniform(1.0, 10.0)), "wom_days": int(rng.integers(1, 40)),
                "churn_hazard": float(rng.uniform(0.0, 0.05))},
        platform={"traffic_allocation": str(rng.choice(["uniform", "quality", "popularity"])),
                  "personalization": float(rng.choice([0.0, 0.3]))},
        campaign=random_campaigns(rng, days, kind == "sbm"))


def check_population(model: MarketModel) -> None:
    c, day = model.consumers, model.day
    assert model.n_aware == int(c.aware.sum())
    assert model.n_adopters == int(c.adopted.sum())
    assert model.n_churned == int(c.churned.sum())
    assert not (c.adopted & ~c.aware).any(), "a customer who never heard of the market"
    assert not (c.churned & ~c.adopted).any(), "a churned consumer who never bought"
    active_customers = model.n_adopters - model.n_churned
    assert model.n_aware >= model.n_adopters >= active_customers >= int((c.active & c.adopted & ~c.churned).sum())
    row = model.metrics.rows[-1]
    assert (row["day"], row["aware"], row["adopters"], row["churned"]) == (
        day, model.n_aware, model.n_adopters, model.n_churned)
    assert row["buyers"] <= row["active_users"] <= model.n_aware


def check_cohorts(model: MarketModel) -> None:
    coh, day = model.metrics.cohorts, model.day
    assert (coh.activity <= coh.size[:, None]).all(), "a cohort with more active customers than its size"
    assert int(coh.size.sum()) == model.n_adopters
    f, k = np.nonzero(coh.activity)
    assert (f + k <= day).all() and (f >= 1).all()


def check_campaigns(model: MarketModel, exhausted_on: dict) -> None:
    for m in model.mechanisms:
        assert m.spent_cents == m.discount_cents + sum(m.payments_cents.values())
        if m.budget_cents is not None:
            assert m.spent_cents <= m.budget_cents, f"{m.key} spent past its budget"
            if m.remaining_cents <= 0:
                assert m.exhausted, f"{m.key} spent its budget but is not exhausted"
        if isinstance(m, TeamPurchase):
            assert m.reserved_cents == m.cfg.team_size * int(m.saving_cents[m.t_product].sum())
            assert (m.t_count < m.cfg.team_size).all() and (m.t_count >= 1).all()
            if m.budget_cents is not None:
                assert m.spent_cents + m.reserved_cents <= m.budget_cents
        if m.key in exhausted_on:  # exhausted on an earlier day: acts no more
            assert m.exhausted and not m.running(model.day)
            acted = [(day, hook) for day, hook in m.calls if day > exhausted_on[m.key]]
            assert not acted, f"{m.key} exhausted on day {exhausted_on[m.key]} acted again: {acted[:3]}"
            for hook in HOOKS:
                if hook not in m.outside_window:
                    assert m not in model.mechanisms_for(hook), (m.key, hook)
        elif m.exhausted:
            exhausted_on[m.key] = model.day
    assert model.payments.total_cents == sum(sum(m.payments_cents.values()) for m in model.mechanisms)


def record_actions(model: MarketModel) -> None:
    """Each mechanism records (day, hook) of every call of a hook it runs only while running:
    what it does outside its window (honouring coupons, rewards and teams already promised,
    within the budget) is not acting again."""
    for m in model.mechanisms:
        m.calls = []
        for hook in HOOKS:
            if hook in m.outside_window:
                continue
            method = getattr(m, hook)

            def wrapper(*args, _method=method, _hook=hook, _m=m):
                _m.calls.append((model.day, _hook))
                return _method(*args)
            setattr(m, hook, wrapper)


@pytest.mark.parametrize("block", range(4))
def test_invariants_hold_after_every_day_of_random_markets(block):
    """48 random configs in 4 blocks (xdist keeps a file on one worker; blocks report apart)."""
    exhausted_somewhere = 0
    for seed in range(block, N_CONFIGS, 4):
        model = MarketModel(random_config(seed))
        record_actions(model)
        exhausted_on = {}
        for _ in range(model.config.days):
            model.step()
            check_population(model)
            check_cohorts(model)
            check_campaigns(model, exhausted_on)
        exhausted_somewhere += bool(exhausted_on)
        assert model.n_adopters > 0
    assert exhausted_somewhere >= 2  # budgets do bind in these markets


# ----------------------------------------------------------------- budgets, by hand
def referral_model(budget: float) -> MarketModel:
    return MarketModel(small_config(days=5, population={"size": 50}, campaign={"referral": {"budget": budget}}))


def test_pay_stops_the_campaign_when_the_budget_is_spent_exactly():
    model = referral_model(30.0)
    m = model.mechanisms[0]
    paid = m.pay(model, np.array([1, 2, 3]), np.array([1000, 1000, 1000]), "inviter_reward")
    assert paid.all() and m.spent_cents == 3000 and m.remaining_cents == 0
    assert m.exhausted and not m.running(1)


def test_pay_refuses_what_the_budget_cannot_cover_and_stops():
    model = referral_model(25.0)
    m = model.mechanisms[0]
    paid = m.pay(model, np.array([1, 2]), np.array([1000, 1000]), "inviter_reward")
    assert paid.all() and not m.exhausted and m.running(1)
    paid = m.pay(model, np.array([3, 4]), np.array([400, 200]), "invitee_reward")
    assert paid.tolist() == [True, False] and m.spent_cents == 2400 and m.exhausted
    assert model.payments.total_cents == 2400
    assert m.payments_cents == {"inviter_reward": 2000, "invitee_reward": 400}


def test_discounts_stop_the_campaign_when_the_budget_is_spent_exactly():
    model = referral_model(30.0)
    m = model.mechanisms[0]
    m.book_discounts(2999)
    assert not m.exhausted
    m.book_discounts(1)
    assert m.exhausted


def test_team_budget_reserves_every_seat_of_every_open_team():
    """Budget for exactly two full teams of 3 (3 x saving each): a third opener is refused
    while two teams are open, and the reserve is 3 x saving per open team."""
    model = MarketModel(small_config(days=10, population={"size": 300}, market={"merchants": 1,
                                     "products_per_merchant": 1, "list_price": {"dist": "constant", "value": 100.0}},
                                     campaign={"team_purchase": {"team_size": 3, "team_discount": 0.2,
                                                                 "window_days": 3.0, "hassle": 0.0,
                                                                 "budget": 120.0}}))
    m = model.mechanisms[0]
    assert m.saving_cents.tolist() == [2000]
    from sim.offer import Offer

    model.day = 1
    model._reset_today()
    model._word_of_mouth_shares()
    model.consumers.budget[:] = 0.0  # no friend can afford to join: teams stay open
    who = np.arange(3)
    offer = Offer.at_list_price(who, np.zeros(3, dtype=np.int64), model.catalogue.list_price_cents)
    m.adjust_offer(model, offer)
    assert (offer.deferred == m.index).all()
    lost = m.ration(model, offer, np.ones(3, dtype=bool))
    assert lost.sum() == 1  # three openers want 3 x 6000, the budget covers two full teams
    m.take_deferred(model, offer, ~lost)
    assert m.n_open == 2 and m.reserved_cents == 2 * 3 * 2000
    offer2 = Offer.at_list_price(np.array([10]), np.zeros(1, dtype=np.int64), model.catalogue.list_price_cents)
    m.adjust_offer(model, offer2)
    assert m.ration(model, offer2, np.ones(1, dtype=bool)).tolist() == [True]  # 12000 reserved: nothing left
