"""How numbers are shown: the headline KPIs and their formats, shared by the commands,
the terminal tables and the reports."""

from __future__ import annotations

import math

#: The headline KPIs: (summary key, label, format kind).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("gmv", "GMV", "money"),
    ("net_gmv", "net GMV", "money"),
    ("refund_rate", "refund rate", "pct"),
    ("customers", "customers", "count"),
    ("retention_d1", "D1 retention", "pct"),
    ("retention_d7", "D7 retention", "pct"),
    ("retention_d30", "D30 retention", "pct"),
    ("cac", "CAC", "money2"),
    ("roi", "ROI", "ratio"),
    ("roi_net", "ROI after returns", "ratio"),
    ("k_factor", "K-factor", "ratio3"),
    ("team_completion_rate", "team completion", "pct"),
    ("campaign_cost_total", "campaign cost", "money"),
)
HEADLINE_KEYS = tuple(k for k, _, _ in HEADLINE)
#: A festival's windows against its baseline (shown where a scenario has a festival).
FESTIVAL: tuple[tuple[str, str, str], ...] = (
    ("festival_prepeak_gmv_ratio", "pre-peak GMV / baseline", "ratio3"),
    ("festival_peak_gmv_ratio", "peak GMV / baseline", "ratio"),
    ("festival_hangover_gmv_ratio", "hangover GMV / baseline", "ratio3"),
    ("festival_net_gmv", "festival net GMV", "money"),
    ("festival_deferred", "purchases deferred", "count"),
    ("presale_deposits", "pre-sale deposits", "count"),
    ("presale_forfeited", "deposits forfeited", "money"),
)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


#: kind -> (format of a value, format of a difference or half-width: no currency sign).
FORMATS = {"money": ("¥{:,.0f}", "{:,.0f}"), "money2": ("¥{:,.2f}", "{:,.2f}"), "pct": ("{:.1%}", None),
           "ratio3": ("{:.3f}", "{:.3f}"), "ratio": ("{:.2f}", "{:.2f}")}


def fmt(value, kind: str) -> str:
    """One number for a table; ``n/a`` for None/NaN."""
    if _missing(value):
        return "n/a"
    if kind == "count":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return FORMATS.get(kind, FORMATS["ratio"])[0].format(value)


def fmt_delta(value, kind: str) -> str:
    """A half-width or a difference (percentages in points), without the currency sign."""
    if _missing(value):
        return "n/a"
    if kind == "pct":
        return f"{value * 100:.1f} pp"
    if kind == "count":
        return "0" if value == 0 else f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"
    return FORMATS.get(kind, FORMATS["ratio"])[1].format(value)


def signed(value, kind: str) -> str:
    """A difference with its sign (− or +)."""
    if _missing(value):
        return "n/a"
    return ("−" if value < 0 else "+" if value > 0 else "") + fmt_delta(abs(value), kind)


def pct(value) -> str:
    return fmt(value, "pct")


def num(value) -> str:
    return "n/a" if _missing(value) else f"{value:,.2f}"


def with_half_width(value, low, high, kind: str, sign: bool = False) -> str:
    """``value ±half-width`` of the interval ``[low, high]`` (the value alone without one);
    ``sign``: the value is a difference, shown with its sign."""
    text = signed(value, kind) if sign else fmt(value, kind)
    if _missing(value) or _missing(low) or _missing(high):
        return text
    return f"{text} ±{fmt_delta((high - low) / 2, kind)}"


def bracket(low, high, kind: str, sign: bool = False) -> str:
    """``[low, high]`` (``sign``: bounds of a difference, with their signs); ``no interval`` without one."""
    if _missing(low) or _missing(high):
        return "no interval"
    show = signed if sign else fmt
    return f"[{show(low, kind)}, {show(high, kind)}]"


def seed_range(seeds: list[int]) -> str:
    """``0–19`` for consecutive seeds (three or more), else the list."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))
