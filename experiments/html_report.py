"""The self-contained HTML report of a comparison (``report.html``).

``render(comparison)`` fills ``templates/report.html.j2`` (Jinja2) with the
tables (``DataFrame.to_html`` / ``Styler``) and matplotlib plots embedded as
base64 PNG: inline CSS, no script, no external font, stylesheet or image, so it
opens without network access. ``comparison`` is an
``experiments.compare.Comparison`` (its tables, plan and ``kpi()``); this module
does not import ``experiments.compare``. Sections (``id``): ``setup``,
``headline``, ``gmv``, ``dau``, ``adopters``, ``retention``, ``cohorts``,
``funnel``, ``costs``, ``pairs``, ``method``.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from markupsafe import Markup, escape  # noqa: E402

from experiments.formatting import FESTIVAL, HEADLINE, bracket, fmt, seed_range, signed  # noqa: E402
from experiments.stats import band  # noqa: E402
from sim.outputs import atomic_write  # noqa: E402

#: (id, heading) of every section, in order.
SECTIONS = (("setup", "Setup"), ("headline", "Headline"), ("gmv", "Cumulative GMV"), ("dau", "Daily active users"),
            ("adopters", "Adopters"), ("retention", "Retention curves"), ("cohorts", "Cohort retention heatmap"),
            ("funnel", "Campaign funnel"), ("costs", "Cost breakdown"), ("pairs", "Paired differences"),
            ("method", "Method"))

#: Funnels: (id, title, ((summary key, stage label), ...)); a campaign funnel is shown for
#: the scenarios that report its first stage.
FUNNELS = (
    ("market", "Market", (("population", "consumers"), ("aware", "aware"), ("customers", "customers (≥ 1 order)"),
                          ("repeat_customers", "repeat customers (≥ 2 orders)"))),
    ("referral", "Referral / fission (裂变)", (("referral_invites_sent", "invites sent"),
                                              ("referral_invites_accepted", "invites accepted"),
                                              ("referral_conversions", "invitees converted"))),
    ("team_purchase", "Team purchase (拼团)", (("teams_opened", "teams opened"), ("teams_filled", "teams filled"))),
    ("community_groupbuy", "Community group-buy (社区团购)",
     (("groupbuy_reached", "reached by a leader"), ("groupbuy_new_customers", "first purchase via group-buy"))),
    ("coupon", "Coupons (优惠券)", (("coupons_issued", "coupons issued"), ("coupons_redeemed", "coupons redeemed"))),
    ("kol_seeding", "KOL seeding (种草)", (("kol_reach", "reach"), ("kol_engagements", "engagements"),
                                          ("kol_attributed_orders", "attributed orders"))),
    ("livestream", "Livestream (直播带货)", (("livestream_reach", "reach"), ("livestream_viewers", "viewers"),
                                          ("livestream_orders", "orders"))),
    ("koc_reviews", "KOC reviews (晒单)", (("koc_offered", "offered a reward"),
                                         ("koc_reviews_rewarded", "rewarded reviews"))),
)
RETENTION_HORIZON = 90  # days since first purchase shown in the retention plot
NA = "<span class='na'>n/a</span>"


def png(fig) -> str:
    """The figure as base64 PNG text (no "Software" chunk: matplotlib would write its web address)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def html_table(frame: pd.DataFrame, text: bool = False) -> Markup:
    """A table of formatted numbers in HTML (None shows as n/a), or of plain ``text`` (escaped)."""
    if text:
        return Markup(frame.to_html(border=0))
    return Markup(frame.astype(object).where(frame.notna(), NA).to_html(escape=False, border=0, classes="num"))


def palette(labels: list[str]) -> dict[str, tuple]:
    colors = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {label: colors(i % colors.N) for i, label in enumerate(labels)}


def matrix(long: pd.DataFrame, label: str, column: str, x: str = "day") -> tuple[np.ndarray, np.ndarray]:
    """``(x values, seeds × x array)`` of one scenario's ``column`` in a long table."""
    wide = long[long["scenario"] == label].pivot(index="seed", columns=x, values=column)
    return wide.columns.to_numpy(), wide.to_numpy(dtype=float)


