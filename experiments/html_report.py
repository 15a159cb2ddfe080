"""The self-contained HTML report of ``experiments.compare``.

One file, ``report.html``: inline CSS, plots embedded as base64 PNG, no script,
no external font, stylesheet or image, so it opens without network access.
Sections (``id``): ``setup``, ``headline``, ``gmv``, ``dau``, ``adopters``,
``retention``, ``cohorts``, ``funnel``, ``costs``, ``pairs``, ``method``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.stats import band  # noqa: E402
from sim.outputs import atomic_write  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from experiments.compare import Comparison

#: (id, heading) of every section, in order.
SECTIONS = (
    ("setup", "Setup"),
    ("headline", "Headline"),
    ("gmv", "Cumulative GMV"),
    ("dau", "Daily active users"),
    ("adopters", "Adopters"),
    ("retention", "Retention curves"),
    ("cohorts", "Cohort retention heatmap"),
    ("funnel", "Campaign funnel"),
    ("costs", "Cost breakdown"),
    ("pairs", "Paired differences"),
    ("method", "Method"),
)

#: Funnels: (id, title, [(summary key, stage label), ...]); campaign funnels are shown
#: where some scenario reports their first stage.
FUNNELS = (
    ("market", "Market", (("population", "consumers"), ("aware", "aware"),
                          ("customers", "customers (≥ 1 order)"), ("repeat_customers", "repeat customers (≥ 2 orders)"))),
    ("referral", "Referral / fission (裂变)", (("referral_invites_sent", "invites sent"),
                                              ("referral_invites_accepted", "invites accepted"),
                                              ("referral_conversions", "invitees converted"))),
    ("team_purchase", "Team purchase (拼团)", (("teams_opened", "teams opened"), ("teams_filled", "teams filled"))),
    ("community_groupbuy", "Community group-buy (社区团购)", (("groupbuy_reached", "reached by a leader"),
                                                            ("groupbuy_new_customers", "first purchase via group-buy"))),
    ("coupon", "Coupons (优惠券)", (("coupons_issued", "coupons issued"), ("coupons_redeemed", "coupons redeemed"))),
    ("kol_seeding", "KOL seeding (种草)", (("kol_reach", "reach"), ("kol_engagements", "engagements"),
                                          ("kol_attributed_orders", "attributed orders"))),
    ("livestream", "Livestream (直播带货)", (("livestream_reach", "reach"), ("livestream_viewers", "viewers"),
                                          ("livestream_orders", "orders"))),
    ("koc_reviews", "KOC reviews (晒单)", (("koc_offered", "offered a reward"),
                                         ("koc_reviews_rewarded", "rewarded reviews"))),
)


def _ascii_title(title: str) -> str:
    """The title without its Chinese term in brackets (the plot font may lack the glyphs)."""
    return title.split(" (")[0]


#: No "Software" text chunk (matplotlib would write its version and web address into each PNG).
PNG_METADATA = {"Software": None}

RETENTION_HORIZON = 90  # days since first purchase shown in the retention plot

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;
padding:0 1.2em 3em;color:#222;line-height:1.4}
h1{margin-top:1em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
nav{font-size:.9em}nav a{margin-right:.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ddd;padding:.25em .55em;vertical-align:top}
th{background:#f3f3f3;text-align:left}td.num{text-align:right;white-space:nowrap}
td small,td .iv{color:#666;font-size:.85em}
tr.pair th{background:#e8eef7}
.yes{background:#e4f4e4}.na{color:#999}
img{max-width:100%;height:auto;display:block;margin:.5em 0}
.note{background:#fff7e0;border-left:4px solid #e0b000;padding:.4em .8em}
p.caption{color:#555;font-size:.9em}
code{background:#f4f4f4;padding:0 .2em}
.scroll{overflow-x:auto}
"""


