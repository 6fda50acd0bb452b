"""MNIST Lab: the library behind the dashboard and the CLI (no Streamlit in here)."""

__version__ = "0.1.0"