def population(c, label: str) -> float:
    """Consumers per run of a scenario (from the runs: a graph file fixes its own size)."""
    return float(c.runs.loc[c.runs["scenario"] == label, "population"].mean())


def band_plot(c, series, ylabel: str, title: str, xlabel: str = "day", extra=None) -> str:
    """One line per scenario (mean over seeds of ``series(label) -> (x, seeds × x)``) and its
    t-interval band; ``extra(ax, label, color)`` draws more."""
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    for label, color in palette(c.labels).items():
        x, m = series(label)
        if m.size:
            mean, low, high = band(m, c.level)
            ax.plot(x, mean, color=color, label=label, lw=1.6)
            ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
            if extra:
                extra(ax, label, color)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return png(fig)


def adopters_plot(c) -> str:
    def aware(ax, label, color):
        x, m = matrix(c.daily, label, "aware")
        ax.plot(x, m.mean(axis=0) / population(c, label), color=color, ls=":", lw=1.2, label=f"{label}: aware")

    shares = {label: matrix(c.daily, label, "adopters") for label in c.labels}
    return band_plot(c, lambda label: (shares[label][0], shares[label][1] / population(c, label)),
                     "share of consumers", "Adopters (ever bought, solid) and aware (dotted)", extra=aware)


def pooled_cohorts(c, label: str) -> np.ndarray:
    """Cohort (first-purchase day f) × days since (k) share active, pooled over the seeds
    (Σ active / Σ cohort size); NaN where f + k is past the horizon or the cohort is empty."""
    days = c.plan.configs[label].days
    sub = c.cohorts[c.cohorts["scenario"] == label]
    active = sub.pivot_table(index="cohort_day", columns="day_since", values="active", aggfunc="sum")
    size = sub.drop_duplicates(["seed", "cohort_day"]).groupby("cohort_day")["cohort_size"].sum()
    steps = range(1, days + 1)
    share = active.reindex(index=steps, columns=steps).fillna(0).div(size.reindex(steps), axis=0).to_numpy()
    return np.where(np.add.outer(steps, steps) <= days, share, np.nan)


def cohorts_plot(c) -> tuple[str, float]:
    """One heatmap per scenario on one colour scale (capped at the 99th percentile); the cap."""
    shares = {label: pooled_cohorts(c, label) for label in c.labels}
    finite = np.concatenate([m[np.isfinite(m)] for m in shares.values()])
    vmax = float(np.quantile(finite, 0.99)) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    ncol = min(3, len(shares))
    nrow = math.ceil(len(shares) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.7 * ncol + 0.8, 3.3 * nrow), squeeze=False, layout="constrained")
    cmap = plt.get_cmap("viridis").with_extremes(bad="#f0f0f0")
    for ax, (label, m) in zip(axes.flat, shares.items()):
        image = ax.imshow(np.ma.masked_invalid(m), aspect="auto", cmap=cmap, vmin=0, vmax=vmax,
                          extent=(0.5, m.shape[1] + 0.5, m.shape[0] + 0.5, 0.5), interpolation="nearest")
        ax.set(title=label, xlabel="days since first purchase", ylabel="cohort (first-purchase day)")
    for ax in list(axes.flat)[len(shares):]:
        ax.axis("off")
    fig.colorbar(image, ax=axes, shrink=0.8, label="share of cohort active")
    return png(fig), vmax


def mean_kpi(c, label: str, key: str) -> float | None:
    if key == "population":  # a run's size, not a KPI
        return population(c, label)
    return (c.kpi(label, key) or (None,))[0]