# ---------------------------------------------------------------------------- helpers
def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _img(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100, metadata=PNG_METADATA)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _colors(labels: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def _matrix(frames: list[pd.DataFrame], column: str) -> np.ndarray:
    if not frames:
        return np.zeros((0, 0))
    return np.vstack([f[column].to_numpy(dtype=float) for f in frames])


def _population(c: "Comparison", label: str) -> float:
    """Consumers per run (from the runs: a graph file fixes its own size)."""
    return float(c.runs.loc[c.runs["scenario"] == label, "population"].mean())


def _level(c: "Comparison") -> str:
    return f"{c.level:.0%}"


def _band_plot(c: "Comparison", series, ylabel: str, title: str, xlabel: str = "day") -> str:
    """One line per scenario (mean over seeds) with its t-interval band."""
    colors = _colors(c.labels)
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    for label in c.labels:
        x, m = series(label)
        if m.size == 0:
            continue
        mean, low, high = band(m, c.level)
        ax.plot(x, mean, color=colors[label], label=label, lw=1.6)
        ax.fill_between(x, low, high, color=colors[label], alpha=0.2, lw=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _img(fig, title)


def _fmt(value, kind: str) -> str:
    from experiments.compare import fmt

    return fmt(value, kind)


def _na(text: str) -> str:
    return f'<span class="na">{text}</span>' if text == "n/a" else text


# ---------------------------------------------------------------------------- sections
def _setup(c: "Comparison") -> str:
    plan = c.plan
    first = plan.configs[plan.labels[0]][plan.seeds[0]]
    rows = []
    for label in plan.labels:
        cfg = plan.configs[label][plan.seeds[0]]
        rows.append(f"<tr><td>{_esc(label)}</td><td><code>{_esc(plan.names[label])}</code></td>"
                    f"<td>{_esc(cfg.scenario.description)}</td>"
                    f"<td>{_esc(', '.join(cfg.campaign.keys) or '—')}</td>"
                    f"<td class='num'>{cfg.population.size:,}</td><td class='num'>{cfg.days}</td>"
                    f"<td>{_esc(cfg.network.kind)}</td></tr>")
    seeds = plan.seeds
    seed_text = (f"{seeds[0]}–{seeds[-1]}" if seeds == list(range(seeds[0], seeds[0] + len(seeds)))
                 and len(seeds) > 1 else ", ".join(map(str, seeds)))
    out = [
        f"<p>{len(plan.labels)} scenarios × {len(seeds)} seeds ({_esc(seed_text)}) = {plan.n_runs} runs, "
        f"{c.jobs} worker process{'es' if c.jobs > 1 else ''}, {c.elapsed:.1f} s. "
        f"Overrides applied to every scenario: "
        f"{'<code>' + _esc(' '.join(plan.overrides)) + '</code>' if plan.overrides else 'none'}. "
        f"Campaign scenarios are measured against their baseline (same market and seed, campaign off): "
        f"{'yes' if plan.baseline else 'no (baseline=false: no CAC / ROI)'}.</p>",
        "<div class='scroll'><table><tr><th>scenario</th><th>option</th><th>description</th><th>campaigns</th>"
        "<th>consumers</th><th>days</th><th>network</th></tr>" + "".join(rows) + "</table></div>",
        f"<p class='caption'>Seed s is the same market (network, consumers, catalogue, random streams) in every "
        f"scenario (common random numbers), so differences between scenarios at one seed are the effect of "
        f"the scenario, not of a different draw. Base market: {first.population.size:,} consumers, "
        f"{first.days} days, platform commission {first.platform.commission_rate:.1%}.</p>",
    ]
    for note in c.notes:
        out.append(f"<p class='note'>Note: {_esc(note)}</p>")
    return "\n".join(out)


def _headline(c: "Comparison") -> str:
    from experiments.compare import HEADLINE

    head = "".join(f"<th>{_esc(label)}</th>" for _, label, _ in HEADLINE)
    rows = []
    n_seeds = len(c.plan.seeds)
    for s in c.labels:
        cells = []
        for key, _, kind in HEADLINE:
            iv = c.kpi(s, key)
            if iv is None:
                cells.append("<td class='num na'>n/a</td>")
                continue
            mean, low, high, n = iv
            sub = (f"[{_fmt(low, kind)}, {_fmt(high, kind)}]" if low is not None else "no interval")
            if n < n_seeds:
                sub += f" n={n}"
            cells.append(f"<td class='num'>{_fmt(mean, kind)}<br><span class='iv'>{_esc(sub)}</span></td>")
        rows.append(f"<tr><th>{_esc(s)}</th>{''.join(cells)}</tr>")
    return (f"<p>Mean over seeds and its {_level(c)} t-interval [low, high]. n/a: the KPI is undefined for "
            f"the scenario (no campaign: no CAC / ROI; no referral: no K-factor; no team purchase: no "
            f"completion rate; CAC needs a positive incremental customer count). Retention is classic N-day "
            f"retention pooled over the cohorts of a run. Every KPI, with n, is in <code>summary.csv</code>.</p>"
            f"<div class='scroll'><table><tr><th>scenario</th>{head}</tr>{''.join(rows)}</table></div>")


def _gmv(c: "Comparison") -> str:
    def series(label):
        m = np.cumsum(_matrix(c.daily[label], "gmv"), axis=1)
        return np.arange(1, m.shape[1] + 1), m

    return (_band_plot(c, series, "cumulative GMV (yuan)", "Cumulative GMV")
            + f"<p class='caption'>Mean over seeds; band: {_level(c)} t-interval of the mean, day by day.</p>")


def _dau(c: "Comparison") -> str:
    def series(label):
        m = _matrix(c.daily[label], "active_users")
        return np.arange(1, m.shape[1] + 1), m

    return (_band_plot(c, series, "active users (visited that day)", "Daily active users (DAU)")
            + f"<p class='caption'>Consumers who visited the platform each day; mean and {_level(c)} band.</p>")


def _adopters(c: "Comparison") -> str:
    colors = _colors(c.labels)
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    for label in c.labels:
        frames = c.daily[label]
        if not frames:
            continue
        pop = _population(c, label)
        m = _matrix(frames, "adopters") / pop
        x = np.arange(1, m.shape[1] + 1)
        mean, low, high = band(m, c.level)
        ax.plot(x, mean, color=colors[label], label=f"{label}: customers", lw=1.6)
        ax.fill_between(x, low, high, color=colors[label], alpha=0.2, lw=0)
        ax.plot(x, _matrix(frames, "aware").mean(axis=0) / pop, color=colors[label], ls=":", lw=1.2,
                label=f"{label}: aware")
    ax.set(xlabel="day", ylabel="share of consumers", title="Adopters (ever bought) and aware", ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return (_img(fig, "Adopters")
            + f"<p class='caption'>Solid: customers (consumers who have bought at least once), mean and "
              f"{_level(c)} band; dotted: consumers aware of the market (mean).</p>")


def _retention(c: "Comparison") -> str:
    def series(label):
        m = c.retention[label]
        h = min(m.shape[1] - 1, RETENTION_HORIZON) if m.size else 0
        return np.arange(1, h + 1), m[:, 1:h + 1]

    return (_band_plot(c, series, "share of cohort active", "Retention by days since first purchase",
                       "days since first purchase")
            + f"<p class='caption'>Classic N-day retention, pooled over the cohorts of each run that can be "
              f"observed N days later; mean over seeds and {_level(c)} band (first "
              f"{RETENTION_HORIZON} days at most). The tail rests on the few early cohorts.</p>")


def _cohorts(c: "Comparison") -> str:
    mats = {}
    for label in c.labels:
        active, size = c.cohort_active.get(label), c.cohort_size.get(label)
        if active is None or active.size == 0:
            continue
        days = active.shape[0] - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            r = active[1:, 1:] / size[1:, None]
        f = np.arange(1, days + 1)[:, None]
        k = np.arange(1, days + 1)[None, :]
        r = np.where((f + k <= days) & (size[1:, None] > 0), r, np.nan)
        mats[label] = r
    if not mats:
        return "<p>No cohorts.</p>"
    finite = np.concatenate([m[np.isfinite(m)] for m in mats.values()])
    vmax = float(np.quantile(finite, 0.99)) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    ncol = min(3, len(mats))
    nrow = math.ceil(len(mats) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.7 * ncol + 0.8, 3.3 * nrow), squeeze=False,
                             layout="constrained")
    image = None
    for ax, (label, m) in zip(axes.flat, mats.items()):
        cmap = plt.get_cmap("viridis").with_extremes(bad="#f0f0f0")
        image = ax.imshow(np.ma.masked_invalid(m), origin="upper", aspect="auto", cmap=cmap, vmin=0, vmax=vmax,
                          extent=(0.5, m.shape[1] + 0.5, m.shape[0] + 0.5, 0.5), interpolation="nearest")
        ax.set_title(label, fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("cohort (first-purchase day)")
    for ax in axes[-1, :]:
        ax.set_xlabel("days since first purchase")
    if nrow > 1:  # the last row may be short: label the axes above its empty slots too
        for ax in axes[-2, len(mats) - (nrow - 1) * ncol:]:
            ax.set_xlabel("days since first purchase")
    for ax in list(axes.flat)[len(mats):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="share of cohort active")
    buf_html = _img_no_tight(fig, "Cohort retention heatmap")
    return (buf_html + f"<p class='caption'>Cell (f, k): share of the consumers who first bought on day f "
            f"that were active k days later, <b>pooled over all {len(c.plan.seeds)} seeds</b> "
            f"(Σ active / Σ cohort size), so small cohorts are less noisy than in one seed. Grey: not "
            f"observable (f + k beyond the horizon) or empty cohort. Colour scale shared, capped at the 99th "
            f"percentile ({vmax:.1%}).</p>")


def _img_no_tight(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata=PNG_METADATA)
    plt.close(fig)
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _stage_value(c: "Comparison", label: str, key: str):
    if key == "population":  # a run's size, not a KPI
        return _population(c, label)
    iv = c.kpi(label, key)
    return None if iv is None else iv[0]


def _funnels_present(c: "Comparison") -> list[tuple]:
    out = []
    for fid, title, stages in FUNNELS:
        if fid == "market" or any((c.kpi(label, stages[0][0]) or (0,))[0] for label in c.labels):
            out.append((fid, title, stages))
    return out


def _funnel(c: "Comparison") -> str:
    funnels = _funnels_present(c)
    colors = _colors(c.labels)
    ncol = min(2, len(funnels))
    nrow = math.ceil(len(funnels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.1 * nrow), squeeze=False)
    tables = []
    for ax, (fid, title, stages) in zip(axes.flat, funnels):
        values = {label: [_stage_value(c, label, key) for key, _ in stages] for label in c.labels}
        # campaign funnels: only the scenarios that run the mechanism
        shown = [label for label in c.labels if fid == "market" or values[label][0] is not None]
        width = 0.8 / max(1, len(shown))
        for i, label in enumerate(shown):
            ys = [v if v is not None else 0 for v in values[label]]
            ax.bar(np.arange(len(stages)) + (i - (len(shown) - 1) / 2) * width, ys, width, color=colors[label])
        flat = [v for label in shown for v in values[label] if v]
        if flat and max(flat) / max(min(flat), 1e-9) > 100:
            ax.set_yscale("log")
        ax.set_xticks(np.arange(len(stages)), [textwrap.fill(s, 16) for _, s in stages], fontsize=7)
        ax.set_title(_ascii_title(title), fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        rows = []
        for label in shown:
            cells = []
            for k, v in enumerate(values[label]):
                prev = values[label][k - 1] if k > 0 else None
                text = _fmt(v, "count")
                if v is not None and prev:
                    text += f" <small>({v / prev:.1%})</small>"
                cells.append(f"<td class='num'>{_na(text)}</td>")
            rows.append(f"<tr><th>{_esc(label)}</th>{''.join(cells)}</tr>")
        tables.append(f"<h3>{_esc(title)}</h3><div class='scroll'><table><tr><th>scenario</th>"
                      + "".join(f"<th>{_esc(stage)}</th>" for _, stage in stages) + "</tr>" + "".join(rows)
                      + "</table></div>")
    for ax in list(axes.flat)[len(funnels):]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[label]) for label in c.labels]
    fig.tight_layout(rect=(0, 0.06 + 0.02 * math.ceil(len(c.labels) / 4) / nrow, 1, 1))
    fig.legend(handles, c.labels, loc="lower center", ncol=min(4, len(c.labels)), fontsize=8, frameon=False)
    return (_img_no_tight(fig, "Campaign funnel")
            + "<p class='caption'>Mean count per run (over seeds); in the tables, in brackets, the share of the "
              "previous stage. Market funnel: consumers → aware → customers → repeat customers (the model does "
              "not record who ever visited, only daily visits: see DAU). A campaign funnel lists the scenarios "
              "that run its mechanism; counts are per run, over the whole horizon. Log scale where the stages "
              "span more than two orders of magnitude.</p>"
            + "".join(tables))


def _families(c: "Comparison") -> list[str]:
    return sorted(col[len("campaign_cost_"):] for col in c.runs.columns
                  if col.startswith("campaign_cost_") and col != "campaign_cost_total")


def _costs(c: "Comparison") -> str:
    families = _families(c)
    if not families:
        return "<p>No scenario runs a campaign: no campaign cost.</p>"
    colors = plt.get_cmap("Set2")
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    x = np.arange(len(c.labels))
    bottom = np.zeros(len(c.labels))
    for i, fam in enumerate(families):
        vals = np.array([(c.kpi(label, f"campaign_cost_{fam}") or (0.0,))[0] for label in c.labels])
        ax.bar(x, vals, 0.6, bottom=bottom, label=fam, color=colors(i % 8))
        bottom += vals
    lows = [c.kpi(label, "campaign_cost_total") for label in c.labels]
    err = np.array([[(iv[0] - iv[1]) if iv and iv[1] is not None else 0 for iv in lows],
                    [(iv[2] - iv[0]) if iv and iv[1] is not None else 0 for iv in lows]])
    totals = np.array([iv[0] if iv else 0.0 for iv in lows])
    ax.errorbar(x, totals, yerr=err, fmt="none", ecolor="black", capsize=4, lw=1)
    if len(c.labels) > 4:
        ax.set_xticks(x, c.labels, fontsize=8, rotation=30, ha="right")
    else:
        ax.set_xticks(x, c.labels, fontsize=8)
    ax.set(ylabel="yuan per run", title="Campaign cost by family (mean over seeds)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    keys = ([(f"campaign_cost_{f}", f"cost: {f}", "money") for f in families]
            + [("campaign_cost_total", "cost: total", "money"), ("incremental_gmv", "incremental GMV", "money"),
               ("incremental_customers", "incremental customers", "count"),
               ("incremental_margin", "incremental margin", "money"), ("roi", "ROI", "ratio")])
    rows = []
    for key, name, kind in keys:
        cells = []
        for label in c.labels:
            iv = c.kpi(label, key)
            text = "n/a" if iv is None else _fmt(iv[0], kind)
            if iv is not None and iv[1] is not None:
                text += f"<br><span class='iv'>[{_fmt(iv[1], kind)}, {_fmt(iv[2], kind)}]</span>"
            cells.append(f"<td class='num'>{_na(text)}</td>")
        rows.append(f"<tr><td>{_esc(name)}</td>{''.join(cells)}</tr>")
    return (_img(fig, "Cost breakdown")
            + f"<p class='caption'>Stacked: mean cost per family per run (discounts + cash paid, yuan); "
              f"whisker: {_level(c)} t-interval of the total. Incremental values are against each scenario's "
              f"own baseline (same market and seed, campaign off).</p>"
            + "<div class='scroll'><table><tr><th></th>" + "".join(f"<th>{_esc(label)}</th>" for label in c.labels) + "</tr>"
            + "".join(rows) + "</table></div>")


def _pairs(c: "Comparison") -> str:
    from experiments.compare import HEADLINE, fmt_delta

    if c.pairs.empty:
        return "<p>One scenario: no pairs.</p>"
    rows = []
    kinds = {k: kind for k, _, kind in HEADLINE}
    names = {k: name for k, name, _ in HEADLINE}
    pairs = c.pairs.drop_duplicates(["scenario_a", "scenario_b"])[["scenario_a", "scenario_b"]].itertuples(index=False)
    for a, b in pairs:
        rows.append(f"<tr class='pair'><th colspan='6'>{_esc(b)} − {_esc(a)}</th></tr>")
        sel = c.pairs[(c.pairs["scenario_a"] == a) & (c.pairs["scenario_b"] == b)].set_index("kpi")
        for key, _, kind in HEADLINE:
            if key not in sel.index:
                continue
            r = sel.loc[key]
            diff = None if pd.isna(r["diff_mean"]) else float(r["diff_mean"])
            if diff is None:
                dtext, itext = "n/a", "n/a"
            else:
                dtext = ("−" if diff < 0 else "+") + fmt_delta(abs(diff), kinds[key])
                itext = ("no interval" if pd.isna(r["diff_low"]) else
                         f"[{_signed(r['diff_low'], kinds[key])}, {_signed(r['diff_high'], kinds[key])}]")
            yes = bool(r["distinguishable"])
            cls = " class='yes'" if yes else ""
            rows.append(
                f"<tr{cls}><td>{_esc(names[key])}</td>"
                f"<td class='num'>{_na(_fmt(_num(r['mean_a']), kind))}</td>"
                f"<td class='num'>{_na(_fmt(_num(r['mean_b']), kind))}</td>"
                f"<td class='num'>{_na(dtext)}</td><td class='num'>{_na(itext)}</td>"
                f"<td>{'yes' if yes else ('no' if diff is not None else 'n/a')} "
                f"<small>(n={int(r['n'])})</small></td></tr>")
    return (f"<p>For each pair, the per-seed difference b − a (common random numbers: same market per seed), "
            f"its mean and {_level(c)} t-interval over the seeds where both are defined; "
            f"<b>distinguishable</b> when the interval excludes 0 (highlighted). Retention differences in "
            f"percentage points. All KPIs: <code>pairs.csv</code>.</p>"
            "<div class='scroll'><table><tr><th>KPI</th><th>mean a</th><th>mean b</th><th>difference b − a</th>"
            f"<th>{_level(c)} interval</th><th>distinguishable</th></tr>" + "".join(rows) + "</table></div>")


def _num(v):
    return None if v is None or pd.isna(v) else float(v)


def _signed(value, kind: str) -> str:
    from experiments.compare import fmt_delta

    value = float(value)
    return ("−" if value < 0 else "+" if value > 0 else "") + fmt_delta(abs(value), kind)


def _method(c: "Comparison") -> str:
    return (f"<p>Every scenario runs at the same seeds; each run is one independent market. A KPI's mean over "
            f"the n seeds where it is defined gets the t-interval mean ± t<sub>(1+{c.level:g})/2, n−1</sub> · "
            f"s/√n (s: sample standard deviation). n = 1 gives no interval (n/a). For a pair, the same interval "
            f"is taken over the per-seed differences (a paired t-interval): it is narrower than comparing two "
            f"independent intervals because both scenarios share each seed's market. An interval that excludes "
            f"0 means the difference is distinguishable from zero at the {_level(c)} level (one comparison at a "
            f"time: with many pairs and KPIs, some will be flagged by chance). The intervals describe the "
            f"model's randomness at fixed parameters, not uncertainty about the parameters themselves.</p>"
            "<p>Files beside this report: <code>summary.csv</code> (scenario × KPI: mean, low, high, n), "
            "<code>pairs.csv</code> (pair × KPI), <code>runs.csv</code> (scenario × seed, every KPI). "
            "Definitions of the KPIs: <code>docs/model.md</code>; of this report: <code>docs/compare.md</code>.</p>")


BUILDERS = {"setup": _setup, "headline": _headline, "gmv": _gmv, "dau": _dau, "adopters": _adopters,
            "retention": _retention, "cohorts": _cohorts, "funnel": _funnel, "costs": _costs,
            "pairs": _pairs, "method": _method}


def render(c: "Comparison") -> str:
    """The report as one HTML string."""
    title = "Scenario comparison: " + ", ".join(c.labels)
    nav = " ".join(f'<a href="#{sid}">{_esc(head)}</a>' for sid, head in SECTIONS)
    body = [f"<section id='{sid}'><h2>{_esc(head)}</h2>\n{BUILDERS[sid](c)}\n</section>" for sid, head in SECTIONS]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_esc(title)}</title>"
            f"<style>{CSS}</style></head><body>\n<h1>{_esc(title)}</h1>\n<nav>{nav}</nav>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_html(c: "Comparison", path: str | Path) -> Path:
    """Render and write ``report.html`` atomically."""
    text = render(c)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
