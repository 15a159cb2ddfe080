"""Drawing the demo: the network, the line charts and the counters as SVG / HTML strings.

Pure functions of a :class:`~experiments.demo.glue.DemoModel` (no Solara): the
app puts the strings into ``solara.HTML`` elements, the tests parse them. SVG
keeps the page free of any charting library's front-end assets (which Solara
would fetch from a CDN) and costs about a millisecond per frame to build: the
static parts (ties, KOL links, each consumer's position and size) are formatted
once per network view and cached on it; a frame only writes each consumer's
state class and today's events (rings, referral arrows, today's reshare cascades
along the ties). The ties are a layer of their own
(:func:`network_ties_svg`), unchanged from frame to frame, so Solara sends them
to the browser once per network instead of with every frame.
"""

from __future__ import annotations

import html
import math

import numpy as np

from experiments.demo.glue import AWARE, CHURNED, CUSTOMER, STATE_NAMES, UNAWARE, DemoModel, NetworkView

#: Fill colour of each consumer state (unaware, aware, customer, churned).
STATE_COLOURS = {UNAWARE: "#cfd8dc", AWARE: "#42a5f5", CUSTOMER: "#43a047", CHURNED: "#e53935"}
KOL_COLOUR = "#ffb300"
EVENT_COLOURS = {"new_customers": "#1b5e20", "team": "#8e24aa", "kol_touched": "#ff8f00", "referrals": "#f4511e",
                 "reshares": "#d500f9"}
CAMPAIGN_COLOUR, BASELINE_COLOUR = "#1e88e5", "#9e9e9e"

NET_SIZE = 600  # network drawing, SVG units (square) ...
NET_LEGEND = 82  # ... plus the legend below it


# --------------------------------------------------------------------------- formatting
def money(value: float | None) -> str:
    return "—" if value is None else f"¥{value:,.0f}"


def compact(value: float) -> str:
    """1234 → 1.2k, 2500000 → 2.5M."""
    a = abs(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            text = f"{value / div:.{0 if a >= 100 * div else 1 if a >= 10 * div else 2}f}"
            return (text.rstrip("0").rstrip(".") if "." in text else text) + suffix
    return f"{value:.0f}" if a >= 10 or value == int(value) else f"{value:.2g}"


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (1 for 0)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    return next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= value * (1 - 1e-9))