def funnel_section(c) -> tuple[str, list[tuple[str, Markup]]]:
    """Bar charts of every funnel some scenario runs, and a table per funnel (mean count per run,
    with the share of the previous stage)."""
    funnels = [(title, stages, [label for label in c.labels if fid == "market" or mean_kpi(c, label, stages[0][0])])
               for fid, title, stages in FUNNELS]
    funnels = [f for f in funnels if f[2]]
    colors = palette(c.labels)
    ncol = min(2, len(funnels))
    nrow = math.ceil(len(funnels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.1 * nrow), squeeze=False, layout="constrained")
    tables = []
    for ax, (title, stages, shown) in zip(axes.flat, funnels):
        counts = pd.DataFrame({stage: [mean_kpi(c, label, key) for label in shown] for key, stage in stages},
                              index=shown, dtype=float)
        width = 0.8 / len(shown)
        for i, label in enumerate(shown):
            ax.bar(np.arange(len(stages)) + (i - (len(shown) - 1) / 2) * width, counts.loc[label].fillna(0), width,
                   color=colors[label], label=label)
        if counts.max().max() / max(counts[counts > 0].min().min(), 1e-9) > 100:
            ax.set_yscale("log")
        ax.set_xticks(np.arange(len(stages)), [textwrap.fill(s, 16) for _, s in stages], fontsize=7)
        ax.set_title(title.split(" (")[0], fontsize=10)  # the plot font may lack the Chinese glyphs
        ax.grid(alpha=0.3, axis="y")
        share = counts / counts.shift(axis=1).replace(0, np.nan)
        cells = counts.map(lambda v: fmt(v, "count")) + share.map(
            lambda v: "" if pd.isna(v) else f" <small>({v:.1%})</small>")
        tables.append((title, html_table(cells.rename(index=escape))))
    for ax in list(axes.flat)[len(funnels):]:
        ax.axis("off")
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncol=min(4, len(c.labels)),
               fontsize=8, frameon=False)
    return png(fig), tables


def interval_cell(iv, kind: str) -> str | None:
    """``mean<br>[low, high]`` of a ``kpi()`` tuple; None if undefined."""
    if iv is None:
        return None
    return f"{fmt(iv[0], kind)}<br><span class='iv'>{bracket(iv[1], iv[2], kind)}</span>"


def costs_section(c) -> tuple[str | None, Markup | None]:
    """Stacked mean cost per campaign family with the interval of the total, and the table of
    costs, incremental values and ROI; (None, None) without a campaign."""
    families = sorted(k[len("campaign_cost_"):] for k in c.runs.columns
                      if k.startswith("campaign_cost_") and k != "campaign_cost_total")
    if not families:
        return None, None
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    bottom = np.zeros(len(c.labels))
    for i, family in enumerate(families):
        values = np.array([mean_kpi(c, label, f"campaign_cost_{family}") or 0.0 for label in c.labels])
        ax.bar(c.labels, values, 0.6, bottom=bottom, label=family, color=plt.get_cmap("Set2")(i % 8))
        bottom += values
    totals = [c.kpi(label, "campaign_cost_total") or (0.0, None, None) for label in c.labels]
    errors = np.array([[t[0] - t[1], t[2] - t[0]] if t[1] is not None else [0, 0] for t in totals]).T
    ax.errorbar(c.labels, [t[0] for t in totals], yerr=errors, fmt="none", ecolor="black", capsize=4, lw=1)
    plt.setp(ax.get_xticklabels(), fontsize=8, **({"rotation": 30, "ha": "right"} if len(c.labels) > 4 else {}))
    ax.set(ylabel="yuan per run", title="Campaign cost by family (mean over seeds)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    rows = ([(f"campaign_cost_{f}", f"cost: {f}", "money") for f in families]
            + [("campaign_cost_total", "cost: total", "money"), ("incremental_gmv", "incremental GMV", "money"),
               ("incremental_customers", "incremental customers", "count"),
               ("incremental_margin", "incremental margin", "money"), ("roi", "ROI", "ratio"),
               ("incremental_net_margin", "incremental margin after returns", "money"),
               ("roi_net", "ROI after returns", "ratio")])
    table = pd.DataFrame({escape(label): [interval_cell(c.kpi(label, key), kind) for key, _, kind in rows]
                          for label in c.labels}, index=[name for _, name, _ in rows])
    return png(fig), html_table(table)


def headline_table(c) -> Markup:
    """Scenarios × headline KPIs: mean and ``[low, high]`` (``n=`` where fewer seeds define it)."""
    def cell(label, key, kind):
        iv = c.kpi(label, key)
        text = interval_cell(iv, kind)
        return text and text + (f" <small>n={iv[3]}</small>" if iv[3] < len(c.plan.seeds) else "")

    cells = {name: [cell(label, key, kind) for label in c.labels] for key, name, kind in HEADLINE}
    return html_table(pd.DataFrame(cells, index=[escape(label) for label in c.labels]))


