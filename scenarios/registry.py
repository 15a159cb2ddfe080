"""The campaign options: name in ``conf/campaign/`` -> (config dataclass, mechanism class).

Each family module registers its options with :func:`register`. A run's
campaign is a mapping ``{option key: settings}``; the key is the option name,
or any name with ``mechanism: <option>`` inside (two coupons, say).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from scenarios.base import CampaignSettings, Mechanism

MECHANISMS: dict[str, tuple[type[CampaignSettings], type[Mechanism]]] = {}

#: The modules holding the campaign families (imported on first use).
FAMILY_MODULES = ("scenarios.referral", "scenarios.team_purchase", "scenarios.pricing",
                  "scenarios.content", "scenarios.incident", "scenarios.festival")


def register(name: str, config_cls: type[CampaignSettings]):
    """Class decorator: make mechanism class available as campaign option ``name``."""

    def wrap(cls: type[Mechanism]) -> type[Mechanism]:
        MECHANISMS[name] = (config_cls, cls)
        return cls

    return wrap


def load() -> dict[str, tuple[type[CampaignSettings], type[Mechanism]]]:
    for module in FAMILY_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:  # a family not written yet
            if err.name != module:
                raise
    return MECHANISMS


def daily_columns() -> tuple[str, ...]:
    """Every campaign metric column, in registration order (present in every run, 0 if unused)."""
    seen: dict[str, None] = {}
    for _, cls in load().values():
        for col in cls.DAILY:
            seen.setdefault(col, None)
    return tuple(seen)


def parse(data: Mapping | None, build) -> tuple[tuple[str, CampaignSettings], ...]:
    """``campaign`` mapping -> validated ((key, settings), ...). ``build(cls, mapping, prefix)``
    builds a dataclass from a mapping with type checks."""
    from sim.errors import ConfigError

    options = load()
    out = []
    for key, settings in (data or {}).items():
        prefix = f"campaign.{key}"
        if settings is not None and not isinstance(settings, Mapping):
            raise ConfigError(prefix, settings, "must be a mapping of the option's settings")
        settings = dict(settings or {})
        kind = settings.pop("mechanism", key)
        if kind not in options:
            raise ConfigError(prefix if kind == key else f"{prefix}.mechanism", kind,
                              f"unknown campaign option; known: {', '.join(sorted(options)) or 'none'}")
        config_cls, _ = options[kind]
        cfg = build(config_cls, settings, prefix)
        cfg.validate(prefix)
        out.append((str(key), cfg))
    return tuple(out)
