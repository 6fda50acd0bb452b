"""Evaluate and explain: why a digit got its answer, calibration and robustness, label issues."""
