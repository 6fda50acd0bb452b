"""Scripts that measure MNIST Lab and print tables: run as ``python -m benchmarks.NAME``."""
