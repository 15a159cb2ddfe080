"""Calibration measurements of docs/validation.md: the default market and every platform preset.

    .venv/bin/python scripts/validation.py [--size 10000] [--days 180] [--seeds 0 1 2] [--out results/validation.json]

For each platform (the generic default and conf/platform/*.yaml) and seed it runs, at
``size`` consumers x ``days`` days: the market with no campaign (retention D1/D7/D30,
visit conversion, customers), a blanket and a targeted coupon (redemption), KOL
seeding by every KOL (engagement by follower tier), a referral programme (K-factor)
and a livestream (conversion of viewers vs the other visitors of the session days).
A campaign whose platform lacks the social feature is not run (reported as null).
Prints one table per measure (means over seeds, and the per-seed values) and writes
every number to ``--out``.

    .venv/bin/python scripts/validation.py --scenarios [--size 10000] [--seeds 0 1 2]

runs every named scenario of ``conf/scenario/`` (its own days) against its baseline
(common random numbers) and prints the table of ``docs/scenarios.md``.

    .venv/bin/python scripts/validation.py --sweep        # one platform key at a time, default market
    .venv/bin/python scripts/validation.py --kol-tiers    # KOL engagement by tier at 100,000 consumers
    .venv/bin/python scripts/validation.py --networks     # every network kind; drift of BA and Holme–Kim with N
    .venv/bin/python scripts/validation.py --returns      # return rates by sales channel, and retention without returns
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import numpy as np

from experiments.batch import compose
from scenarios.registry import load
from sim.model import MarketModel

PLATFORMS = ("generic", "taobao", "jd", "pinduoduo", "xiaohongshu", "douyin", "community_groupbuy")

#: measure -> campaign overrides (Hydra) it needs
CAMPAIGNS = {
    "baseline": [],
    "coupon": ["campaign=coupon"],
    "coupon_targeted": ["campaign=coupon", "campaign.coupon.target=segment",
                        "campaign.coupon.segment_min_quantile=0.5"],
    "coupon_threshold": ["campaign=coupon", "campaign.coupon.value=20", "campaign.coupon.threshold=100"],
    "kol_seeding": ["campaign=kol_seeding", "campaign.kol_seeding.kol_selection=all"],
    "referral": ["campaign=referral"],
    "livestream": ["campaign=livestream"],
}


def config(platform: str, measure: str, size: int, days: int, seed: int, extra=()):
    overrides = [f"platform={platform}", f"population.size={size}", f"days={days}", f"seed={seed}",
                 *CAMPAIGNS[measure], *extra]
    return compose(overrides).config


def measure(platform: str, what: str, size: int, days: int, seed: int, extra=()) -> dict | None:
    option = CAMPAIGNS[what][0].split("=")[1] if CAMPAIGNS[what] else None
    feature = load()[option].feature if option else None
    features = compose([f"platform={platform}"]).config.platform.social_features
    if feature is not None and feature not in features:
        return None
    model = MarketModel(config(platform, what, size, days, seed, extra)).run()
    s = model.summary()
    frame = model.metrics.frame()
    out = {"retention_d1": s["retention_d1"], "retention_d7": s["retention_d7"],
           "retention_d30": s["retention_d30"], "customers": s["customers"], "gmv": s["gmv"],
           "orders_per_customer": s["orders"] / s["customers"] if s["customers"] else None,
           "visit_cvr": frame["orders"].sum() / frame["active_users"].sum(),
           "aware": s["aware"]}
    if what.startswith("coupon"):
        out["coupon_redemption_rate"] = s["coupon_redemption_rate"]
    if what == "kol_seeding":
        out["kol_engagement_by_tier"] = s["kol_engagement_by_tier"]
        out["kol_sponsored_by_tier"] = s["kol_sponsored_by_tier"]
        out["kol_engagement_rate"] = s["kol_engagement_rate"]
    if what == "referral":
        out.update({k: s[k] for k in ("k_factor", "referral_invites_per_inviter", "referral_conversion_rate")})
    if what == "livestream":
        out.update({k: s[k] for k in ("livestream_conversion", "livestream_other_conversion")})
    return out


SCENARIOS = ("referral_launch", "referral_team_launch", "pinduoduo_team_purchase", "xiaohongshu_kol_seeding",
             "douyin_livestream_flash_sale", "livestream_returns", "community_groupbuy_leaders", "festival_peak",
             "double11_presale", "quality_incident", "crisis_response", "referral_fraud_wave")
#: scenario -> its headline KPIs (summary keys)
SCENARIO_KPIS = {
    "referral_launch": ("k_factor", "referral_conversions", "referral_fraud_losses"),
    "referral_team_launch": ("k_factor", "team_completion_rate"),
    "pinduoduo_team_purchase": ("teams_opened", "team_completion_rate", "team_new_customers"),
    "xiaohongshu_kol_seeding": ("kol_engagement_rate", "kol_attributed_orders", "koc_reviews_rewarded"),
    "douyin_livestream_flash_sale": ("livestream_conversion", "livestream_other_conversion", "flash_units_sold",
                                     "flash_stockouts"),
    "community_groupbuy_leaders": ("groupbuy_orders", "groupbuy_new_customers", "leader_commission"),
    "festival_peak": ("coupon_redemption_rate", "festival_peak_orders", "festival_new_aware"),
    "quality_incident": ("incident_affected_orders",),
    "livestream_returns": ("livestream_conversion", "return_rate", "refund_rate"),
    "double11_presale": ("festival_prepeak_gmv_ratio", "festival_peak_gmv_ratio", "festival_hangover_gmv_ratio",
                         "festival_deferred", "presale_deposits", "presale_default_rate"),
    "crisis_response": ("incident_affected_orders", "incident_compensated", "incident_recovered",
                        "incident_response_cost"),
    "referral_fraud_wave": ("k_factor", "referral_fake_claims", "referral_fraud_losses", "referral_rewards_paid"),
}


def scenario_table(size: int, seeds: list[int]) -> dict:
    from sim.evaluation import evaluate

    out = {}
    for name in SCENARIOS:
        runs = []
        for seed in seeds:
            cfg = compose([f"scenario={name}", f"population.size={size}", f"seed={seed}"]).config
            result = evaluate(cfg)
            s, b = result.model.summary(), result.baseline.summary()
            f, fb = result.model.metrics.frame(), result.baseline.metrics.frame()
            row = {"days": cfg.days, "platform": cfg.platform.name, "gmv": s["gmv"], "baseline_gmv": b["gmv"],
                   "customers": s["customers"], "baseline_customers": b["customers"],
                   "cost": s["campaign_cost_total"], "retention_d30": s["retention_d30"],
                   "baseline_retention_d30": b["retention_d30"],
                   "gross_margin": s["gross_margin"], "baseline_gross_margin": b["gross_margin"]}
            inc_margin = s["gross_margin"] - b["gross_margin"]
            row["roi"] = (inc_margin - row["cost"]) / row["cost"] if row["cost"] else None
            full = result.summary()  # with the incremental KPIs and the festival's windows
            row["roi_net"] = full.get("roi_net")
            row.update({k: full.get(k) for k in SCENARIO_KPIS[name]})
            if name == "festival_peak":  # GMV by phase of the festival, campaign / baseline
                for label, days in (("warmup", range(24, 30)), ("peak", range(30, 31)), ("hangover", range(31, 38)),
                                    ("after", range(38, 61))):
                    sel = f["day"].isin(days)
                    row[f"gmv_ratio_{label}"] = f.loc[sel, "gmv"].sum() / fb.loc[sel, "gmv"].sum()
            if name == "quality_incident":
                row["peak_detractors"] = int(f["detractors"].max())
                row["baseline_peak_detractors"] = int(fb["detractors"].max())
                row["churned"], row["baseline_churned"] = s["churned"], b["churned"]
            runs.append(row)
        out[name] = runs
        keys = [k for k in runs[0] if k not in ("days", "platform")]
        print(f"{name} ({runs[0]['platform']}, {runs[0]['days']} days): " + "; ".join(
            f"{k} {_fmt(mean([r[k] for r in runs]))}" for k in keys), flush=True)
    return out


#: platform key -> values for the sensitivity sweep (the others at the generic defaults)
SWEEP = {
    "personalization": (0.1, 0.2, 0.3, 0.5, 1.0),
    "platform_trust": (-0.3, 0.2, 0.4),
    "traffic_multiplier": (0.5, 1.5),
    "wom_multiplier": (0.8, 1.5, 2.0),
    "content_multiplier": (0.5, 1.5, 2.0),
    "price_level": (0.85, 0.95),
    "allocation_strength (popularity)": (0.3, 1.0),
    "allocation_strength (quality)": (1.0, 2.0),
}


def sweep(size: int, days: int, seeds: list[int]) -> None:
    """Retention, conversion and customers with one platform key moved at a time."""
    rows = [("generic", [])]
    for key, values in SWEEP.items():
        for v in values:
            if key.startswith("allocation_strength"):
                kind = key.split("(")[1].rstrip(")")
                rows.append((f"{kind} allocation, strength {v}", [f"platform.traffic_allocation={kind}",
                                                                   f"platform.allocation_strength={v}"]))
            else:
                rows.append((f"{key} {v}", [f"platform.{key}={v}"]))
    print(f"| platform key | D1 | D7 | D30 | visit CVR | customers | orders / customer |  ({size:,} x {days} days, "
          f"seeds {seeds})")
    for label, extra in rows:
        runs = [measure("generic", "baseline", size, days, seed, extra) for seed in seeds]
        m = {k: mean([r[k] for r in runs]) for k in runs[0]}

        def pct(key, digits=1):  # None: the run is too short to see that retention
            return "—" if m[key] is None else f"{m[key]:.{digits}%}"

        print(f"| {label} | {pct('retention_d1')} | {pct('retention_d7')} | {pct('retention_d30', 2)} | "
              f"{m['visit_cvr']:.1%} | {m['customers']:,.0f} | {m['orders_per_customer']:.2f} |", flush=True)


#: (population.kols.engagement_at_1pct, population.kols.engagement_elasticity) tried for the tiers
KOL_CANDIDATES = ((0.01, 0.3), (0.02, 0.3), (0.01, 0.4))


def kol_tiers(seeds: list[int], size: int = 100_000, days: int = 60) -> None:
    """Sponsored-post engagement by follower tier (kol_seeding, every KOL), default platform,
    the population standing for 2,000,000 users (population.represents): the tier bounds
    are 0.5 %, 5 % and 50 % of the consumers."""
    print(f"| engagement_at_1pct, elasticity | nano | micro | mid | mega |  ({size:,} x {days} days, seeds {seeds})")
    for at1k, el in KOL_CANDIDATES:
        extra = [f"population.kols.engagement_at_1pct={at1k}", f"population.kols.engagement_elasticity={el}",
                 "population.represents=2000000"]
        runs = [measure("generic", "kol_seeding", size, days, seed, extra) for seed in seeds]
        tiers = {t: mean([r["kol_engagement_by_tier"][t] for r in runs]) for t in ("nano", "micro", "mid", "mega")}
        n_mega = sum(r["kol_sponsored_by_tier"]["mega"] for r in runs)
        print(f"| {at1k}, {el} | " + " | ".join("—" if v is None else f"{v:.2%}" for v in tiers.values())
              + f" |  KOLs by tier, seed {seeds[0]}: {runs[0]['kol_sponsored_by_tier']}; mega KOLs in all seeds: {n_mega}",
              flush=True)


#: network.kind (and the variants the docs discuss) -> overrides
NETWORK_VARIANTS = {
    "barabasi_albert": ["network=barabasi_albert"],
    "holme_kim": ["network=holme_kim"],
    "erdos_renyi": ["network=erdos_renyi"],
    "watts_strogatz": ["network=watts_strogatz"],
    "watts_strogatz, rewire 0.01": ["network=watts_strogatz", "network.rewire_prob=0.01"],
    "sbm": ["network=sbm"],
    "sbm, mixing 0.02": ["network=sbm", "network.mixing=0.02"],
    "complete": ["network=complete"],
}
NO_WORD_OF_MOUTH = ["diffusion.strong_tie=0", "diffusion.weak_tie=0", "diffusion.reshare=0",
                    "market.social_proof_weight=0"]


def graph_shape(model: MarketModel) -> dict:
    """Mean and largest degree, global clustering (transitivity) and the strong ties' share."""
    adj = model.network.adjacency
    if adj is None:
        n = model.n
        return {"mean_degree": n - 1, "max_degree": n - 1, "clustering": 1.0, "strong": 0.0}
    a = adj.astype(bool).astype(float)
    deg = np.diff(adj.indptr)
    triangles = (a @ a).multiply(a).sum() / 6
    triples = float((deg * (deg - 1)).sum()) / 2
    strong = model.network.strength
    return {"mean_degree": float(deg.mean()), "max_degree": int(deg.max()),
            "clustering": 3 * triangles / triples if triples else 0.0,
            "strong": float(np.mean(strong)) if strong is not None else 0.0}


