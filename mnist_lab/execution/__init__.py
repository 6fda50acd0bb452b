"""How a run gets trained: the queue, the workers, and the machines they run on.

`mnist_lab.runs` owns the run directory format; this package owns everything that has to do
with processes. From the bottom up: `processes` (start and watch a process), `queue_entry`
(a run's ``dispatch.json``), `slots` (the training slots of this machine), `fair_queue` (who
starts next), `dispatcher` (starts the local queue's workers), `worker` (trains one run),
`executor` (the interface), `local` and `ray_cluster` (its two implementations). Which
executor a launch uses is chosen above them, in `mnist_lab.launch`.
"""
