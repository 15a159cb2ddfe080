"""Consumers: one population held as numpy arrays, one array per attribute.

Consumers are too many to be Python objects. Traits are drawn once from the
``population`` config; state changes day by day through the consumer's rules, vectorized
functions over these arrays (``agents/hearing.py``, ``visiting.py``, ``buying.py``,
``judging.py``, ``talking.py``, ``churning.py``), applied in the phases of
:class:`~sim.model.MarketModel`. Index ``i`` is the same consumer in every array and in
the network.
"""

from __future__ import annotations

import numpy as np

from sim.config import PopulationConfig
from sim.distributions import draw

#: How a consumer first became aware (``Consumers.aware_source``).
SOURCE_NONE, SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, SOURCE_REFERRAL, SOURCE_TEAM = 0, 1, 2, 3, 4, 5
#: Sources whose trust is trust in friends.
FRIEND_SOURCES = (SOURCE_FRIENDS, SOURCE_REFERRAL, SOURCE_TEAM)


class Consumers:
    """Traits (fixed) and state (daily) of ``n`` consumers.

    Traits: ``price_sensitivity`` (utility per unit of relative price),
    ``quality_expectation`` ([0, 1]), ``trust_friends``, ``trust_kol``,
    ``trust_ads`` ([0, 1]), ``sharing_propensity`` (probability a satisfied
    buyer talks), ``budget`` (yuan per order), ``visit_propensity`` (multiplier of a
    customer's visit probability).
    Days are model days (1..days); -1 means never.
    """

    TRAITS = ("price_sensitivity", "quality_expectation", "trust_friends", "trust_kol",
              "trust_ads", "sharing_propensity", "budget")

    def __init__(self, n: int, cfg: PopulationConfig, rng: np.random.Generator, network=None,
                 homophily_rng: np.random.Generator | None = None, propensity_rng: np.random.Generator | None = None):
        self.n = n
        # its own stream, so that the other traits' draws do not depend on it
        self.visit_propensity = np.maximum(draw(cfg.visit_propensity, n, propensity_rng or rng), 0.0)
        for name in self.TRAITS:
            values = draw(getattr(cfg, name), n, rng)
            if name != "price_sensitivity" and name != "budget":
                values = np.clip(values, 0.0, 1.0)
            if cfg.homophily > 0 and network is not None:
                values = alike_friends(values, network, cfg.homophily, homophily_rng)
            setattr(self, name, values.astype(np.float64))
        self.price_sensitivity = np.maximum(self.price_sensitivity, 0.0)
        self.budget = np.maximum(self.budget, 0.0)
        # Ads and friends hazards are scaled by trust relative to the population mean,
        # so that the population-average hazards are exactly p and q.
        self.ads_factor = _relative(self.trust_ads)
        self.friends_factor = _relative(self.trust_friends)

        self.aware = np.zeros(n, dtype=bool)
        self.aware_day = np.full(n, -1, dtype=np.int32)
        self.aware_source = np.zeros(n, dtype=np.int8)
        self.first_purchase_day = np.full(n, -1, dtype=np.int32)
        self.last_purchase_day = np.full(n, -1, dtype=np.int32)
        self.n_orders = np.zeros(n, dtype=np.int32)
        self.satisfied_last = np.full(n, -1, dtype=np.int8)  # -1 never bought, 0 no, 1 yes
        self.wom_sign = np.zeros(n, dtype=np.int8)  # +1 promoter, -1 detractor, 0 silent
        self.wom_until = np.full(n, -1, dtype=np.int32)  # last day the consumer talks
        self.wom_merchant = np.zeros(n, dtype=np.int16)  # the merchant its word of mouth is about
        self.last_merchant = np.full(n, -1, dtype=np.int16)  # the merchant of its last purchase, -1 never
        self.kol_touch_day = np.full(n, -1, dtype=np.int32)  # last day engaged with a KOL post
        self.churned = np.zeros(n, dtype=bool)
        self.active = np.zeros(n, dtype=bool)  # visited the platform today

    @property
    def adopted(self) -> np.ndarray:
        """Ever bought."""
        return self.first_purchase_day >= 0


def alike_friends(values: np.ndarray, network, homophily: float, rng: np.random.Generator) -> np.ndarray:
    """``values`` reordered over the consumers so that friends are alike, each value kept
    (the trait's distribution does not change). The order is a latent score z: by
    community where the network has them, z_i = √h c_community + √(1 − h) e_i; otherwise e
    smoothed over friends, z ← (1 − h) e + h × (mean of the friends' z), three times;
    e, c standard normal. The largest value goes to the largest z, and so on."""
    e = rng.standard_normal(len(values))
    if network.community is not None:
        c = rng.standard_normal(int(network.community.max()) + 1)
        z = np.sqrt(homophily) * c[network.community] + np.sqrt(1.0 - homophily) * e
    else:
        z = e
        for _ in range(3):
            z = (1.0 - homophily) * e + homophily * network.neighbour_share(z)
    out = np.empty_like(values)
    out[np.argsort(z)] = np.sort(values)  # z is continuous: no ties, any sort kind gives this order
    return out


def _relative(trust: np.ndarray) -> np.ndarray:
    mean = trust.mean()
    return trust / mean if mean > 0 else np.ones_like(trust)