def network_row(overrides: list[str], size: int, days: int, seeds: list[int]) -> dict:
    runs, ablations, shapes, cascades = [], [], [], []
    base = [f"population.size={size}", f"days={days}"]
    for seed in seeds:
        model = MarketModel(compose([*base, f"seed={seed}", *overrides]).config).run()
        runs.append(model.metrics.frame())
        shapes.append(graph_shape(model))
        cascades.append(model.cascades_frame()["size"].to_numpy())
        off = MarketModel(compose([*base, f"seed={seed}", *overrides, *NO_WORD_OF_MOUTH]).config).run()
        ablations.append(off.metrics.frame())
    sizes = np.concatenate(cascades) if cascades else np.zeros(0)

    def at(frames, column, day):
        return statistics.fmean(float(f[column].iloc[min(day, days) - 1]) for f in frames) / size

    return {**{k: statistics.fmean(s[k] for s in shapes) for k in shapes[0]},
            "days_to_10pct_aware": statistics.fmean(float((f["aware"].to_numpy() >= 0.1 * size).argmax() + 1)
                                                    for f in runs),
            "aware_d10": at(runs, "aware", 10), "customers_d60": at(runs, "adopters", 60),
            "customers_end": at(runs, "adopters", days),
            "gmv_per_consumer": statistics.fmean(float(f["gmv"].sum()) for f in runs) / size,
            "word_of_mouth_share": 1 - at(ablations, "adopters", days) / at(runs, "adopters", days),
            "cascades": len(sizes) / len(seeds),
            "cascade_median": float(np.median(sizes)) if len(sizes) else None,
            "cascade_p99": float(np.quantile(sizes, 0.99)) if len(sizes) else None,
            "cascade_max": int(sizes.max()) if len(sizes) else None}


