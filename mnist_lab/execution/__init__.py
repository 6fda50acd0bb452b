"""How a run gets trained: launching its worker, the queue, and watching the process.

`mnist_lab.runs` owns the run directory format; this package owns everything that has to do
with processes. `LocalExecutor` trains on this machine (the default: nothing to start).
"""
