"""Hydra's basic sweeper, checking each distinct override once before launching and
leaving out the jobs a re-run finds finished.

Hydra only instantiates plugins defined in the ``hydra_plugins`` namespace
package, so the class lives here (``hydra_plugins/`` has no ``__init__.py``: it
is shared with the installed launcher plugins). Selected in conf/config.yaml by
``override hydra/sweeper: socialsim`` (conf/hydra/sweeper/socialsim.yaml);
``hydra/sweeper=basic`` on the command line brings back Hydra's own.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


class SocialsimSweeper(BasicSweeper):
    """The same jobs, order and batches as Hydra's basic sweeper, with two changes.

    **Finished jobs are not launched.** Before a batch is launched, each job whose
    folder already holds a ``summary.json`` gets its key computed here
    (``experiments.sweep.skip_finished``: one composition per set of config-group
    options, the plain ``key=value`` overrides set on a copy, checked against a
    full composition); a job whose key matches is marked skipped and left out. A
    re-run of a finished 1,000-job sweep then starts no Hydra job at all, instead
    of composing and starting every job only to skip it (docs/performance.md).

    **Less checking up front.**
    Before launching, the basic sweeper composes every job's config in the
    launching process, one after the other (80 to 90 ms each here: about 85 s
    before the first of 1,000 jobs starts), and each job composes its config again where
    it runs. This one composes only the first job that brings something new: a
    key not seen yet, or a config-group option not seen yet (``campaign=referral``).
    Values of plain keys (``seed=7``, ``days=90``) cannot make a composition fail
    (the configs are untyped YAML; a value that does not parse is refused before),
    so an unknown key or a missing option still stops the sweep before any job
    runs, while ``seed=range(1000)`` takes 1 composition instead of 1,000. (Two
    group options that compose alone but not together are found by their job,
    which then stops the sweep, as a composition error does with Hydra's.) Values
    are checked against the simulation's rules in each job: a bad value fails
    that job only (``experiments/sweep.py``).
    """

    def sweep(self, arguments: list[str]) -> Any:  # noqa: D102 - BasicSweeper.sweep (Hydra 1.3) + skip
        from experiments.sweep import skip_finished

        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        params_conf = self._parse_config()
        params_conf.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        self.overrides = self.split_arguments(parser.parse_overrides(params_conf), self.max_batch_size)
        returns: list = []
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            self.validate_batch_is_legal(batch)
            tic = time.perf_counter()
            todo = skip_finished(list(batch), self.config, self.hydra_context.config_loader)
            if len(todo) < len(batch):
                log.info(f"{len(batch) - len(todo)} of {len(batch)} jobs found finished (same config) "
                         f"in {time.perf_counter() - tic:.1f} s: not launched")
            if todo:
                results = self.launcher.launch(todo, initial_job_idx=initial_job_idx)
                for r in results:
                    _ = r.return_value  # re-raises a job's exception, as the basic sweeper does
                returns.append(results)
                initial_job_idx += len(todo)
        return returns

    def validate_batch_is_legal(self, batch) -> None:  # noqa: D102 - see the class
        loader = self.hydra_context.config_loader
        groups: dict[str, bool] = {}

        def signature(override: str) -> str:
            key = override.split("=", 1)[0].lstrip("+~")
            if key not in groups:
                try:
                    groups[key] = bool(loader.get_group_options(key))
                except Exception:  # noqa: BLE001 - unknown: check every value
                    groups[key] = True
            return override if groups[key] else key

        chosen: list = []
        seen: set[str] = set()
        for overrides in batch:
            new = {signature(o) for o in overrides} - seen
            if new:
                chosen.append(overrides)
                seen.update(new)
        super().validate_batch_is_legal(chosen)
