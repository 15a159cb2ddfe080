"""The tidy tables of a batch folder: ``python -m experiments.collect DIR [--out DIR]``.

Writes ``runs.parquet`` (one row per job) and ``daily.parquet`` (one row per ok
job and day) from the job folders of a sweep or any batch (``experiments.batch.collect``;
columns in ``docs/sweeps.md``). Sweeps and the other commands write them at the
end; this rebuilds them at any time, e.g. during a sweep or after a kill. A folder
holding no job is refused in one line (exit 2) and nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.cli import ArgumentParser, command
from sim.errors import ConfigError


def _main(argv: list[str]) -> int:
    from experiments.batch import collect

    parser = ArgumentParser(prog="python -m experiments.collect",
                                     description="Collect a batch folder into runs.parquet and daily.parquet.")
    parser.add_argument("folder", help="the sweep or batch folder (e.g. results/sweeps/NAME)")
    parser.add_argument("--out", help="write the tables here (default: the folder)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise ConfigError("folder", str(folder), "no such folder")
    batch = collect(folder)
    if not len(batch.runs):
        raise ConfigError("folder", str(folder), "holds no jobs (no sub-folder with job.json or summary.json)")
    paths = batch.write(args.out)
    print(batch.describe())
    print(f"tables: {paths['runs']} ({len(batch.runs):,} rows), {paths['daily']} ({len(batch.daily):,} rows)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return command(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