# --------------------------------------------------------------------------- network
def _static_parts(view: NetworkView) -> dict:
    """Formatted once per view: ties, KOL links, each consumer's circle up to its class."""
    cache = view.cache
    if "nodes" in cache:
        return cache
    s = NET_SIZE
    xy = view.pos * s
    cache["xy"] = xy
    ties = view.edges
    cache["ties"] = "".join(f"M{xy[i, 0]:.1f} {xy[i, 1]:.1f}L{xy[j, 0]:.1f} {xy[j, 1]:.1f}" for i, j in ties)
    kxy = view.kol_pos * s
    cache["kxy"] = kxy
    cache["spokes"] = "".join(f"M{kxy[k, 0]:.1f} {kxy[k, 1]:.1f}L{xy[i, 0]:.1f} {xy[i, 1]:.1f}"
                              for k, spokes in enumerate(view.kol_spokes) for i in spokes)
    mean_degree = max(float(view.degree.mean()), 1.0) if len(view.degree) else 1.0
    radius = 2.0 + 1.3 * np.log2(1.0 + view.degree / mean_degree)
    cache["radius"] = radius
    cache["nodes"] = [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" class="s' for (x, y), r in zip(xy, radius)]
    cache["kols"] = [(kxy[k, 0], kxy[k, 1], 5.0 + 9.0 * float(view.kol_size[k])) for k in range(len(kxy))]
    cache["ties_svg"] = (
        f'<svg id="demo-ties" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {s + NET_LEGEND}" width="100%" '
        f'style="display:block" data-ties="{len(ties)}">'
        f'<path d="{cache["ties"]}" stroke="#90a4ae" stroke-opacity="0.25" stroke-width="0.5" fill="none"/>'
        f'<path d="{cache["spokes"]}" stroke="{KOL_COLOUR}" stroke-opacity="0.35" stroke-width="0.6" '
        'stroke-dasharray="2 2" fill="none"/></svg>')
    return cache


def network_ties_svg(model: DemoModel) -> str:
    """The static layer under :func:`network_svg`: the ties and the KOLs' dashed links, the
    same string object for every frame of a view (Solara sends it to the browser once)."""
    return _static_parts(model.view)["ties_svg"]


def _rings(idx: np.ndarray, cache: dict, cls: str, extra: float) -> str:
    xy, radius = cache["xy"], cache["radius"]
    return "".join(f'<circle cx="{xy[i, 0]:.1f}" cy="{xy[i, 1]:.1f}" r="{radius[i] + extra:.1f}" class="{cls}"/>'
                   for i in idx)


def network_svg(model: DemoModel) -> str:
    """The sampled network, drawn over :func:`network_ties_svg` (same viewBox): consumers
    coloured by state, KOLs on the outer ring, today's events (rings: new customer, team
    order, KOL engagement, in a reshare cascade — thick for its origin; arrows:
    referrals; highlighted lines: the ties between today's resharers) and the legend.
    Today's reshare lines are per-frame (here), not part of the static ties layer."""
    view = model.view
    parts = _static_parts(view)
    states = model.view_states()
    events = model.events()
    s, h = NET_SIZE, NET_SIZE + NET_LEGEND
    counts = np.bincount(states, minlength=4)
    out = [f'<svg id="demo-network" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {h}" '
           f'width="100%" style="display:block" data-day="{model.day}" '
           f'data-nodes="{len(view.nodes)}" data-population="{view.population}" '
           + " ".join(f'data-{name}="{counts[i]}"' for i, name in enumerate(STATE_NAMES))
           + f' data-reshared="{len(events["reshared"])}" data-reshare-origins="{len(events["reshare_origins"])}"'
           f' data-reshare-ties="{len(events["reshare_ties"])}">',
           "<style>",
           "".join(f"#demo-network .s{k}{{fill:{c}}}" for k, c in STATE_COLOURS.items()),
           "#demo-network circle{stroke:#fff;stroke-width:0.4}",
           f"#demo-network .ev-new{{fill:none;stroke:{EVENT_COLOURS['new_customers']};stroke-width:1.6}}",
           f"#demo-network .ev-team{{fill:none;stroke:{EVENT_COLOURS['team']};stroke-width:1.8}}",
           f"#demo-network .ev-kol{{fill:none;stroke:{EVENT_COLOURS['kol_touched']};stroke-width:1.2}}",
           f"#demo-network .ev-reshare{{fill:none;stroke:{EVENT_COLOURS['reshares']};stroke-width:1.2}}",
           "#demo-network .ev-reshare.ev-origin{stroke-width:2.8}",
           f"#demo-network .kol{{fill:{KOL_COLOUR};stroke:#6d4c00;stroke-width:1}}",
           f"#demo-network .kol-on{{fill:none;stroke:{EVENT_COLOURS['kol_touched']};stroke-width:3;opacity:.6}}",
           "#demo-network text{font:11px sans-serif;fill:#455a64}",
           "</style>"]
    # KOLs posting today: links to the sampled followers who engaged today
    touched = events["kol_touched"]
    if len(events["kols_posting"]) and len(touched):
        xy, kxy = parts["xy"], parts["kxy"]
        d = []
        for k in events["kols_posting"]:
            engaged = np.intersect1d(view.kol_followers[k], touched, assume_unique=True)[:25]
            d.extend(f"M{kxy[k, 0]:.1f} {kxy[k, 1]:.1f}L{xy[i, 0]:.1f} {xy[i, 1]:.1f}" for i in engaged)
        if d:
            out.append(f'<path d="{"".join(d)}" stroke="{EVENT_COLOURS["kol_touched"]}" stroke-opacity="0.5" '
                       'stroke-width="0.9" fill="none"/>')
    if len(events["reshare_ties"]):  # today's cascades: under the consumers and the rings
        xy = parts["xy"]
        d = "".join(f"M{xy[a, 0]:.1f} {xy[a, 1]:.1f}L{xy[b, 0]:.1f} {xy[b, 1]:.1f}" for a, b in events["reshare_ties"])
        out.append(f'<path id="demo-reshare-ties" d="{d}" stroke="{EVENT_COLOURS["reshares"]}" stroke-opacity="0.8" '
                   'stroke-width="1.4" fill="none"/>')
    nodes = parts["nodes"]
    out.append('<g id="demo-consumers">' + "".join(f'{nodes[i]}{st}"/>' for i, st in enumerate(states.tolist()))
               + "</g>")
    out.append(_rings(events["kol_touched"], parts, "ev-kol", 1.5))
    out.append(_rings(events["new_customers"], parts, "ev-new", 2.0))
    out.append(_rings(events["team"], parts, "ev-team", 3.2))
    origins = events["reshare_origins"]
    out.append('<g id="demo-reshares">'
               + _rings(np.setdiff1d(events["reshared"], origins, assume_unique=True), parts, "ev-reshare", 4.4)
               + _rings(origins, parts, "ev-reshare ev-origin", 4.4) + "</g>")
    if len(events["referrals"]):
        xy = parts["xy"]
        d = "".join(f"M{xy[a, 0]:.1f} {xy[a, 1]:.1f}L{xy[b, 0]:.1f} {xy[b, 1]:.1f}" for a, b in events["referrals"])
        out.append(f'<path d="{d}" stroke="{EVENT_COLOURS["referrals"]}" stroke-width="2" fill="none" '
                   'marker-end="url(#demo-arrow)"/>')
        out.append(f'<defs><marker id="demo-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" '
                   f'markerHeight="5" orient="auto"><path d="M0 0L10 5L0 10z" fill="{EVENT_COLOURS["referrals"]}"/>'
                   '</marker></defs>')
    posting = set(events["kols_posting"].tolist())
    for k, (x, y, r) in enumerate(parts["kols"]):
        if k in posting:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r + 4:.1f}" class="kol-on"/>')
        out.append(f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
                   f'transform="rotate(45 {x:.1f} {y:.1f})" class="kol"><title>KOL {k}: '
                   f'{len(view.kol_followers[k]):,} sampled followers</title></rect>')
    out.append(_network_legend(model, counts, events))
    out.append("</svg>")
    return "".join(out)


