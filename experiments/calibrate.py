"""Calibrate the market to a merchant's order log: ``python -m experiments.calibrate``.

Usage::

    python -m experiments.calibrate data=orders.csv holdout_from=2025-10-01 out=results/my_fit
    python -m experiments.calibrate data=orders.parquet 'params={market.churn_hazard: [0.001, 0.05, log]}'
    python -m experiments.calibrate data=export.csv columns.customer_id=buyer columns.amount=paid

Own keys (defaults and the declared free parameters in ``conf/calibrate.yaml``): ``data``,
``holdout_from``, ``acquisition``, ``params``, ``evaluations``, ``seeds``, ``jobs``,
``out``, ``sample``, ``draws``, ``noise_runs``, ``level``, ``seed``, ``progress``, ``columns.<name>``,
``weights.<group>`` and ``preset``; values in Hydra's override grammar. Every other
argument is an override of the simulated market (``network=sbm``, ``population.size`` is
the sample). Writes into ``out`` (default ``results/calibrate/<time>/``) ``fitted.yaml``
(``preset=out/fitted.yaml`` in ``experiments.run`` and ``compare``), ``forecast.parquet``,
``params.parquet``, ``targets.parquet``, ``intervals.csv``, ``errors.csv`` and
``report.html``. The same ``out`` resumes a killed calibration. Exit 2 on bad input
(one line, nothing written). ``docs/calibration.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.cli import UsageError, claim_folder, command, new_folder, remove_folder
from sim.errors import ConfigError

USAGE = ("usage: python -m experiments.calibrate data=LOG [holdout_from=YYYY-MM-DD] [acquisition=model|observed] "
         "[params={key: [low, high]}] [evaluations=N] [seeds=K] [jobs=J] [out=DIR] [columns.NAME=COLUMN] "
         "[preset=FILE] [market overrides ...]")
RESULTS = Path("results/calibrate")


def parse_args(argv: list[str]) -> tuple[dict, list[str], str | None]:
    """(own keys typed by Hydra's override grammar, the market's overrides, the preset)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from experiments.calibration.fit import defaults

    own_keys = set(defaults()) - {"declared"}
    parser = OverridesParser.create()
    own: dict = {}
    overrides, preset = [], None
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq:
            raise UsageError("experiments.calibrate", f"{arg!r} is not key=value; see --help")
        head = key.split(".", 1)[0]
        if key == "preset":
            preset = value
            continue
        if head not in own_keys:
            overrides.append(arg)
            continue
        try:
            parsed = parser.parse_override(arg).value()
        except HydraException as err:
            raise ConfigError(key, value, "cannot parse the value (" + str(err).strip().splitlines()[0] + ")") from None
        if "." in key and head in ("columns", "weights", "params"):
            own.setdefault(head, {})[key.split(".", 1)[1]] = parsed
        else:
            own[key] = parsed
    if not own.get("data"):
        raise UsageError("experiments.calibrate", "data=ORDER_LOG (.csv or .parquet) is required; see --help")
    if "weights" in own:
        own["weights"] = {**defaults()["weights"], **own["weights"]}
    return own, overrides, preset


def run_command(argv: list[str]) -> int:
    from experiments.calibration.fit import calibrate, settings_of
    from experiments.calibration.orderlog import read_order_log

    own, overrides, preset = parse_args(argv)
    try:
        import optuna  # noqa: F401 - the optimiser, from the extra ``calibrate``
    except ImportError:
        raise ConfigError("experiments.calibrate", "optuna", "is not installed: "
                          "pip install -e '.[calibrate]' (Optuna and pymc-marketing)") from None
    out = own.pop("out", None)
    data = own.pop("data")
    from experiments.calibration.fit import base_market, holdout_date
    from experiments.calibration.simulate import known_params

    settings = settings_of(**own)  # bad keys refused before anything is read or written
    log = read_order_log(data, settings["columns"])
    holdout = holdout_date(log, settings["holdout_from"])
    market = base_market(log, holdout, settings["sample"], overrides, preset,  # the market's overrides checked
                         settings["acquisition"])
    known_params(settings["params"], market.base)
    if out:
        folder, created = claim_folder(out, finished=lambda p: (p / "report.html").exists(), overwrite=False)
    else:
        folder, created = new_folder(RESULTS), True
    print(f"calibrate: {len(log.orders):,} orders of {log.customers:,} customers, {log.first_date.date()} to "
          f"{log.last_date.date()} -> {folder}/", file=sys.stderr, flush=True)
    from experiments.calibration.fit import RunFailed

    try:
        result = calibrate(log, out=folder, overrides=overrides, preset=preset, market=market, **own)
    except ConfigError:
        if created and not (folder / "runs").exists():  # refused before any simulation: nothing left on disk
            remove_folder(folder)
        raise
    except RunFailed as err:
        print(f"error: {err}; out={folder} runs it again", file=sys.stderr)
        return 1
    print(result.intervals[["key", "estimate", "lower", "upper", "identified"]].to_string(index=False,
                                                                                         float_format="{:.4g}".format))
    holdout = result.errors[result.errors["period"] == "holdout"]
    if len(holdout):
        print("\nholdout errors (total; MAPE of the weekly cumulative curve)")
        for r in holdout.itertuples():
            total = "n/a" if r.total_error != r.total_error else f"{r.total_error:+.1%}"  # NaN: nothing to compare
            mape = "n/a" if r.mape_weekly_cumulative != r.mape_weekly_cumulative else f"{r.mape_weekly_cumulative:.1%}"
            print(f"  {r.model:9} {r.metric:16} {total:>7}  {mape:>6}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"\nfitted market: {result.paths['fitted']} (preset={result.paths['fitted']})")
    print(f"report: {result.paths['report']} ({result.elapsed:.0f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return command(run_command, argv, usage=USAGE)


if __name__ == "__main__":
    sys.exit(main())
