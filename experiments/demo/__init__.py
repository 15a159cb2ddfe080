"""The live browser demo (``make demo``): a Solara app on Mesa's ``SolaraViz``.

* :mod:`experiments.demo.glue` — the model side, free of Solara: the controls →
  a typed :class:`~sim.config.SimConfig`, :class:`DemoModel` (the market and its
  baseline stepped in lockstep), the sampled network view with its layout
  (computed once per network), the counters and the chart series.
* :mod:`experiments.demo.views` — pure functions that draw the network, the
  charts and the counters as SVG / HTML strings.
* :mod:`experiments.demo.app` — the Solara page (``solara run experiments.demo.app``).
* :mod:`experiments.demo.bench` — its frame time, in-process and in headless Chromium.

See ``docs/demo.md``.
"""