def _network_legend(model: DemoModel, counts: np.ndarray, events: dict[str, np.ndarray]) -> str:
    view = model.view
    y0 = NET_SIZE + 16
    items = []
    x = 8
    for k, name in enumerate(STATE_NAMES):
        items.append(f'<circle cx="{x + 5}" cy="{y0 - 4}" r="5" class="s{k}"/>'
                     f'<text x="{x + 14}" y="{y0}">{name} {counts[k]:,}</text>')
        x += 26 + 6.3 * len(f"{name} {counts[k]:,}")
    items.append(f'<rect x="{x}" y="{y0 - 10}" width="10" height="10" transform="rotate(45 {x + 5} {y0 - 5})" '
                 f'class="kol"/><text x="{x + 16}" y="{y0}">KOL (size ∝ √followers)</text>')
    y1 = y0 + 18
    x = 8
    for cls, label in (("ev-new", "first purchase today"), ("ev-team", "team order today"),
                       ("ev-kol", "engaged with a KOL post today")):
        items.append(f'<circle cx="{x + 5}" cy="{y1 - 4}" r="5" class="{cls}"/><text x="{x + 14}" y="{y1}">{label}</text>')
        x += 24 + 6.0 * len(label)
    items.append(f'<path d="M{x} {y1 - 4}L{x + 16} {y1 - 4}" stroke="{EVENT_COLOURS["referrals"]}" stroke-width="2"/>'
                 f'<text x="{x + 20}" y="{y1}">referral</text>')
    y2, colour = y1 + 18, EVENT_COLOURS["reshares"]
    if view.complete or model.config.diffusion.reshare <= 0:
        label = ("reshare cascades: none on the complete graph" if view.complete
                 else "reshare cascades: off (diffusion.reshare = 0)")
    else:
        label = (f"in a reshare cascade today {len(events['reshared']):,} (thick ring: started one "
                 f"{len(events['reshare_origins']):,}; lines: ties between them)")
    items.append(f'<path d="M8 {y2 - 4}L22 {y2 - 4}" stroke="{colour}" stroke-width="1.4"/>'
                 f'<circle cx="31" cy="{y2 - 4}" r="5" class="ev-reshare"/>'
                 f'<text id="demo-legend-reshares" x="42" y="{y2}">{label}</text>')
    sample = ("all" if len(view.nodes) == view.population
              else f"{len(view.nodes):,} of {view.population:,} "
                   f"({'uniform' if view.complete else 'snowball'} sample)")
    ties = ("complete graph: ties not drawn" if view.complete else f"{len(view.edges):,} ties among them")
    items.append(f'<text x="8" y="{y2 + 18}">consumers shown: {sample}; {ties}; '
                 f'dot size grows with friends</text>')
    return "".join(items)