def networks(size: int, days: int, seeds: list[int], out: Path) -> None:
    """Every network kind at the default settings (plus the variants docs/validation.md
    discusses), and the drift of the scale-free generators with N."""
    table = {}
    print(f"{size:,} consumers x {days} days, seeds {seeds}; customers and GMV per consumer; "
          f"word-of-mouth share = customers lost by day {days} without ties, reshares and social proof")
    print("| network | mean degree | largest degree | clustering | strong ties | days to 10 % aware | aware day 10 "
          f"| customers day 60 | customers day {days} | GMV per consumer (¥) | word-of-mouth share "
          "| cascades per run | cascade size median / p99 / max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, overrides in NETWORK_VARIANTS.items():
        r = table[name] = network_row(overrides, size, days, seeds)
        casc = "—" if r["cascade_median"] is None else \
            f"{r['cascade_median']:.0f} / {r['cascade_p99']:.0f} / {r['cascade_max']:,}"
        print(f"| {name} | {r['mean_degree']:.1f} | {r['max_degree']:,.0f} | {r['clustering']:.3f} | {r['strong']:.0%} "
              f"| {r['days_to_10pct_aware']:.1f} | {r['aware_d10']:.1%} | {r['customers_d60']:.1%} "
              f"| {r['customers_end']:.1%} | {r['gmv_per_consumer']:.1f} | {r['word_of_mouth_share']:.0%} "
              f"| {r['cascades']:,.0f} | {casc} |", flush=True)
    drift = {}
    print("\nDrift with N (60 days; per consumer)")
    print("| network | consumers | largest degree | aware day 10 | customers day 60 | GMV per consumer (¥) |")
    print("|---|---|---|---|---|---|")
    for name in ("barabasi_albert", "holme_kim", "erdos_renyi"):
        for n in (5_000, 20_000, 100_000):
            runs, shapes = [], []
            for seed in seeds:
                model = MarketModel(compose([f"population.size={n}", "days=60", f"seed={seed}",
                                             *NETWORK_VARIANTS[name]]).config).run()
                runs.append(model.metrics.frame())
                shapes.append(int(np.diff(model.network.adjacency.indptr).max()))
            r = drift.setdefault(name, {})[n] = {
                "max_degree": statistics.fmean(shapes),
                "aware_d10": statistics.fmean(float(f["aware"].iloc[9]) for f in runs) / n,
                "customers_d60": statistics.fmean(float(f["adopters"].iloc[59]) for f in runs) / n,
                "gmv_per_consumer": statistics.fmean(float(f["gmv"].sum()) for f in runs) / n}
            print(f"| {name} | {n:,} | {r['max_degree']:,.0f} | {r['aware_d10']:.1%} | {r['customers_d60']:.1%} "
                  f"| {r['gmv_per_consumer']:.2f} |", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"size": size, "days": days, "seeds": seeds, "networks": table, "drift": drift},
                              indent=1))
    print(f"written: {out}")


