"""Measurements of docs/validation.md (*Anticipation and pre-sale*): the pre-peak dip, the
peak and the hangover against the baseline, by announced discount, with and without
anticipation, and the ``double11_presale`` scenario.

    .venv/bin/python scripts/anticipation.py [--size 10000] [--seeds 0 1 2] [--out results/anticipation.json]

``festival_peak`` (taobao, peak day 30, warm-up coupons on days 24-29) with
``hangover_utility`` 0 and the peak-day discount ``campaign.discount.rate`` = d, not
announced and announced 14 days ahead (``announce_day`` 16, ``announced_discount`` d);
each run against the same market and seed with no campaign (common random numbers).
Prints means over the seeds and writes every number to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from pathlib import Path

from experiments.batch import compose
from sim.evaluation import incremental, window_effects
from sim.model import MarketModel

DISCOUNTS = (0.1, 0.2, 0.3, 0.5)
KEYS = ("festival_prepeak_gmv_ratio", "festival_peak_gmv_ratio", "festival_hangover_gmv_ratio",
        "festival_net_gmv", "incremental_gmv", "festival_deferred", "festival_deferred_bought",
        "presale_deposits", "presale_default_rate", "presale_forfeited")


def measured(overrides: list[str], baseline: MarketModel) -> dict:
    model = MarketModel(compose(overrides).config).run()
    s = model.summary()
    out = {**incremental(s, baseline.summary()), **window_effects(model, baseline)}
    return {k: out.get(k, s.get(k)) for k in KEYS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="results/anticipation.json")
    args = parser.parse_args()
    logging.getLogger("MESA").setLevel(logging.WARNING)
    rows: dict[str, list[dict]] = {}
    for seed in args.seeds:
        common = [f"population.size={args.size}", f"seed={seed}"]
        baseline = MarketModel(compose(["scenario=festival_peak", "campaign=none", *common]).config).run()
        for d in DISCOUNTS:
            fest = ["scenario=festival_peak", f"campaign.discount.rate={d}", "campaign.festival.hangover_utility=0",
                    *common]
            rows.setdefault(f"d={d} not announced", []).append(measured(fest, baseline))
            rows.setdefault(f"d={d} announced day 16", []).append(measured(
                [*fest, "campaign.festival.announce_day=16", f"campaign.festival.announced_discount={d}"], baseline))
        base11 = MarketModel(compose(["scenario=double11_presale", "campaign=none", *common]).config).run()
        rows.setdefault("double11_presale", []).append(measured(["scenario=double11_presale", *common], base11))
    means = {name: {k: (statistics.mean(r[k] for r in runs) if all(r[k] is not None for r in runs) else None)
                    for k in KEYS} for name, runs in rows.items()}
    print("| run | pre-peak | peak | hangover | festival net GMV ¥ | incremental GMV ¥ | deferred | deferred bought |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in means.items():
        print(f"| {name} | ×{m['festival_prepeak_gmv_ratio']:.3f} | ×{m['festival_peak_gmv_ratio']:.2f} | "
              f"×{m['festival_hangover_gmv_ratio']:.3f} | {m['festival_net_gmv']:+,.0f} | {m['incremental_gmv']:+,.0f} | "
              f"{'—' if m['festival_deferred'] is None else f'{m['festival_deferred']:,.0f}'} | "
              f"{'—' if m['festival_deferred_bought'] is None else f'{m['festival_deferred_bought']:,.0f}'} |")
    p = means["double11_presale"]
    print(f"double11_presale: {p['presale_deposits']:,.0f} deposits, default rate {p['presale_default_rate']:.3f}, "
          f"forfeited ¥{p['presale_forfeited']:,.0f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"size": args.size, "seeds": args.seeds, "means": means, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
