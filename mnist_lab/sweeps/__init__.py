"""Sweeps: many ordinary runs over a grid, a random sample or a Bayesian search of settings.

`space` says what varies and draws the points, `store` owns the sweep file beside the runs,
`driver` launches and watches the trials through an executor, `results` reads them back.
The ``sweep`` subcommand is `mnist_lab.cli.sweep`.
"""