#: sales channel measure -> the campaign that sells through it, all horizon long
RETURN_MEASURES = {
    "solo": [],
    "team": ["campaign=team_purchase"],
    "flash_sale": ["campaign=flash_sale", "campaign.flash_sale.start_day=1", "campaign.flash_sale.end_day=null",
                   "campaign.flash_sale.products=[]"],
    "livestream": ["campaign=livestream"],
}
NO_RETURNS = [f"market.returns.{c}.{j}=0" for c in RETURN_MEASURES for j in ("satisfied", "dissatisfied")]


def returns_table(size: int, days: int, seeds: list[int], platforms: list[str], out: Path) -> None:
    """Return rate of each sales channel (returns / orders of the channel, pooled over seeds) on
    each platform, the campaign that sells through it running all horizon; and the default
    market's retention with and without returns."""
    results: dict = {}
    print(f"{size:,} consumers x {days} days, seeds {seeds}: return rate by sales channel (pooled), refund rate")
    print("| sales channel | " + " | ".join(platforms) + " |")
    for channel, overrides in RETURN_MEASURES.items():
        cells = []
        for platform in platforms:
            sold = back = 0
            refund_rate = []
            for seed in seeds:
                try:
                    cfg = compose([f"platform={platform}", f"population.size={size}", f"days={days}",
                                   f"seed={seed}", *overrides]).config
                except Exception:  # the platform lacks the feature
                    break
                s = MarketModel(cfg).run().summary()
                sold += s["returns_by_channel"][channel]["orders"]
                back += s["returns_by_channel"][channel]["returns"]
                refund_rate.append(s["refund_rate"])
            if not sold:
                cells.append("—")
                continue
            results.setdefault(platform, {})[channel] = {"orders": sold, "returns": back, "refund_rate": refund_rate}
            cells.append(f"{back / sold:.1%} of {sold:,}")
        print(f"| {channel} | " + " | ".join(cells) + " |", flush=True)
    for label, extra in (("with returns", []), ("without returns", NO_RETURNS)):
        runs = [MarketModel(compose([f"population.size={size}", f"days={days}", f"seed={seed}", *extra]).config
                            ).run().summary() for seed in seeds]
        row = {k: mean([r[k] for r in runs]) for k in ("retention_d1", "retention_d7", "retention_d30", "customers",
                                                        "gmv", "net_gmv", "refund_rate", "return_rate")}
        results.setdefault("default_market", {})[label] = row
        print(f"default market, {label}: " + "; ".join(f"{k} {_fmt(v)}" for k, v in row.items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"size": size, "days": days, "seeds": seeds, "results": results}, indent=1))
    print(f"written: {out}")


