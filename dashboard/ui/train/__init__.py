"""Train: the launch form, architecture pickers, the live panel of a run, the one-click model."""
