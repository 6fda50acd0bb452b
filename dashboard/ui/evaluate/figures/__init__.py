"""Evaluate and explain's figures: evaluation, explanations, the network's inside, Playground."""
