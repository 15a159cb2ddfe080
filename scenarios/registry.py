"""The campaign options: ``campaign=<option>`` -> a mechanism class and its settings dataclass.

Each family module declares its mechanisms (``option``, ``settings``, ``feature``)
and registers them with :func:`register`. A run's campaign is a mapping
``{option key: settings}``; the key is the option name, or any name with
``mechanism: <option>`` inside (two coupons, say). :func:`campaign_config`
turns that mapping into a validated :class:`~sim.config.CampaignConfig`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from scenarios.base import CampaignSettings, Mechanism
from sim.calendar import resolve_days
from sim.config import CampaignConfig
from sim.errors import ConfigError

#: option name -> mechanism class (its ``settings`` is the option's dataclass).
MECHANISMS: dict[str, type[Mechanism]] = {}

#: The modules holding the campaign families (imported on first use).
FAMILY_MODULES = ("scenarios.referral", "scenarios.team_purchase", "scenarios.pricing",
                  "scenarios.content", "scenarios.incident", "scenarios.festival", "scenarios.presale",
                  "scenarios.reputation")


def register(cls: type[Mechanism]) -> type[Mechanism]:
    """Class decorator: make a mechanism available as campaign option ``cls.option``,
    and tell its settings class which option, feature and mechanism it belongs to."""
    if not cls.option or cls.option in MECHANISMS:
        raise ValueError(f"{cls.__name__}: option {cls.option!r} is empty or registered twice")
    MECHANISMS[cls.option] = cls
    cls.settings.option, cls.settings.feature, cls.settings.mechanism = cls.option, cls.feature, cls
    return cls


def load() -> dict[str, type[Mechanism]]:
    """Every registered option (the family modules imported once)."""
    for module in FAMILY_MODULES:
        importlib.import_module(module)
    return MECHANISMS


def daily_columns() -> tuple[str, ...]:
    """Every campaign metric column, in registration order (present in every run, 0 if unused)."""
    seen: dict[str, None] = {}
    for cls in load().values():
        for col in cls.DAILY:
            seen.setdefault(col, None)
    return tuple(seen)


def campaign_config(data: Mapping | None,
                    build: Callable[[type, Mapping, str], CampaignSettings],
                    start_date: str | None = None, days: int | None = None) -> CampaignConfig:
    """``campaign`` mapping -> a validated :class:`CampaignConfig`. An entry is a settings
    instance (typed by the composed config) or a mapping, which ``build(cls, mapping,
    key)`` turns into one (``sim.build``: OmegaConf's type checks). Dates in day keys
    become day numbers (``sim.calendar.resolve_days``: day 1 is ``start_date``)."""
    options = load()
    out = []
    for key, settings in (data or {}).items():
        prefix = f"campaign.{key}"
        if isinstance(settings, CampaignSettings):
            cfg = settings
        else:
            if settings is not None and not isinstance(settings, Mapping):
                raise ConfigError(prefix, settings, "must be a mapping of the option's settings")
            settings = dict(settings or {})
            kind = settings.pop("mechanism", key)
            if kind not in options:
                raise ConfigError(prefix if kind == key else f"{prefix}.mechanism", kind,
                                  f"unknown campaign option; known: {', '.join(sorted(options))}")
            cfg = build(options[kind].settings, settings, prefix)
        if days is not None:
            cfg = resolve_days(cfg, prefix, start_date, days)
        cfg.validate(prefix)
        out.append((str(key), cfg))
    return CampaignConfig(mechanisms=tuple(out))