# --------------------------------------------------------------------------- charts
def line_chart(chart_id: str, title: str, series: list[tuple[str, list | np.ndarray, list | np.ndarray, str, bool]],
               x_max: float, x_label: str = "day", y_format=compact, y_max: float | None = None,
               width: int = 300, height: int = 250) -> str:
    """An SVG line chart. ``series``: (label, xs, ys, colour, dashed); NaN ys break the line.
    The x axis spans [0, x_max] (the whole run: lines grow to the right); y starts at 0."""
    left, right, top, bottom = 46, 10, 38, 30
    pw, ph = width - left - right, height - top - bottom
    ys_all = [np.asarray(ys, dtype=float) for _, _, ys, _, _ in series]
    finite = [y[np.isfinite(y)] for y in ys_all]
    peak = max((float(f.max()) for f in finite if len(f)), default=0.0)
    top_value = y_max if y_max is not None else nice_max(peak)
    x_max = max(float(x_max), 1.0)

    def px(x):
        return left + pw * np.asarray(x, dtype=float) / x_max

    def py(y):
        return top + ph * (1 - np.asarray(y, dtype=float) / top_value)

    points = max((len(y) for y in ys_all), default=0)
    out = [(f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" style="display:block;font:11px sans-serif" data-points="{points}">'),
           f'<text x="{left}" y="14" style="font-weight:600;font-size:13px;fill:#263238">{html.escape(title)}</text>']
    mantissa = top_value / 10 ** math.floor(math.log10(top_value))
    intervals = 5 if round(mantissa, 6) in (2.5, 5.0) else 4  # ticks at 1, 2, 2.5 or 5 x 10^k
    for i in range(intervals + 1):  # y grid and labels
        v = top_value * i / intervals
        y = py(v)
        out.append(f'<path d="M{left} {y:.1f}H{left + pw}" stroke="#eceff1"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#607d8b">{y_format(v)}</text>')
    step = nice_max(x_max / 5)
    for v in np.arange(0, x_max + 1e-9, step):
        x = px(v)
        out.append(f'<path d="M{x:.1f} {top + ph}v4" stroke="#90a4ae"/>'
                   f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle" fill="#607d8b">{v:g}</text>')
    out.append(f'<path d="M{left} {top}V{top + ph}H{left + pw}" stroke="#90a4ae" fill="none"/>'
               f'<text x="{left + pw}" y="{height - 2}" text-anchor="end" fill="#90a4ae">{html.escape(x_label)}</text>')
    lx = left
    for (label, xs, ys, colour, dashed), y_arr in zip(series, ys_all):
        xs = np.asarray(xs, dtype=float)
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        if len(xs):
            ok = np.isfinite(y_arr)
            segments, current = [], []
            for x, y, good in zip(px(xs), py(np.where(ok, y_arr, 0)), ok):
                if good:
                    current.append(f"{x:.1f},{y:.1f}")
                elif current:
                    segments.append(current)
                    current = []
            if current:
                segments.append(current)
            for seg in segments:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>')
        out.append(f'<path d="M{lx} 27h14" stroke="{colour}" stroke-width="2"{dash}/>'
                   f'<text x="{lx + 18}" y="31" fill="#455a64">{html.escape(label)}</text>')
        lx += 30 + 6 * len(label)
    out.append("</svg>")
    return "".join(out)


def _pair(model: DemoModel, key: str, label: str) -> list:
    s = model.series
    series = [(label, s["day"], s[key], CAMPAIGN_COLOUR, False)]
    if model.baseline is not None:
        series.append(("baseline (no campaign)", s["day"], s[f"base_{key}"], BASELINE_COLOUR, True))
    return series


def gmv_chart(model: DemoModel) -> str:
    return line_chart("demo-chart-gmv", "Daily GMV (¥)", _pair(model, "gmv", "GMV"), model.days)


def customers_chart(model: DemoModel) -> str:
    return line_chart("demo-chart-customers", "Customers (cumulative)", _pair(model, "customers", "customers"),
                      model.days)


def active_users_chart(model: DemoModel) -> str:
    return line_chart("demo-chart-dau", "Daily active users", _pair(model, "active_users", "active users"),
                      model.days)


def retention_chart(model: DemoModel, horizon: int = 60) -> str:
    """Share of customers active k = 1..horizon days after their first purchase (k = 0 is
    100 % by definition and left out, so that the scale shows the curve)."""
    cur, base = model.retention(horizon)
    series = [("retention", np.arange(1, len(cur)), 100 * cur[1:], CAMPAIGN_COLOUR, False)]
    if base is not None:
        series.append(("baseline", np.arange(1, len(base)), 100 * base[1:], BASELINE_COLOUR, True))
    return line_chart("demo-chart-retention", "Retention (% active)", series,
                      min(horizon, max(model.days - 1, 1)), x_label="days since first purchase",
                      y_format=lambda v: f"{v:g}%")


# --------------------------------------------------------------------------- counters
def _ratio(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def counters_html(model: DemoModel) -> str:
    """The counters panel: tiles with ids ``ctr-<name>``, then what runs and any notices."""
    c = model.counters()
    inc_c = c["incremental_customers"]
    tiles = [
        ("day", "Day", f"{c['day']} / {c['days']}"),
        ("gmv", "GMV", money(c["gmv"])),
        ("net-gmv", "Net GMV", money(c["net_gmv"])),
        ("returns", "Returns", f"{c['returns']:,}" + ("" if c["refund_rate"] is None else f" ({c['refund_rate']:.0%})")),
        ("customers", "Customers", f"{c['customers']:,}"),
        ("dau", "Active today", f"{c['active_users']:,}"),
        ("reshares", "Reshares today", "—" if c["reshares_today"] is None else f"{c['reshares_today']:,}"),
        ("cascade", "Largest cascade", "—" if c["largest_cascade"] is None else f"{c['largest_cascade']:,}"),
        ("rating", "Mean rating", f"{c['mean_rating']:.2f}★ ({c['reviews']:,})"),
        ("k", "K-factor", _ratio(c["k_factor"])),
        ("roi", "ROI", _ratio(c["roi"])),
        ("roi-net", "ROI after returns", _ratio(c["roi_net"])),
        ("cost", "Campaign cost", money(c["campaign_cost"])),
        ("inc-gmv", "GMV vs baseline", "—" if c["incremental_gmv"] is None
         else f"{'+' if c['incremental_gmv'] >= 0 else '−'}¥{abs(c['incremental_gmv']):,.0f}"),
        ("inc-customers", "Customers vs baseline", "—" if inc_c is None else f"{inc_c:+,}"),
    ]
    if "festival_deferred" in c:  # a festival runs: anticipation and its windows
        tiles += [("deferred", "Deferred to the peak", f"{c['festival_deferred']:,}"),
                  ("prepeak", "Pre-peak GMV vs baseline", "—" if c["prepeak_gmv_ratio"] is None
                   else f"×{c['prepeak_gmv_ratio']:.2f}"),
                  ("hangover", "Hangover GMV vs baseline", "—" if c["hangover_gmv_ratio"] is None
                   else f"×{c['hangover_gmv_ratio']:.2f}")]
    if "presale_deposits" in c:
        tiles.append(("deposits", "Pre-sale deposits", f"{c['presale_deposits']:,}"))
    cfg = model.config
    out = ['<div id="demo-counters" style="font-family:sans-serif">',
           '<div style="display:flex;flex-wrap:wrap;gap:6px">']
    for key, label, value in tiles:
        out.append(f'<div style="flex:1 1 96px;background:#f5f7fa;border-radius:6px;padding:3px 8px">'
                   f'<div style="font-size:11px;color:#607d8b;white-space:nowrap">{label}</div>'
                   f'<div id="ctr-{key}" style="font-size:17px;font-weight:600;color:#263238;white-space:nowrap">'
                   f'{html.escape(value)}</div></div>')
    out.append("</div>")
    campaigns = ", ".join(c["campaigns"]) or "none"
    out.append(f'<div id="demo-info" style="font-size:12px;color:#455a64;margin-top:6px">'
               f'<b>{html.escape(cfg.scenario.name)}</b> on <b>{html.escape(cfg.platform.name)}</b> · '
               f'{cfg.population.size:,} consumers · {html.escape(cfg.network.kind)} network · campaigns: '
               f'<b>{html.escape(campaigns)}</b> · seed {cfg.seed}. {html.escape(cfg.scenario.description)} '
               f'ROI = (incremental gross margin − campaign cost) / campaign cost, against the baseline run '
               f'in lockstep (same seed, campaign off), and after returns from the net margin; net GMV = GMV '
               f'less the refunded orders; returns = orders refunded (refunds / GMV); K-factor = credited referral conversions per inviter; '
               f'reshares today = consumers who passed a friend\'s post on today; largest cascade = the '
               f'most consumers who spread one post so far (its origin and resharers); mean rating = the '
               f'stars the products show, on average (reviews written so far).'
               '</div>')
    for notice in model.notices:
        out.append(f'<div class="demo-notice" style="font-size:12px;color:#e65100">{html.escape(notice)}</div>')
    out.append("</div>")
    return "".join(out)
