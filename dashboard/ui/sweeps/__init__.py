"""Sweeps: the sweep form and one sweep read back live, with its figures."""
