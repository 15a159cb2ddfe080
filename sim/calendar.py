"""The calendar: dates of the run's days, weekdays, and named dates (Double 11, 618, Spring Festival).

``start_date`` (ISO, a top-level key) gives day 1 a date; day d is
``start_date + (d − 1)``. Where a campaign key takes a day number
(``start_day``, ``end_day``, ``announce_day``, ``event_day``) it also takes a
date: an ISO date (``2025-11-11``) or a named date, the first occurrence on or
after ``start_date``: ``double11`` (11 November, 双十一), ``618`` (18 June) or
``spring_festival`` (the lunar new year, 春节, from :data:`SPRING_FESTIVAL`); quote
``"618"`` in YAML and on the command line (``'"618"'``), or it is day 618.
Dates are resolved when the config is validated; a date outside the run, or a
date without ``start_date``, is refused in one line. Equations: ``docs/model.md``
(*Calendar*).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sim.errors import ConfigError

#: Fixed named dates: (month, day).
FIXED_DATES = {"double11": (11, 11), "618": (6, 18)}
#: The lunar new year (春节) by year (Hong Kong Observatory / State Council holiday notices).
SPRING_FESTIVAL = {
    2020: dt.date(2020, 1, 25), 2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22), 2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17), 2027: dt.date(2027, 2, 6), 2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13), 2030: dt.date(2030, 2, 3),
}
NAMED_DATES = (*FIXED_DATES, "spring_festival")
#: Weekday names, Monday first (the order of ``market.weekday_visits``).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_date(key: str, value: str) -> dt.date:
    """An ISO date (``YYYY-MM-DD``), or ConfigError naming ``key``."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(key, value, "must be an ISO date YYYY-MM-DD, e.g. 2025-10-28") from None


def named_date(name: str, on_or_after: dt.date) -> dt.date | None:
    """The first date called ``name`` on or after ``on_or_after`` (None if the table has none)."""
    for year in (on_or_after.year, on_or_after.year + 1):
        if name == "spring_festival":
            date = SPRING_FESTIVAL.get(year)
        else:
            month, day = FIXED_DATES[name]
            date = dt.date(year, month, day)
        if date is not None and date >= on_or_after:
            return date
    return None


def day_of(key: str, value: int | str, start_date: str | None, days: int) -> int:
    """Day number (1 = ``start_date``) of ``value``: a day number as is, or a date (ISO or
    named) inside the run; ConfigError naming ``key`` otherwise."""
    if not isinstance(value, str):
        return value
    if value.lstrip("-").isdigit() and value not in NAMED_DATES:
        return int(value)
    if start_date is None:
        raise ConfigError(key, value, "a date needs start_date=YYYY-MM-DD (the date of day 1)")
    start = parse_date("start_date", start_date)
    if value in NAMED_DATES:
        date = named_date(value, start)
        if date is None:
            raise ConfigError(key, value, f"no {value} date known on or after start_date={start_date} "
                                          f"(sim/calendar.py SPRING_FESTIVAL covers {min(SPRING_FESTIVAL)}-"
                                          f"{max(SPRING_FESTIVAL)})")
    elif len(value) == 10 and value[4] == "-":
        date = parse_date(key, value)
    else:
        raise ConfigError(key, value, f"must be a day number, an ISO date or one of {', '.join(NAMED_DATES)}")
    day = (date - start).days + 1
    if not 1 <= day <= days:
        last = start + dt.timedelta(days=days - 1)
        raise ConfigError(key, value, f"is {date.isoformat()}, outside the run ({start_date} to {last.isoformat()}, "
                                      f"days={days})")
    return day


def resolve_days(settings, prefix: str, start_date: str | None, days: int):
    """``settings`` (a campaign option's dataclass) with every date in its day keys
    (``DAY_KEYS``) replaced by its day number."""
    changes = {k: day_of(f"{prefix}.{k}", getattr(settings, k), start_date, days)
               for k in settings.DAY_KEYS if isinstance(getattr(settings, k), str)}
    return dataclasses.replace(settings, **changes) if changes else settings


def dates(start_date: str, n_days: int) -> list[dt.date]:
    """The dates of days 1..n_days."""
    start = parse_date("start_date", start_date)
    return [start + dt.timedelta(days=d) for d in range(n_days)]


def weekday(start_date: str, day: int) -> int:
    """Weekday of day ``day`` (0 = Monday)."""
    return (parse_date("start_date", start_date) + dt.timedelta(days=day - 1)).weekday()
