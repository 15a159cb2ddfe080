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
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

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
             "douyin_livestream_flash_sale", "community_groupbuy_leaders", "festival_peak", "quality_incident",
             "referral_fraud_wave")
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
            row.update({k: s.get(k) for k in SCENARIO_KPIS[name]})
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
        print(f"| {label} | {m['retention_d1']:.1%} | {m['retention_d7']:.1%} | {m['retention_d30']:.2%} | "
              f"{m['visit_cvr']:.1%} | {m['customers']:,.0f} | {m['orders_per_customer']:.2f} |", flush=True)


#: (population.kols.engagement_at_1k, population.kols.engagement_elasticity) tried for the tiers
KOL_CANDIDATES = ((0.025, 0.3), (0.006, 0.3), (0.012, 0.4), (0.013, 0.45))


def kol_tiers(seeds: list[int], size: int = 100_000, days: int = 60) -> None:
    """Sponsored-post engagement by follower tier (kol_seeding, every KOL), default platform;
    at 100,000 consumers the tier bounds are 500 / 5,000 / 50,000 simulated followers, so
    the nano tier exists (follower_min = 100)."""
    print(f"| engagement_at_1k, elasticity | nano | micro | mid | mega |  ({size:,} x {days} days, seeds {seeds})")
    for at1k, el in KOL_CANDIDATES:
        extra = [f"population.kols.engagement_at_1k={at1k}", f"population.kols.engagement_elasticity={el}"]
        runs = [measure("generic", "kol_seeding", size, days, seed, extra) for seed in seeds]
        tiers = {t: mean([r["kol_engagement_by_tier"][t] for r in runs]) for t in ("nano", "micro", "mid", "mega")}
        n_mega = sum(r["kol_sponsored_by_tier"]["mega"] for r in runs)
        print(f"| {at1k}, {el} | " + " | ".join("—" if v is None else f"{v:.2%}" for v in tiers.values())
              + f" |  KOLs by tier, seed {seeds[0]}: {runs[0]['kol_sponsored_by_tier']}; mega KOLs in all seeds: {n_mega}",
              flush=True)


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
    args = parser.parse_args()
    logging.getLogger("MESA").setLevel(logging.WARNING)
    if args.sweep:
        sweep(args.size, args.days, args.seeds)
        return
    if args.kol_tiers:
        kol_tiers(args.seeds)
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