def festival_table(c) -> Markup | None:
    """Scenarios with a festival × its windows against the baseline (None if none has one)."""
    labels = [label for label in c.labels if c.kpi(label, "festival_peak_gmv_ratio")]
    if not labels:
        return None
    cells = {name: [interval_cell(c.kpi(label, key), kind) for label in labels] for key, name, kind in FESTIVAL}
    return html_table(pd.DataFrame(cells, index=[escape(label) for label in labels]))


def pairs_table(c) -> Markup | None:
    """Each pair × headline KPI: both means, b − a with its interval, distinguishable (highlighted)."""
    if c.pairs.empty:
        return None
    named = {key: (name, kind) for key, name, kind in HEADLINE}
    table = pd.DataFrame([
        {"pair": f"{r.scenario_b} − {r.scenario_a}", "KPI": name, "mean a": fmt(r.mean_a, kind),
         "mean b": fmt(r.mean_b, kind), "difference b − a": signed(r.diff_mean, kind),
         f"{c.level:.0%} interval": bracket(r.diff_low, r.diff_high, kind, sign=True),
         "distinguishable": ("yes" if r.distinguishable else "no" if r.n else "n/a") + f" (n={r.n})"}
        for r in c.pairs.itertuples() if r.kpi in named for name, kind in [named[r.kpi]]]).set_index(["pair", "KPI"])

    def highlight(row):
        return ["background:#e4f4e4" if row["distinguishable"].startswith("yes") else ""] * len(row)

    styled = table.style.set_uuid("pairs").set_table_attributes('class="num"').apply(highlight, axis=1)
    return Markup(styled.format(escape="html").format_index(escape="html", axis=0).to_html())


def context(c) -> dict:
    """Everything the template shows."""
    configs = c.plan.configs
    setup = pd.DataFrame([{"option": c.plan.names[label], "description": cfg.scenario.description,
                           "campaigns": ", ".join(cfg.campaign.keys) or "—", "consumers": f"{cfg.population.size:,}",
                           "days": cfg.days, "network": cfg.network.kind} for label, cfg in configs.items()],
                         index=list(configs))
    cohorts_png, cohorts_cap = cohorts_plot(c)
    funnel_png, funnel_tables = funnel_section(c)
    costs_png, costs_table = costs_section(c)
    return dict(
        c=c, sections=SECTIONS, headings=dict(SECTIONS), title="Scenario comparison: " + ", ".join(c.labels),
        level=f"{c.level:.0%}", seeds=seed_range(c.plan.seeds), first=configs[c.labels[0]],
        setup_table=html_table(setup, text=True), headline_table=headline_table(c), pairs_table=pairs_table(c),
        festival_table=festival_table(c),
        gmv_png=band_plot(c, lambda label: cumulative_gmv(c, label), "cumulative GMV (yuan)", "Cumulative GMV"),
        dau_png=band_plot(c, lambda label: matrix(c.daily, label, "active_users"), "active users (visited that day)",
                          "Daily active users (DAU)"),
        adopters_png=adopters_plot(c),
        retention_png=band_plot(c, lambda label: retention_curves(c, label), "share of cohort active",
                                "Retention by days since first purchase", "days since first purchase"),
        cohorts_png=cohorts_png, cohorts_cap=cohorts_cap, funnel_png=funnel_png, funnel_tables=funnel_tables,
        costs_png=costs_png, costs_table=costs_table)


def cumulative_gmv(c, label: str) -> tuple[np.ndarray, np.ndarray]:
    """``(days, seeds × days)`` GMV summed up to each day (yuan)."""
    days, gmv = matrix(c.daily, label, "gmv")
    return days, np.cumsum(gmv, axis=1)


def retention_curves(c, label: str) -> tuple[np.ndarray, np.ndarray]:
    """``(days since first purchase, seeds × days)`` N-day retention (shares), days 1 to 90 at most."""
    x, m = matrix(c.retention, label, "retention", "day_since")
    keep = (x >= 1) & (x <= RETENTION_HORIZON)
    return x[keep], m[:, keep]


def render(c) -> str:
    """The report as one HTML string."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("experiments", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(context(c))


def write_html(c, path: str | Path) -> Path:
    """Render and write ``report.html`` atomically."""
    text = render(c)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