INCIDENT = {"products": [0, 1, 2, 3], "start_day": 30, "end_day": 44}
NO_REPUTATION = {"high_rating_weight": 0.0, "low_rating_weight": 0.0, "wom_spillover": 1.0, "experience_spillover": 1.0}


def _merchant_days(size: int, days: int, seed: int, reviews=None, campaign=None):
    from sim.build import build_config
    model = MarketModel(build_config(population={"size": size}, days=days, seed=seed, reviews=reviews or {},
                                     campaign=campaign or {}))
    model.run()
    return model, model.merchant_days.frame()


def reputation(size: int, days: int, seeds: list[int]) -> None:
    """A quality incident at merchant 0 (its 4 products, days 30-44): the GMV it costs the
    merchant and its rivals, with reviews and attachment and without; the merchant's rating
    and the cost under each answer; fake reviews before and after detection."""
    print(f"incident at merchant 0, {size:,} consumers x {days} days, seeds {seeds}")
    print("| market | merchant 0's GMV lost | rivals' GMV lost | ratio |")
    for label, reviews in (("reviews, attached word of mouth (default)", None), ("no reviews, nothing attached", NO_REPUTATION)):
        focal, rival = [], []
        for seed in seeds:
            _, base = _merchant_days(size, days, seed, reviews)
            _, hit = _merchant_days(size, days, seed, reviews, {"quality_incident": INCIDENT})
            b, h = base.groupby("merchant").gmv.sum(), hit.groupby("merchant").gmv.sum()
            focal.append(1 - h[0] / b[0])
            rival.append(1 - h.drop(0).sum() / b.drop(0).sum())
        f, r = mean(focal), mean(rival)
        print(f"| {label} | {f:.1%} | {r:.1%} | {f / r:.1f} |" if r > 0 else f"| {label} | {f:.1%} | {r:.1%} | rivals gain |")
    print("| answer | merchant 0's rating, day 29 | mean of days 35-45 | day 60 | won back | cost ¥ |")
    for response in ("silence", "apology", "recall"):
        rows = []
        for seed in seeds:
            model, frame = _merchant_days(size, days, seed, None,
                                          {"quality_incident": {**INCIDENT, "response": response}})
            rating = frame[frame.merchant == 0].set_index("day").rating
            s = model.summary()
            rows.append((rating[29], rating.loc[35:45].mean(), rating[60], s["incident_recovered"],
                         s["incident_response_cost"]))
        m = [mean(col) for col in zip(*rows)]
        print(f"| {response} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:,.0f} | {m[4]:,.0f} |")
    fake = {"products": [0, 1, 2, 3], "reviews_per_day": 20, "detection_prob": 0.0, "audit_day": 45, "start_day": 10}
    before, after = [], []
    for seed in seeds:
        _, base = _merchant_days(size, days, seed)
        _, faked = _merchant_days(size, days, seed, None, {"fake_reviews": fake})
        b, f = (x[x.merchant == 0].set_index("day").gmv for x in (base, faked))
        before.append(f.loc[10:44].sum() / b.loc[10:44].sum())
        after.append(f.loc[46:75].sum() / b.loc[46:75].sum())
    print(f"fake reviews (20 a day of 5 stars on merchant 0's products from day 10, detected on day 45): "
          f"merchant 0's GMV x{mean(before):.3f} on days 10-44, x{mean(after):.3f} on days 46-75 (demoted 30 days)")


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4f}"


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--platforms", nargs="+", default=list(PLATFORMS))
    parser.add_argument("--measures", nargs="+", default=list(CAMPAIGNS))
    parser.add_argument("--out", default="results/validation.json")
    parser.add_argument("--scenarios", action="store_true", help="the scenario table instead")
    parser.add_argument("--sweep", action="store_true", help="the platform-key sensitivity table instead")
    parser.add_argument("--kol-tiers", action="store_true", help="KOL engagement by tier at 100,000 consumers")
    parser.add_argument("--reputation", action="store_true",
                        help="an incident at one merchant: focal vs rivals, crisis answers, fake reviews (90 days)")
    parser.add_argument("--returns", action="store_true", help="return rates by sales channel (generic, taobao, "
                        "pinduoduo, douyin) and the default market's retention with and without returns")
    parser.add_argument("--networks", action="store_true",
                        help="every network kind at the defaults (90 days unless --days), and BA/HK drift with N")
    args = parser.parse_args()
    logging.getLogger("MESA").setLevel(logging.WARNING)
    if args.sweep:
        sweep(args.size, args.days, args.seeds)
        return
    if args.kol_tiers:
        kol_tiers(args.seeds)
        return
    if args.reputation:
        days = 90 if args.days == parser.get_default("days") else args.days
        reputation(args.size, days, [0, 1, 2, 3] if args.seeds == parser.get_default("seeds") else args.seeds)
        return
    if args.returns:
        platforms = args.platforms if args.platforms != list(PLATFORMS) else ["generic", "taobao", "pinduoduo", "douyin"]
        returns_table(args.size, args.days, args.seeds, platforms, Path(args.out).with_name("returns.json"))
        return
    if args.networks:
        days = 90 if args.days == parser.get_default("days") else args.days
        seeds = [0, 1, 2, 3] if args.seeds == parser.get_default("seeds") else args.seeds
        networks(args.size, days, seeds, Path(args.out).with_name("networks.json"))
        return
    if args.scenarios:
        table = scenario_table(args.size, args.seeds)
        out = Path(args.out).with_name("scenarios.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"size": args.size, "seeds": args.seeds, "results": table}, indent=1))
        print(f"written: {out}")
        return
    results: dict = {}
    start = time.perf_counter()
    for platform in args.platforms:
        for what in args.measures:
            runs = [measure(platform, what, args.size, args.days, s) for s in args.seeds]
            results.setdefault(platform, {})[what] = runs
    print(f"{args.size:,} consumers x {args.days} days, seeds {args.seeds} "
          f"({time.perf_counter() - start:.0f} s)")
    rows = [("D1", "baseline", "retention_d1"), ("D7", "baseline", "retention_d7"),
            ("D30", "baseline", "retention_d30"), ("visit CVR", "baseline", "visit_cvr"),
            ("customers", "baseline", "customers"), ("orders/customer", "baseline", "orders_per_customer"),
            ("coupon redemption", "coupon", "coupon_redemption_rate"),
            ("coupon redemption, price-sensitive half", "coupon_targeted", "coupon_redemption_rate"),
            ("coupon redemption, ¥20 off ¥100", "coupon_threshold", "coupon_redemption_rate"),
            ("KOL engagement (all)", "kol_seeding", "kol_engagement_rate"),
            ("K-factor", "referral", "k_factor"),
            ("livestream conversion", "livestream", "livestream_conversion"),
            ("other visitors' conversion", "livestream", "livestream_other_conversion")]
    print("| measure | " + " | ".join(args.platforms) + " |")
    for label, what, key in rows:
        cells = []
        for platform in args.platforms:
            runs = results[platform].get(what)
            if not runs or runs[0] is None:
                cells.append("—")
                continue
            vals = [r[key] for r in runs]
            m = mean(vals)
            cells.append("n/a" if m is None else (f"{m:,.0f}" if abs(m) >= 100 else f"{m:.4f}")
                         + " (" + ", ".join("—" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}")
                                            for v in vals) + ")")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for platform in args.platforms:
        runs = results[platform].get("kol_seeding")
        if runs and runs[0] is not None:
            tiers = {t: mean([r["kol_engagement_by_tier"][t] for r in runs]) for t in ("nano", "micro", "mid", "mega")}
            print(f"KOL engagement by tier, {platform}: " + ", ".join(
                f"{t} {'—' if v is None else f'{v:.2%}'}" for t, v in tiers.items())
                  + f"; KOLs by tier (seed {args.seeds[0]}): {runs[0]['kol_sponsored_by_tier']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"size": args.size, "days": args.days, "seeds": args.seeds,
                                          "results": results}, indent=1))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
