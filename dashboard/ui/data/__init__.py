"""Data: the dataset picker and upload, the slow map's progress, the data pages' figures."""
