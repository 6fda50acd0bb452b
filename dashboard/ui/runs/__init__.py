"""Runs: pickers, the run table, test results, a run's code downloads and TensorBoard command."""
