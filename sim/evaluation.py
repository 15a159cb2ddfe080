"""A campaign measured against its own baseline.

The baseline is the same config with the campaign switched off and the same
seed. Every phase and every mechanism draws from its own random stream, and
per-consumer draws are indexed by consumer, so the two runs share their random
numbers (common random numbers): the difference is the campaign's effect, not
noise from reshuffled draws.

KPIs (money in yuan):

* ``incremental_gmv`` = GMV(campaign) − GMV(baseline);
* ``incremental_customers`` = customers(campaign) − customers(baseline);
* ``incremental_margin`` = gross margin(campaign) − gross margin(baseline), with
  gross margin = GMV − platform commission − cost of goods (before campaign spend);
* ``cac`` = campaign cost / incremental customers (null unless > 0 new customers);
* ``roi`` = (incremental margin − campaign cost) / campaign cost (null if cost is 0);
* after returns (``docs/model.md``, *Returns and refunds*): ``incremental_net_gmv`` and
  ``incremental_net_margin`` from net GMV and the net margin (net GMV − the commission
  kept − the cost of the goods kept), and ``roi_net`` = (incremental net margin −
  campaign cost) / campaign cost. The campaign's cost is the same (discounts on returned
  orders are not recovered), so 1 + ``roi_net`` = (1 + ``roi``) × incremental net margin /
  incremental margin.

A festival (``scenarios/festival.py``) adds, per window (``prepeak``: the week before
the peak; ``peak``; ``hangover``: ``hangover_days`` after it), the GMV ratio
campaign / baseline (``festival_<window>_gmv_ratio``) and the festival's net
incremental GMV over the three windows (``festival_net_gmv``): the peak's lift less
what was deferred before it (``festival_prepeak_loss``) and pulled forward from
after it (``festival_hangover_loss``), in yuan (:func:`window_effects`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import CampaignConfig, SimConfig
from sim.model import MarketModel


def baseline_config(config: SimConfig) -> SimConfig:
    """The same market with no campaign."""
    return config.replace(campaign=CampaignConfig())


def incremental(campaign: dict, baseline: dict) -> dict:
    """The incremental KPIs from two summaries (``MarketModel.summary()``)."""
    cost = campaign.get("campaign_cost_total", 0.0)
    inc_gmv = round(campaign["gmv"] - baseline["gmv"], 2)
    inc_customers = campaign["customers"] - baseline["customers"]
    inc_margin = round(campaign["gross_margin"] - baseline["gross_margin"], 2)
    inc_net_margin = round(campaign["net_margin"] - baseline["net_margin"], 2)
    return {
        "baseline_gmv": baseline["gmv"], "baseline_customers": baseline["customers"],
        "baseline_retention_d30": baseline["retention_d30"], "baseline_ltv": baseline["ltv"],
        "incremental_gmv": inc_gmv, "incremental_customers": inc_customers,
        "incremental_margin": inc_margin,
        "cac": round(cost / inc_customers, 4) if inc_customers > 0 and cost > 0 else None,
        "roi": round((inc_margin - cost) / cost, 6) if cost > 0 else None,
        "incremental_net_gmv": round(campaign["net_gmv"] - baseline["net_gmv"], 2),
        "incremental_net_margin": inc_net_margin,
        "roi_net": round((inc_net_margin - cost) / cost, 6) if cost > 0 else None,
    }


def window_effects(model: MarketModel, baseline: MarketModel) -> dict:
    """GMV of each festival window against the baseline (the mechanisms with ``windows``)."""
    import numpy as np

    out: dict = {}
    gmv, base = model.metrics.frame()["gmv"].to_numpy(), baseline.metrics.frame()["gmv"].to_numpy()
    for m in model.mechanisms:
        if not hasattr(m, "windows"):
            continue
        name = (lambda k: k) if m.key == "festival" else (lambda k, key=m.key: f"{key}_{k}")
        delta: dict[str, float] = {}
        for window, (a, b) in m.windows(min(len(gmv), len(base))).items():
            ours, theirs = float(np.sum(gmv[a - 1:b])), float(np.sum(base[a - 1:b]))
            out[name(f"festival_{window}_gmv_ratio")] = round(ours / theirs, 6) if theirs > 0 else None
            delta[window] = ours - theirs
        out[name("festival_prepeak_loss")] = round(-delta.get("prepeak", 0.0), 2)
        out[name("festival_hangover_loss")] = round(-delta.get("hangover", 0.0), 2)
        out[name("festival_net_gmv")] = round(sum(delta.values()), 2)
    return out


@dataclass
class Evaluation:
    model: MarketModel
    baseline: MarketModel | None

    def summary(self) -> dict:
        out = self.model.summary()
        if self.baseline is not None:
            out.update(incremental(out, self.baseline.summary()))
            out.update(window_effects(self.model, self.baseline))
        return out


def evaluate(config: SimConfig, progress: bool = False, with_baseline: bool = True) -> Evaluation:
    """Run ``config`` and, if it has a campaign, its baseline."""
    model = MarketModel(config).run(progress=progress)
    baseline = None
    if with_baseline and config.campaign.mechanisms:
        baseline = MarketModel(baseline_config(config)).run(progress=progress)
    return Evaluation(model, baseline)
