"""The Keras engine's model files in a run directory (read and written by `training`)."""

# The trained model; a live run can be inspected from its last epoch's checkpoint.
MODEL_FILE = "model.keras"
CHECKPOINT_FILE = "checkpoint.keras"
