"""Calibrating the market to a merchant's order log (``python -m experiments.calibrate``;
``docs/calibration.md``): reading the log (:mod:`.orderlog`), the targets it is matched
on (:mod:`.targets`)."""
